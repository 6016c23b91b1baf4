//! The lab internet: a namespace with a bridge for the resolvers under test, real
//! authoritative servers (NSD) for the zones of [`crate::zones`], and optionally Unbound
//! as the reference resolver and dnsmasq as a DHCP server.
//!
//! Layout (all inside one namespace, nothing reaches the host's network):
//!
//! ```text
//!   br0 10.53.0.1/24 fd53::1/64 (MAC pinned) ── tap0 ── resolver under test (10.53.0.2)
//!                                            └─ tap1 ── second resolver (10.53.0.3)
//!   lo: the authoritative servers' documentation addresses (198.51.100.x, 203.0.113.x,
//!       2001:db8::…), Unbound on 10.53.0.1, an "outside" client address 192.0.2.99,
//!       and a black hole (203.0.113.102) where a counting sink takes every datagram
//! ```
//!
//! The zones of [`zones::SIGNED`] (the root, `test.` and DNSSEC zones below) are signed
//! at start, in well under a second; [`Lab::ds`] of `.` is the lab's private root trust
//! anchor ([`Lab::trust_anchor_arg`] for our resolver, [`Lab::start_validating_unbound`]
//! for the reference).
//!
//! Every NSD has its control socket on (a Unix socket in its folder), so a test can
//! read the servers' own query counters ([`Lab::server_queries`]).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::netns::{Netns, Proc};
use crate::quirk::AaProxy;
use crate::relay::Relay;
use crate::sink::Sink;
use crate::zones::{self, Denial, Fault, Quirk, Server};
use crate::{Result, dig::Dig};

/// Gateway and client address of the lab LAN.
pub const GATEWAY4: &str = "10.53.0.1";
/// IPv6 gateway and client address of the lab LAN.
pub const GATEWAY6: &str = "fd53::1";
/// A client address outside every default allow list (documentation range).
pub const OUTSIDE_CLIENT: &str = "192.0.2.99";
/// Where Unbound listens.
pub const UNBOUND_ADDR: &str = GATEWAY4;
/// A zone only the lab's Unbound serves (local data, no authoritative server has it):
/// the target of per-domain forwarding tests (`--server=/corp.test/10.53.0.1`).
pub const CORP_ZONE: &str = "corp.test.";
/// The one name in [`CORP_ZONE`].
pub const CORP_NAME: &str = "db.corp.test.";
/// Its address.
pub const CORP_ADDR: &str = "198.51.100.44";
/// Number of TAP devices on the lab bridge.
pub const TAPS: usize = 2;

/// Which optional services a lab runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct LabOptions {
    /// Run Unbound from Debian on [`UNBOUND_ADDR`] with the lab's root hints.
    pub unbound: bool,
    /// Run dnsmasq as a DHCP server on the bridge (10.53.0.100–10.53.0.150).
    pub dhcp: bool,
}

/// A signed zone's origin and its DS record as `ldns-keygen` wrote it.
type DsRecord = (String, String);

/// A running lab. Dropping it stops every server and deletes the namespace.
pub struct Lab {
    dir: PathBuf,
    opts: LabOptions,
    /// The servers' zones as served: [`zones::servers`] with the zones of
    /// [`zones::SIGNED`] signed and their DS records added above them.
    zones: Vec<Server>,
    /// The DS record of each zone of [`zones::SIGNED`] (its origin, the record as
    /// `ldns-keygen` wrote it), for trust anchors.
    ds: Vec<DsRecord>,
    servers: Vec<Proc>,
    /// The proxies of the servers with a [`Quirk`].
    proxies: Vec<AaProxy>,
    others: Vec<Proc>,
    /// The delay relay in front of the servers, in a lab from [`Lab::start_delayed`].
    relay: Option<Relay>,
    /// The counting black hole on [`zones::BLACK_HOLE`].
    sink: Option<Sink>,
    // Declared last: dropped after the processes above are killed.
    ns: Netns,
}

impl Lab {
    /// Builds the namespace, the bridge and TAPs, starts NSD for every lab server and the
    /// optional services, and waits (bounded) until each answers.
    pub fn start(opts: LabOptions) -> Result<Lab> {
        Self::start_inner(opts, None)
    }

    /// [`Lab::start`] with `delay` added to every round trip between a resolver and an
    /// authoritative server, by a user-space relay ([`crate::relay`]) in front of the
    /// servers; [`Lab::upstream_queries`] then counts the queries the servers got.
    pub fn start_delayed(opts: LabOptions, delay: Duration) -> Result<Lab> {
        Self::start_inner(opts, Some(delay))
    }

    fn start_inner(opts: LabOptions, delay: Option<Duration>) -> Result<Lab> {
        crate::packages::require(&["nsd", "dig", "ldns-signzone", "ldns-keygen"])?;
        if opts.unbound {
            crate::packages::require(&["unbound"])?;
        }
        if opts.dhcp {
            crate::packages::require(&["dnsmasq"])?;
        }
        let ns = Netns::create()?;
        let dir = std::env::temp_dir().join(ns.name());
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let (zones, ds) = sign_zones(&dir, zones::servers())?;
        let mut lab = Lab {
            dir,
            opts,
            zones,
            ds,
            servers: Vec::new(),
            proxies: Vec::new(),
            others: Vec::new(),
            relay: None,
            sink: None,
            ns,
        };
        lab.build_topology()?;
        lab.sink = Some(Sink::start(&lab.ns, zones::BLACK_HOLE)?);
        let port = if delay.is_some() {
            crate::relay::BACKEND_PORT
        } else {
            53
        };
        lab.start_servers(port)?;
        if let Some(delay) = delay {
            lab.relay = Some(Relay::start(&lab.ns, &server_addrs(), delay)?);
        }
        lab.wait_servers(53)?;
        if opts.unbound {
            lab.start_unbound()?;
        }
        if opts.dhcp {
            lab.start_dnsmasq()?;
        }
        Ok(lab)
    }

    /// Whether this lab runs Unbound on [`UNBOUND_ADDR`].
    pub fn runs_unbound(&self) -> bool {
        self.opts.unbound
    }

    /// The namespace the lab runs in.
    pub fn ns(&self) -> &Netns {
        &self.ns
    }

    /// The lab's scratch folder (logs, zone files, configs).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Name of TAP `i` (0 or 1) on the lab bridge.
    pub fn tap(&self, i: usize) -> String {
        format!("tap{i}")
    }

    /// The `--root-hints=` value for the lab's root.
    pub fn root_hints(&self) -> String {
        zones::ROOT_HINTS.join(",")
    }

    fn build_topology(&self) -> Result<()> {
        let ns = &self.ns;
        ns.sysctl("net.ipv6.conf.all.accept_dad", "0")?;
        ns.sysctl("net.ipv6.conf.default.accept_dad", "0")?;
        // ARP requests must carry the bridge's own address as sender, not the address of
        // the packet that caused them (the "outside" client's): smoltcp, like many small
        // stacks, ignores ARP from senders outside its subnet.
        ns.sysctl("net.ipv4.conf.all.arp_announce", "2")?;
        ns.sysctl("net.ipv4.conf.default.arp_announce", "2")?;
        // Pin the bridge's MAC before any port joins: a bridge otherwise takes the lowest
        // port MAC, which changes as TAPs come and go and breaks neighbour caches.
        ns.ip(&[
            "link",
            "add",
            "br0",
            "address",
            "02:00:5e:35:00:01",
            "type",
            "bridge",
        ])?;
        for i in 0..TAPS {
            let tap = self.tap(i);
            ns.ip(&["tuntap", "add", &tap, "mode", "tap"])?;
            ns.ip(&["link", "set", &tap, "master", "br0"])?;
            ns.ip(&["link", "set", &tap, "up"])?;
        }
        ns.ip(&["link", "set", "br0", "up"])?;
        ns.ip(&["addr", "add", &format!("{GATEWAY4}/24"), "dev", "br0"])?;
        ns.ip(&[
            "addr",
            "add",
            &format!("{GATEWAY6}/64"),
            "dev",
            "br0",
            "nodad",
        ])?;
        ns.ip(&["addr", "add", &format!("{OUTSIDE_CLIENT}/32"), "dev", "lo"])?;
        ns.ip(&[
            "addr",
            "add",
            &format!("{}/32", zones::BLACK_HOLE),
            "dev",
            "lo",
        ])?;
        for server in zones::servers() {
            for a in server.addrs {
                let dev = server_dev(a);
                if a.contains(':') {
                    ns.ip(&["addr", "add", &format!("{a}/128"), "dev", dev, "nodad"])?;
                } else {
                    ns.ip(&["addr", "add", &format!("{a}/32"), "dev", dev])?;
                }
            }
        }
        Ok(())
    }

    /// Starts NSD for every server on `port` (a quirky server's NSD on its private
    /// address, port 53, with its proxy on `port`).
    fn start_servers(&mut self, port: u16) -> Result<()> {
        for i in 0..self.zones.len() {
            let server = &self.zones[i];
            let p = self.start_nsd(server, port)?;
            let proxy = match server.quirk {
                Some(Quirk::AaOnReferrals { backend }) => {
                    Some(AaProxy::start(&self.ns, server.addrs, port, backend)?)
                }
                None => None,
            };
            self.servers.push(p);
            self.proxies.extend(proxy);
        }
        Ok(())
    }

    /// Waits (bounded) until every server answers on `port`.
    fn wait_servers(&self, port: u16) -> Result<()> {
        for server in &self.zones {
            let zone = server.zones[0].0;
            self.wait_answering_on(server.addrs[0], port, zone)?;
        }
        Ok(())
    }

    /// Queries the relay passed to the servers so far (`None`: no relay in this lab).
    pub fn upstream_queries(&self) -> Option<u64> {
        self.relay.as_ref().map(Relay::forwarded)
    }

    /// The counting black hole on [`zones::BLACK_HOLE`] (the black-holed victim).
    pub fn black_hole(&self) -> Option<&Sink> {
        self.sink.as_ref()
    }

    /// The queries each authoritative server has received since it started, by its
    /// own count (`nsd-control stats_noreset`, `num.queries`), in [`zones::servers`]
    /// order. The servers are asked at once, so the figures are one moment's.
    pub fn server_queries(&self) -> Result<Vec<(&'static str, u64)>> {
        let children = self
            .zones
            .iter()
            .map(|s| {
                let conf = self.dir.join(format!("nsd-{}", s.name)).join("nsd.conf");
                Command::new("nsd-control")
                    .arg("-c")
                    .arg(&conf)
                    .arg("stats_noreset")
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .map(|c| (s.name, c))
                    .map_err(|e| format!("cannot run nsd-control: {e}"))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut out = Vec::new();
        for (name, child) in children {
            let o = child
                .wait_with_output()
                .map_err(|e| format!("nsd-control for {name}: {e}"))?;
            let text = String::from_utf8_lossy(&o.stdout);
            let n = text
                .lines()
                .find_map(|l| l.strip_prefix("num.queries="))
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| {
                    format!(
                        "nsd-control stats_noreset for {name}: no num.queries ({}) {}",
                        o.status,
                        String::from_utf8_lossy(&o.stderr).trim()
                    )
                })?;
            out.push((name, n));
        }
        Ok(out)
    }

    /// The delay relay in front of the servers, if there is one.
    pub fn relay(&self) -> Option<&Relay> {
        self.relay.as_ref()
    }

    /// Changes the round-trip delay between resolvers and the authoritative servers of a
    /// running lab: `Some(d)` restarts every NSD on [`crate::relay::BACKEND_PORT`] behind
    /// a new relay adding `d`; `None` takes the relay away and puts NSD back on port 53.
    /// An old relay is first let finish what it holds (its late answers are delivered,
    /// bounded by its delay), so its sockets are free. Waits (bounded) until the servers
    /// answer again (behind a relay: asked directly, as the relay would take `d`).
    pub fn set_upstream_delay(&mut self, delay: Option<Duration>) -> Result<()> {
        if let Some(r) = &self.relay
            && !r.wait_idle(Duration::from_secs(5))
        {
            return Err(format!(
                "the relay still holds {} queries after its delay of {:?}",
                r.busy(),
                r.delay()
            ));
        }
        self.relay = None;
        self.proxies.clear();
        for p in &mut self.servers {
            p.kill();
        }
        self.servers.clear();
        let port = if delay.is_some() {
            crate::relay::BACKEND_PORT
        } else {
            53
        };
        self.start_servers(port)?;
        if let Some(d) = delay {
            self.relay = Some(Relay::start(&self.ns, &server_addrs(), d)?);
        }
        self.wait_servers(port)
    }

    /// NSD's response rate limiting is off (`rrl-ratelimit: 0`): Debian's default of 200
    /// responses a second per /24 would drop the answers of a resolver under load (the
    /// torture run's unique-name flood saw 30 % of upstream queries time out).
    fn start_nsd(&self, server: &Server, port: u16) -> Result<Proc> {
        let d = self.dir.join(format!("nsd-{}", server.name));
        std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        let mut conf = String::from("server:\n");
        let port = match server.quirk {
            Some(Quirk::AaOnReferrals { backend }) => {
                conf.push_str(&format!("  ip-address: {backend}\n"));
                53
            }
            None => {
                for a in server.addrs {
                    conf.push_str(&format!("  ip-address: {a}\n"));
                }
                port
            }
        };
        conf.push_str(&format!(
            "  port: {port}\n  server-count: 1\n  username: \"\"\n  chroot: \"\"\n  database: \"\"\n  \
             zonelistfile: \"{d}/zone.list\"\n  xfrdfile: \"{d}/xfrd.state\"\n  \
             pidfile: \"{d}/nsd.pid\"\n  zonesdir: \"{d}\"\n  verbosity: 1\n  hide-version: yes\n  \
             refuse-any: no\n  rrl-ratelimit: 0\nremote-control:\n  control-enable: yes\n  \
             control-interface: \"{d}/nsd.ctl\"\n",
            d = d.display()
        ));
        for (i, (origin, text)) in server.zones.iter().enumerate() {
            let file = format!("zone{i}.zone");
            write(&d.join(&file), text)?;
            conf.push_str(&format!(
                "zone:\n  name: \"{origin}\"\n  zonefile: \"{file}\"\n"
            ));
        }
        let conf_path = d.join("nsd.conf");
        write(&conf_path, &conf)?;
        let mut cmd = self.ns.command("nsd");
        cmd.arg("-d").arg("-c").arg(&conf_path);
        Proc::spawn(&format!("nsd {}", server.name), cmd, &d.join("nsd.log"))
    }

    fn wait_answering_on(&self, addr: &str, port: u16, zone: &str) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let port = port.to_string();
        loop {
            if let Ok(a) = self.dig(addr, &["-p", &port, "+norec", zone, "SOA"])
                && a.status == "NOERROR"
                && !a.answer.is_empty()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "the lab server at {addr} does not answer for {zone} (logs in {})",
                    self.dir.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn start_unbound(&mut self) -> Result<()> {
        let iterator = "  module-config: \"iterator\"\n";
        self.spawn_unbound("unbound", &[UNBOUND_ADDR, GATEWAY6], iterator)
    }

    /// The DS record of signed zone `origin` (e.g. `secure.test.`), as
    /// `OWNER TTL IN DS KEYTAG ALGORITHM DIGESTTYPE HEX`.
    pub fn ds(&self, origin: &str) -> Option<&str> {
        self.ds
            .iter()
            .find(|(o, _)| o == origin)
            .map(|(_, d)| d.as_str())
    }

    /// The boot argument that makes signed zone `origin` (`.` for the lab's private
    /// root) a trust anchor of our resolver: `--trust-anchor=ZONE:DS:KEYTAG:ALG:DIGESTTYPE:HEX`.
    pub fn trust_anchor_arg(&self, origin: &str) -> Result<String> {
        let ds = self
            .ds(origin)
            .ok_or_else(|| format!("the lab has no DS for {origin}"))?;
        trust_anchor_arg_for(origin, ds)
    }

    /// The folder of [`Lab::extra_key`] and [`Lab::sign_extra_zone`].
    fn extra_dir(&self) -> Result<PathBuf> {
        let d = self.dir.join("extra");
        std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        Ok(d)
    }

    /// A fresh key for a zone a test signs itself (outside [`zones::SIGNED`]), made by
    /// `ldns-keygen` as for the lab's zones (KSK flags; RSA 2048 bits).
    pub fn extra_key(&self, origin: &str, algorithm: &str) -> Result<ExtraKey> {
        let d = self.extra_dir()?;
        let base = keygen(&d, algorithm, origin)?;
        let tag = base
            .rsplit('+')
            .next()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| format!("ldns-keygen named its key {base}: no key tag"))?;
        let read = |ext: &str| {
            let p = d.join(format!("{base}.{ext}"));
            std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))
        };
        // One record a file; a comment after `;` (ldns writes the size there).
        let record = |text: String| {
            text.lines()
                .map(|l| l.split(';').next().unwrap_or("").trim().to_string())
                .find(|l| !l.is_empty())
                .ok_or_else(|| format!("{base}: an empty key file"))
        };
        Ok(ExtraKey {
            dnskey: record(read("key")?)?,
            ds: record(read("ds")?)?,
            base,
            tag,
        })
    }

    /// Zone `text` of `origin` signed with `key` by `ldns-signzone` (NSEC, or NSEC3
    /// with `denial`'s salt and iterations), signatures valid from now for four weeks.
    /// DNSKEY records already in `text` stay in the signed DNSKEY set.
    pub fn sign_extra_zone(
        &self,
        origin: &str,
        text: &str,
        key: &ExtraKey,
        denial: Denial,
    ) -> Result<String> {
        let d = self.extra_dir()?;
        let unsigned = d.join(format!("{origin}zone"));
        let signed = d.join(format!("{origin}zone.signed"));
        write(&unsigned, text)?;
        let mut cmd = Command::new("ldns-signzone");
        cmd.current_dir(&d)
            .args(["-o", origin])
            .arg("-f")
            .arg(&signed);
        if let Denial::Nsec3 {
            salt,
            iterations,
            opt_out,
        } = denial
        {
            cmd.args(["-n", "-s", salt, "-t", &iterations.to_string()]);
            if opt_out {
                cmd.arg("-p");
            }
        }
        crate::run_checked(cmd.arg(&unsigned).arg(&key.base))?;
        std::fs::read_to_string(&signed).map_err(|e| format!("{}: {e}", signed.display()))
    }

    /// Starts one more NSD, for zones a test made itself (e.g. signed with
    /// [`Lab::sign_extra_zone`]), on `addrs` (put on the lab's loopback), and waits
    /// (bounded) until it answers for its first zone. It runs until the lab is dropped;
    /// [`Lab::server_queries`] and [`Lab::set_upstream_delay`] leave it alone.
    pub fn start_extra_server(
        &mut self,
        name: &'static str,
        addrs: &'static [&'static str],
        zones: Vec<(&'static str, String)>,
    ) -> Result<()> {
        let first = zones
            .first()
            .map(|(o, _)| *o)
            .ok_or_else(|| format!("extra server {name}: no zones"))?;
        for a in addrs {
            if a.contains(':') {
                self.ns
                    .ip(&["addr", "replace", &format!("{a}/128"), "dev", "lo", "nodad"])?;
            } else {
                self.ns
                    .ip(&["addr", "replace", &format!("{a}/32"), "dev", "lo"])?;
            }
        }
        let server = Server {
            name,
            addrs,
            zones,
            quirk: None,
        };
        let p = self.start_nsd(&server, 53)?;
        self.others.push(p);
        self.wait_answering_on(addrs[0], 53, first)
    }

    /// Starts a second Unbound on `addr` (added to the lab's loopback) that validates
    /// DNSSEC from `anchors` (DS records as [`Lab::ds`] gives them) and nothing else:
    /// the reference for validation tests. It runs until the lab is dropped.
    pub fn start_validating_unbound(&mut self, addr: &str, anchors: &[&str]) -> Result<()> {
        self.start_validating_unbound_with(addr, anchors, "")
    }

    /// [`Lab::start_validating_unbound`] with `more` lines for its `server:` clause
    /// (e.g. `  aggressive-nsec: no\n`).
    pub fn start_validating_unbound_with(
        &mut self,
        addr: &str,
        anchors: &[&str],
        more: &str,
    ) -> Result<()> {
        self.ns
            .ip(&["addr", "add", &format!("{addr}/32"), "dev", "lo"])?;
        // EDE on (RFC 8914: Unbound sends none unless told) and the validation
        // failures in its log, to read when an answer differs.
        let mut extra = String::from(
            "  module-config: \"validator iterator\"\n  ede: yes\n  val-log-level: 2\n",
        );
        extra.push_str(more);
        for a in anchors {
            extra.push_str(&format!(
                "  trust-anchor: \"{}\"\n",
                a.split_whitespace().collect::<Vec<_>>().join(" ")
            ));
        }
        self.spawn_unbound(&format!("unbound-validating-{addr}"), &[addr], &extra)
    }

    /// Runs Unbound (config dir `name` under the lab's) on `interfaces` with the lab's
    /// root hints and local data, `extra` lines added to its `server:` clause, and
    /// waits (bounded) until it answers on the first interface.
    fn spawn_unbound(&mut self, name: &str, interfaces: &[&str], extra: &str) -> Result<()> {
        let d = self.dir.join(name);
        std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        let hints = "\
.                        3600000 IN NS a.root-servers.test.\n\
a.root-servers.test.     3600000 IN A 198.51.100.1\n\
a.root-servers.test.     3600000 IN AAAA 2001:db8::1\n";
        write(&d.join("root.hints"), hints)?;
        let first = interfaces.first().copied().unwrap_or(UNBOUND_ADDR);
        let interfaces: String = interfaces
            .iter()
            .map(|i| format!("  interface: {i}\n"))
            .collect();
        let conf = format!(
            "server:\n{interfaces}  port: 53\n  \
             access-control: 0.0.0.0/0 allow\n  access-control: ::/0 allow\n  \
             username: \"\"\n  chroot: \"\"\n  directory: \"{d}\"\n  pidfile: \"{d}/unbound.pid\"\n  \
             logfile: \"\"\n  use-syslog: no\n  num-threads: 1\n  do-ip6: yes\n  \
             do-not-query-localhost: no\n  root-hints: \"{d}/root.hints\"\n  \
             {extra}  local-zone: \"test.\" nodefault\n  local-zone: \"8.b.d.0.1.0.0.2.ip6.arpa.\" nodefault\n  \
             local-zone: \"{CORP_ZONE}\" static\n  local-data: \"{CORP_NAME} IN A {CORP_ADDR}\"\n  \
             local-data: \"{CORP_ZONE} 3600 IN SOA ns.{CORP_ZONE} hostmaster.{CORP_ZONE} 1 3600 600 86400 300\"\n  \
             qname-minimisation: yes\n  \
             harden-referral-path: no\n  minimal-responses: yes\n  verbosity: 1\n\
             remote-control:\n  control-enable: no\n",
            d = d.display()
        );
        let conf_path = d.join("unbound.conf");
        write(&conf_path, &conf)?;
        let mut cmd = self.ns.command("unbound");
        cmd.arg("-d").arg("-c").arg(&conf_path);
        let p = Proc::spawn(name, cmd, &d.join("unbound.log"))?;
        self.others.push(p);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(a) = self.dig(first, &["a.root-servers.test", "A"])
                && a.status == "NOERROR"
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "unbound does not answer on {first} (log: {})",
                    d.join("unbound.log").display()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn start_dnsmasq(&mut self) -> Result<()> {
        let d = self.dir.join("dnsmasq");
        std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        let mut cmd = self.ns.command("dnsmasq");
        cmd.args([
            "--keep-in-foreground",
            "--no-resolv",
            "--no-hosts",
            "--port=0",
            "--interface=br0",
            "--bind-interfaces",
            "--dhcp-range=10.53.0.100,10.53.0.150,255.255.255.0,2m",
            "--dhcp-option=option:router,10.53.0.1",
            "--log-dhcp",
            "--log-facility=-",
        ])
        .arg(format!("--dhcp-leasefile={}", d.join("leases").display()))
        .arg(format!("--pid-file={}", d.join("dnsmasq.pid").display()));
        let p = Proc::spawn("dnsmasq", cmd, &d.join("dnsmasq.log"))?;
        self.others.push(p);
        Ok(())
    }

    /// Stops every authoritative server (the cache test's "the internet went away").
    pub fn stop_servers(&mut self) {
        self.proxies.clear();
        for p in &mut self.servers {
            p.kill();
        }
    }

    /// Runs `dig @server ARGS…` inside the lab with a bounded wait.
    pub fn dig(&self, server: &str, args: &[&str]) -> Result<Dig> {
        crate::dig::run(&self.ns, server, args)
    }

    /// Runs `ping` inside the lab: `count` echoes, each waited for at most a second.
    pub fn ping(&self, addr: &str, count: u32) -> Result<()> {
        crate::run_checked(self.ns.command("ping").args([
            "-c",
            &count.to_string(),
            "-W",
            "1",
            "-i",
            "0.2",
            addr,
        ]))
    }

    /// Waits (bounded) until `addr` answers a ping.
    pub fn wait_ping(&self, addr: &str, timeout: Duration) -> Result<Duration> {
        let start = Instant::now();
        loop {
            let ok = self
                .ns
                .command("ping")
                .args(["-c", "1", "-W", "1", addr])
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            if ok {
                return Ok(start.elapsed());
            }
            if start.elapsed() > timeout {
                return Err(format!("{addr} does not answer ping within {timeout:?}"));
            }
        }
    }

    /// A command that runs `program` inside the lab.
    pub fn command(&self, program: &str) -> Command {
        self.ns.command(program)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.relay = None;
        self.sink = None;
        self.proxies.clear();
        for p in self.servers.iter_mut().chain(self.others.iter_mut()) {
            p.kill();
        }
        if std::env::var_os("E2E_KEEP_LOGS").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A key [`Lab::extra_key`] made.
#[derive(Debug, Clone)]
pub struct ExtraKey {
    /// `K<origin>+<alg>+<tag>`: the base name of its files.
    pub base: String,
    /// Its key tag.
    pub tag: u16,
    /// Its DNSKEY record, as `ldns-keygen` wrote it.
    pub dnskey: String,
    /// Its DS record, as `ldns-keygen` wrote it.
    pub ds: String,
}

/// `--trust-anchor=ZONE:DS:KEYTAG:ALG:DIGESTTYPE:HEX` for zone `origin` from its DS
/// record `ds` (`OWNER TTL IN DS KEYTAG ALGORITHM DIGESTTYPE HEX`).
pub fn trust_anchor_arg_for(origin: &str, ds: &str) -> Result<String> {
    let f: Vec<&str> = ds.split_whitespace().collect();
    let at = f
        .iter()
        .position(|w| *w == "DS")
        .ok_or_else(|| format!("not a DS record: {ds}"))?;
    let field = |i: usize| {
        f.get(at + i)
            .copied()
            .ok_or_else(|| format!("a DS record with too few fields: {ds}"))
    };
    let (tag, alg, digest_type, hex) = (field(1)?, field(2)?, field(3)?, field(4)?);
    let zone = origin
        .strip_suffix('.')
        .filter(|z| !z.is_empty())
        .unwrap_or(".");
    Ok(format!(
        "--trust-anchor={zone}:DS:{tag}:{alg}:{digest_type}:{hex}"
    ))
}

/// Every address of every lab server.
fn server_addrs() -> Vec<&'static str> {
    zones::servers()
        .iter()
        .flat_map(|s| s.addrs.iter().copied())
        .collect()
}

/// The lab device a server address lives on: the bridge for the servers on the LAN,
/// the loopback for the rest.
pub fn server_dev(addr: &str) -> &'static str {
    if zones::on_link(addr) { "br0" } else { "lo" }
}

/// Signs the zones of [`zones::SIGNED`] in order (children before parents), each with
/// a fresh key of its algorithm (`ldns-keygen`; RSA 2048 bits) as KSK and ZSK in one
/// (`ldns-signzone`: signatures valid from now for four weeks unless the zone's
/// [`Fault`] says otherwise), breaks the broken ones, and adds each one's DS record to
/// the zone above it.
fn sign_zones(dir: &Path, mut servers: Vec<Server>) -> Result<(Vec<Server>, Vec<DsRecord>)> {
    let mut ds_records = Vec::new();
    let keys = dir.join("keys");
    std::fs::create_dir_all(&keys).map_err(|e| format!("{}: {e}", keys.display()))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| format!("the clock is before 1970: {e}"))?
        .as_secs();
    const WEEK: u64 = 7 * 86_400;
    for spec in zones::SIGNED {
        let origin = spec.origin;
        let text = servers
            .iter()
            .flat_map(|s| s.zones.iter())
            .find(|(o, _)| *o == origin)
            .map(|(_, t)| t.clone())
            .ok_or_else(|| format!("signed zone {origin} is not served by any lab server"))?;
        let base = keygen(&keys, spec.algorithm, origin)?;
        let stem = if origin == "." { "root." } else { origin };
        let unsigned = keys.join(format!("{stem}zone"));
        let signed_path = keys.join(format!("{stem}zone.signed"));
        write(&unsigned, &text)?;
        let mut cmd = Command::new("ldns-signzone");
        cmd.current_dir(&keys)
            .args(["-o", origin])
            .arg("-f")
            .arg(&signed_path);
        if let Denial::Nsec3 {
            salt,
            iterations,
            opt_out,
        } = spec.denial
        {
            cmd.args(["-n", "-s", salt, "-t", &iterations.to_string()]);
            if opt_out {
                cmd.arg("-p");
            }
        }
        let window = match spec.fault {
            Some(Fault::Expired) => Some((now - 2 * WEEK, now - WEEK)),
            Some(Fault::NotYetValid) => Some((now + WEEK, now + 5 * WEEK)),
            _ => None,
        };
        if let Some((inception, expiration)) = window {
            cmd.args(["-i", &inception.to_string(), "-e", &expiration.to_string()]);
        }
        crate::run_checked(cmd.arg(&unsigned).arg(&base))?;
        let signed = std::fs::read_to_string(&signed_path)
            .map_err(|e| format!("{}: {e}", signed_path.display()))?;
        let signed = match spec.fault {
            Some(Fault::NoRrsigs) => strip_rrsigs(&signed),
            Some(Fault::BadSignature) => corrupt_signature(&signed, &format!("www.{origin}"), "A")
                .ok_or_else(|| format!("{origin}: no RRSIG over www A to corrupt"))?,
            _ => signed,
        } + &zones::added_after_signing(origin);
        // The DS of a key the zone does not have, for a DS that matches none of its own.
        let ds_base = if spec.fault == Some(Fault::DsMismatch) {
            keygen(&keys, spec.algorithm, origin)?
        } else {
            base
        };
        let ds_path = keys.join(format!("{ds_base}.ds"));
        let ds =
            std::fs::read_to_string(&ds_path).map_err(|e| format!("{}: {e}", ds_path.display()))?;
        let parent = origin.split_once('.').map_or("", |(_, p)| p);
        let parent = if parent.is_empty() { "." } else { parent };
        let mut found = origin == ".";
        for s in &mut servers {
            for (o, t) in &mut s.zones {
                if *o == origin {
                    *t = signed.clone();
                } else if *o == parent && origin != "." {
                    t.push_str(&ds);
                    t.push('\n');
                    found = true;
                }
            }
        }
        if !found {
            return Err(format!(
                "no lab server carries {parent}, the parent of {origin}"
            ));
        }
        ds_records.push((origin.to_string(), ds.trim().to_string()));
    }
    Ok((servers, ds_records))
}

/// A fresh key for `origin` in `keys` (KSK flags, as the one key of its zone), by
/// `ldns-keygen`; returns its base name (`K<origin>+<alg>+<tag>`).
fn keygen(keys: &Path, algorithm: &str, origin: &str) -> Result<String> {
    let mut cmd = Command::new("ldns-keygen");
    cmd.current_dir(keys).args(["-a", algorithm, "-k"]);
    if algorithm.starts_with("RSA") {
        cmd.args(["-b", "2048"]);
    }
    let base = crate::run_output(cmd.arg(origin))?;
    Ok(base.trim().to_string())
}

/// The fields of one zone-file line as `ldns-signzone` writes it: owner, TTL, class,
/// type, RDATA fields.
fn fields(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// `zone` without its RRSIG records.
fn strip_rrsigs(zone: &str) -> String {
    zone.lines()
        .filter(|l| fields(l).get(3) != Some(&"RRSIG"))
        .flat_map(|l| [l, "\n"])
        .collect()
}

/// `zone` with the signature of the RRSIG over `owner`'s `rtype` RRset changed in one
/// base64 character (so it still parses, and no longer verifies); `None` without such
/// an RRSIG.
fn corrupt_signature(zone: &str, owner: &str, rtype: &str) -> Option<String> {
    let mut done = false;
    let mut out = String::with_capacity(zone.len());
    for line in zone.lines() {
        let f = fields(line);
        if !done
            && f.len() > 12
            && f[0].eq_ignore_ascii_case(owner)
            && f[3] == "RRSIG"
            && f[4] == rtype
            && f[f.len() - 1].len() > 10
        {
            let sig = f[f.len() - 1];
            let mut chars: Vec<char> = sig.chars().collect();
            chars[10] = if chars[10] == 'A' { 'B' } else { 'A' };
            let bad: String = chars.into_iter().collect();
            out.push_str(&format!("{} {bad}\n", f[..f.len() - 1].join(" ")));
            done = true;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    done.then_some(out)
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each zone of [`zones::SIGNED`] comes out signed as its spec says (or broken as
    /// it says), with its DS in its parent, in a few seconds for the whole lab.
    #[test]
    fn signs_the_lab_zones_as_specified() -> Result<()> {
        crate::packages::require(&["ldns-signzone", "ldns-keygen"])?;
        let dir = std::env::temp_dir().join(format!("e2e-sign-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let t = Instant::now();
        let signed = sign_zones(&dir, zones::servers());
        let took = t.elapsed();
        let _ = std::fs::remove_dir_all(&dir);
        let (servers, ds) = signed?;
        eprintln!("signed {} zones in {took:?}", zones::SIGNED.len());
        let text = |origin: &str| {
            servers
                .iter()
                .flat_map(|s| s.zones.iter())
                .find(|(o, _)| *o == origin)
                .map(|(_, t)| t.clone())
                .unwrap_or_default()
        };
        let has = |zone: &str, owner: &str, rtype: &str| {
            zone.lines().any(|l| {
                let f = fields(l);
                f.len() > 4 && f[0].eq_ignore_ascii_case(owner) && f[3] == rtype
            })
        };
        for spec in zones::SIGNED {
            let z = text(spec.origin);
            assert!(has(&z, spec.origin, "DNSKEY"), "{}: no DNSKEY", spec.origin);
            let sigs = has(&z, spec.origin, "RRSIG");
            assert_eq!(
                sigs,
                spec.fault != Some(Fault::NoRrsigs),
                "{}: RRSIGs",
                spec.origin
            );
            let nsec3 = has(&z, spec.origin, "NSEC3PARAM");
            assert_eq!(
                nsec3,
                matches!(spec.denial, Denial::Nsec3 { .. }),
                "{}: NSEC3PARAM",
                spec.origin
            );
            assert!(
                ds.iter().any(|(o, _)| o == spec.origin),
                "{}: no DS",
                spec.origin
            );
            if spec.origin != "." {
                let parent = spec.origin.split_once('.').map_or(".", |(_, p)| p);
                let parent = if parent.is_empty() { "." } else { parent };
                assert!(
                    has(&text(parent), spec.origin, "DS"),
                    "{}: no DS in {parent}",
                    spec.origin
                );
            }
        }
        // The DS matching no key: its key tag is not the one the zone signs with.
        let (_, bad) = ds
            .iter()
            .find(|(o, _)| o == "badds.test.")
            .ok_or("no DS for badds.test.")?;
        let ds_tag = fields(bad).get(4).copied().unwrap_or("none");
        let zone = text("badds.test.");
        let sig_tag = zone
            .lines()
            .map(fields)
            .find(|f| f.len() > 10 && f[3] == "RRSIG")
            .map(|f| f[10].to_string())
            .ok_or("badds.test. is not signed")?;
        assert_ne!(ds_tag, sig_tag, "{bad}");
        // The corrupted signature differs from a fresh signing's only there: it parses.
        assert!(text("badsig.test.").contains("RRSIG"));
        Ok(())
    }
}

//! A deterministic simulated network: the engine, fake authoritative servers serving a
//! small zone hierarchy, a virtual clock and per-link latency. `step()` jumps time to
//! the next event; `drive_bounded()` never spins forever.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use engine::{Client, Engine, EngineConfig, Instant, Mode, Transmit, Transport};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, NS, NULL, SOA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::BinEncodable;

pub fn n(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

pub fn a(owner: &str, ttl: u32, ip: &str) -> Record {
    Record::from_rdata(n(owner), ttl, RData::A(A(ip.parse().unwrap())))
}
pub fn aaaa(owner: &str, ttl: u32, ip: &str) -> Record {
    Record::from_rdata(n(owner), ttl, RData::AAAA(AAAA(ip.parse().unwrap())))
}
pub fn ns(owner: &str, ttl: u32, target: &str) -> Record {
    Record::from_rdata(n(owner), ttl, RData::NS(NS(n(target))))
}
pub fn cname(owner: &str, ttl: u32, target: &str) -> Record {
    Record::from_rdata(n(owner), ttl, RData::CNAME(CNAME(n(target))))
}
pub fn txt(owner: &str, ttl: u32, text: &str) -> Record {
    Record::from_rdata(n(owner), ttl, RData::TXT(TXT::new(vec![text.to_string()])))
}
pub fn dname(owner: &str, ttl: u32, target: &str) -> Record {
    let bytes = n(target).to_bytes().unwrap();
    Record::from_rdata(
        n(owner),
        ttl,
        RData::Unknown {
            code: RecordType::DNAME,
            rdata: NULL::with(bytes),
        },
    )
}
/// A signed-looking RRSIG over `owner`/`covered` by `signer` (algorithm 13, a fake
/// 64-byte signature `fill`): right in form, never checked by the engine.
pub fn rrsig(owner: &str, ttl: u32, covered: RecordType, signer: &str, fill: u8) -> Record {
    let o = n(owner);
    let mut b = Vec::new();
    b.extend_from_slice(&u16::from(covered).to_be_bytes());
    b.push(13);
    b.push(o.num_labels());
    b.extend_from_slice(&ttl.to_be_bytes());
    b.extend_from_slice(&2_000_000_000u32.to_be_bytes());
    b.extend_from_slice(&1_700_000_000u32.to_be_bytes());
    b.extend_from_slice(&12345u16.to_be_bytes());
    b.extend_from_slice(&n(signer).to_bytes().unwrap());
    b.extend_from_slice(&[fill; 64]);
    Record::from_rdata(
        o,
        ttl,
        RData::Unknown {
            code: RecordType::RRSIG,
            rdata: NULL::with(b),
        },
    )
}
/// An NSEC at `owner` pointing at `next`, with a (fake) one-window type bitmap.
pub fn nsec(owner: &str, ttl: u32, next: &str) -> Record {
    let mut b = n(next).to_bytes().unwrap();
    b.extend_from_slice(&[0, 6, 0x40, 0x01, 0x00, 0x00, 0x00, 0x03]);
    Record::from_rdata(
        n(owner),
        ttl,
        RData::Unknown {
            code: RecordType::NSEC,
            rdata: NULL::with(b),
        },
    )
}
/// Opaque RDATA of `code` (a DNSKEY or DS as far as the engine cares).
pub fn opaque(owner: &str, ttl: u32, code: RecordType, bytes: &[u8]) -> Record {
    Record::from_rdata(
        n(owner),
        ttl,
        RData::Unknown {
            code,
            rdata: NULL::with(bytes.to_vec()),
        },
    )
}
/// The type an RRSIG record covers.
pub fn covers(r: &Record) -> Option<RecordType> {
    engine::scrub::rrsig_covers(r)
}
/// An SOA with record TTL `ttl` and MINIMUM `min`.
pub fn soa(owner: &str, ttl: u32, min: u32) -> Record {
    let o = n(owner);
    Record::from_rdata(
        o.clone(),
        ttl,
        RData::SOA(SOA::new(
            n("ns.invalid."),
            n("hostmaster.invalid."),
            1,
            3600,
            600,
            86400,
            min,
        )),
    )
}

pub struct Zone {
    pub origin: Name,
    pub records: Vec<Record>,
    /// Negative answers carry only the NSEC/NSEC3 records that match or cover the
    /// name, its ancestors and their wildcards (a real signer's chain); otherwise
    /// every one of the zone's.
    pub minimal_denial: bool,
}

impl Zone {
    pub fn new(origin: &str, records: Vec<Record>) -> Self {
        Self {
            origin: n(origin),
            records,
            minimal_denial: false,
        }
    }

    /// Authoritative logic of RFC 1034 §4.3.2, simplified: referral, answer (with CNAME
    /// and DNAME chasing inside the zone), NODATA, NXDOMAIN.
    pub fn answer(&self, q: &Query, resp: &mut Message) {
        let qname = q.name().clone();
        let qtype = q.query_type();
        // Delegation: the highest cut below the origin that contains qname.
        let mut cut: Option<Name> = None;
        for r in &self.records {
            // DS lives on the parent side of a cut (RFC 4035 §2.4): no referral for it.
            let parent_side = qtype == RecordType::DS && r.name == qname;
            if r.record_type() == RecordType::NS
                && r.name != self.origin
                && !parent_side
                && r.name.zone_of(&qname)
                && cut
                    .as_ref()
                    .is_none_or(|c| r.name.num_labels() < c.num_labels())
            {
                cut = Some(r.name.clone());
            }
        }
        if let Some(cut) = cut {
            let nsset: Vec<Record> = self
                .records
                .iter()
                .filter(|r| r.record_type() == RecordType::NS && r.name == cut)
                .cloned()
                .collect();
            for r in &nsset {
                if let RData::NS(t) = &r.data {
                    for g in &self.records {
                        if g.name == t.0
                            && matches!(g.record_type(), RecordType::A | RecordType::AAAA)
                        {
                            resp.additionals.push(g.clone());
                        }
                    }
                }
            }
            resp.authorities.extend(nsset);
            return;
        }
        resp.metadata.authoritative = true;
        let mut name = qname;
        for _ in 0..10 {
            let exact: Vec<Record> = self
                .records
                .iter()
                .filter(|r| r.name == name && r.record_type() == qtype)
                .cloned()
                .collect();
            if !exact.is_empty() {
                resp.answers.extend(exact);
                return;
            }
            if let Some(c) = self
                .records
                .iter()
                .find(|r| r.name == name && r.record_type() == RecordType::CNAME)
            {
                resp.answers.push(c.clone());
                if let RData::CNAME(t) = &c.data {
                    name = t.0.clone();
                    if !self.origin.zone_of(&name) {
                        return;
                    }
                    continue;
                }
            }
            if let Some(d) = self.records.iter().find(|r| {
                r.record_type() == RecordType::DNAME && r.name != name && r.name.zone_of(&name)
            }) {
                let target = engine::scrub::dname_target(d).unwrap();
                let new = engine::scrub::dname_substitute(&name, &d.name, &target).unwrap();
                resp.answers.push(d.clone());
                resp.answers.push(Record::from_rdata(
                    name.clone(),
                    d.ttl,
                    RData::CNAME(CNAME(new.clone())),
                ));
                name = new;
                if !self.origin.zone_of(&name) {
                    return;
                }
                continue;
            }
            break;
        }
        let exists = self.records.iter().any(|r| {
            name.zone_of(&r.name)
                && !matches!(r.record_type(), RecordType::NSEC | RecordType::NSEC3)
        });
        if !exists && let Some(w) = self.wildcard_for(&name) {
            // RFC 4592: synthesised from the wildcard at the closest encloser.
            let synth: Vec<Record> = self
                .records
                .iter()
                .filter(|r| r.name == w && r.record_type() == qtype)
                .map(|r| {
                    let mut r = r.clone();
                    r.name = name.clone();
                    r
                })
                .collect();
            if !synth.is_empty() {
                resp.answers.extend(synth);
                return;
            }
        }
        if !resp.answers.is_empty() && !exists {
            // CNAME into a missing name of the same zone.
            resp.metadata.response_code = ResponseCode::NXDomain;
        } else if !exists {
            resp.metadata.response_code = ResponseCode::NXDomain;
        }
        if let Some(s) = self
            .records
            .iter()
            .find(|r| r.record_type() == RecordType::SOA && r.name == self.origin)
        {
            resp.authorities.push(s.clone());
        }
    }

    /// The wildcard `*.ce` that would synthesise `name`: `ce` its closest encloser
    /// (the deepest existing ancestor), if that wildcard exists.
    fn wildcard_for(&self, name: &Name) -> Option<Name> {
        let mut p = name.base_name();
        while self.origin.zone_of(&p) {
            let w = Name::from_ascii("*").ok()?.append_domain(&p).ok()?;
            if self.records.iter().any(|r| r.name == w) {
                return Some(w);
            }
            let exists = self.records.iter().any(|r| {
                p.zone_of(&r.name)
                    && !matches!(r.record_type(), RecordType::NSEC | RecordType::NSEC3)
            });
            if exists || p.is_root() {
                return None;
            }
            p = p.base_name();
        }
        None
    }

    /// For a query with DO: the zone's RRSIGs over every RRset in the response, and
    /// for a negative answer (SOA in authority) every NSEC of the zone and theirs.
    pub fn sign(&self, resp: &mut Message) {
        let negative = resp
            .authorities
            .iter()
            .any(|r| r.record_type() == RecordType::SOA && r.name == self.origin);
        if negative {
            let qname = resp.queries.first().map(|q| q.name().clone());
            let nsecs = self
                .records
                .iter()
                .filter(|r| matches!(r.record_type(), RecordType::NSEC | RecordType::NSEC3))
                .filter(|r| {
                    !self.minimal_denial
                        || qname.as_ref().is_none_or(|q| relevant(&self.origin, q, r))
                })
                .cloned();
            resp.authorities.extend(nsecs.collect::<Vec<_>>());
        }
        let sigs_for = |section: &[Record]| -> Vec<Record> {
            let mut sets: Vec<(Name, RecordType)> = Vec::new();
            for r in section {
                let k = (r.name.clone(), r.record_type());
                if k.1 != RecordType::RRSIG && !sets.contains(&k) {
                    sets.push(k);
                }
            }
            self.records
                .iter()
                .filter(|r| covers(r).is_some_and(|c| sets.contains(&(r.name.clone(), c))))
                .cloned()
                .collect()
        };
        let mut a = sigs_for(&resp.answers);
        // A synthesised answer: the wildcard's RRSIGs at the name, and the NSEC or
        // NSEC3 records that show the name itself does not exist.
        let mut wild = false;
        for r in resp.answers.clone() {
            if self.records.iter().any(|z| z.name == r.name) || r.record_type() == RecordType::RRSIG
            {
                continue;
            }
            if let Some(w) = self.wildcard_for(&r.name) {
                wild = true;
                for sig in self
                    .records
                    .iter()
                    .filter(|z| z.name == w && covers(z) == Some(r.record_type()))
                {
                    let mut sig = sig.clone();
                    sig.name = r.name.clone();
                    if !a.contains(&sig) {
                        a.push(sig);
                    }
                }
            }
        }
        resp.answers.extend(a);
        if wild && !negative {
            let qname = resp.queries.first().map(|q| q.name().clone());
            let nsecs: Vec<Record> = self
                .records
                .iter()
                .filter(|r| matches!(r.record_type(), RecordType::NSEC | RecordType::NSEC3))
                .filter(|r| qname.as_ref().is_none_or(|q| relevant(&self.origin, q, r)))
                .cloned()
                .collect();
            resp.authorities.extend(nsecs);
        }
        // A signed referral carries the DS set at the cut (RFC 4035 §3.1.4).
        if resp.answers.is_empty() && !resp.metadata.authoritative {
            let cuts: Vec<Name> = resp
                .authorities
                .iter()
                .filter(|r| r.record_type() == RecordType::NS)
                .map(|r| r.name.clone())
                .collect();
            let ds: Vec<Record> = self
                .records
                .iter()
                .filter(|r| r.record_type() == RecordType::DS && cuts.contains(&r.name))
                .cloned()
                .collect();
            resp.authorities.extend(ds);
        }
        let b = sigs_for(&resp.authorities);
        resp.authorities.extend(b);
    }
}

/// Whether denial record `r` (NSEC or NSEC3) of `origin` matches or covers `qname`,
/// one of its ancestors in the zone, or a wildcard at one of them: the records a
/// server puts in a denial (RFC 4035 §3.1.3, RFC 5155 §7.2), not the whole chain.
fn relevant(origin: &Name, qname: &Name, r: &Record) -> bool {
    let dn = |n: &Name| dnssec::Name::from_ascii(&n.to_ascii()).ok();
    let Some(d) = dnssec::Record::from_hickory(r).ok() else {
        return true;
    };
    let mut names = Vec::new();
    let mut x = qname.clone();
    while origin.zone_of(&x) {
        if let Some(w) = Name::from_ascii("*")
            .ok()
            .and_then(|s| s.append_domain(&x).ok())
        {
            names.extend(dn(&w));
        }
        names.extend(dn(&x));
        if x.num_labels() == 0 {
            break;
        }
        x = x.base_name();
    }
    if let Ok(ns) = d.nsec() {
        return names
            .iter()
            .any(|x| d.owner == *x || dnssec::nsec_covers(&d.owner, &ns.next, x));
    }
    let Ok(n3) = d.nsec3() else {
        return true;
    };
    let first = d.owner.labels().next().unwrap_or_default();
    let Some(own) = dnssec::base32hex_decode(first) else {
        return true;
    };
    let next = n3.next_hashed;
    names.iter().any(|x| {
        let h = dnssec::nsec3_hash(x, n3.salt, n3.iterations);
        let h = &h[..];
        h == own.as_slice()
            || if own.as_slice() < next {
                own.as_slice() < h && h < next
            } else {
                h > own.as_slice() || h < next
            }
    })
}

/// Edits a server's normal response (None drops it).
pub type EditFn = Box<dyn FnMut(&Message, Message) -> Option<Message>>;

/// How a fake server misbehaves.
pub enum Behavior {
    Normal,
    /// Never answers.
    Drop,
    /// Answers every query with this RCODE.
    Rcode(ResponseCode),
    /// FORMERR to any query carrying OPT.
    FormErrOnEdns,
    /// Over UDP answers with TC=1 and no records; TCP works.
    TruncateUdp,
    /// Echoes the question in lower case (breaks 0x20).
    LowercaseQuestion,
    /// Edit the normal response (or return None to drop it).
    Edit(EditFn),
}

pub struct Server {
    pub ip: IpAddr,
    pub zones: Vec<Zone>,
    pub behavior: Behavior,
}

impl Server {
    fn respond(&mut self, query: &Message, tcp: bool) -> Option<Message> {
        let q = query.queries.first()?.clone();
        let mut resp = Message::new(query.id, MessageType::Response, OpCode::Query);
        resp.metadata.recursion_desired = query.recursion_desired;
        resp.add_query(q.clone());
        if query.edns.is_some() {
            let mut e = Edns::new();
            e.set_max_payload(1232);
            resp.set_edns(e);
        }
        match &mut self.behavior {
            Behavior::Drop => return None,
            Behavior::Rcode(rc) => {
                resp.metadata.response_code = *rc;
                return Some(resp);
            }
            Behavior::FormErrOnEdns if query.edns.is_some() => {
                resp.edns = None;
                resp.metadata.response_code = ResponseCode::FormErr;
                return Some(resp);
            }
            Behavior::TruncateUdp if !tcp => {
                resp.metadata.truncation = true;
                return Some(resp);
            }
            _ => {}
        }
        // A DS at a zone apex is the parent's (RFC 4035 §3.1.4.1): a server holding
        // both answers it from the parent.
        let apex_ds = |z: &Zone| q.query_type() == RecordType::DS && z.origin == *q.name();
        let has_parent = self
            .zones
            .iter()
            .any(|z| z.origin.zone_of(q.name()) && z.origin != *q.name());
        let zone = self
            .zones
            .iter()
            .filter(|z| z.origin.zone_of(q.name()) && !(has_parent && apex_ds(z)))
            .max_by_key(|z| z.origin.num_labels());
        match zone {
            Some(z) => {
                z.answer(&q, &mut resp);
                if query.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok) {
                    z.sign(&mut resp);
                }
            }
            None => resp.metadata.response_code = ResponseCode::Refused,
        }
        match &mut self.behavior {
            Behavior::LowercaseQuestion => {
                resp.queries = vec![Query::query(q.name().to_lowercase(), q.query_type())];
                Some(resp)
            }
            Behavior::Edit(f) => f(query, resp),
            _ => Some(resp),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Sent {
    pub at: Instant,
    pub server: SocketAddr,
    pub local_port: u16,
    pub id: u16,
    pub qname: Name,
    pub qtype: RecordType,
    pub tcp: bool,
    pub edns: bool,
    /// Whether the query's OPT set DO.
    pub dnssec_ok: bool,
    pub rd: bool,
}

struct InFlight {
    at: Instant,
    from: SocketAddr,
    port: u16,
    tcp: bool,
    bytes: Vec<u8>,
}

pub struct Net {
    pub engine: Engine,
    pub now: Instant,
    pub servers: BTreeMap<IpAddr, Server>,
    pub latency: Duration,
    /// Per-server round-trip override (else `latency`).
    pub server_latency: BTreeMap<IpAddr, Duration>,
    /// Fraction of upstream answers lost, in per-mille, drawn from a seeded generator.
    pub loss_permille: u32,
    /// Largest UDP answer a link carries before the server truncates (MTU knob).
    pub udp_limit: usize,
    rng_state: u64,
    queue: Vec<InFlight>,
    pub log: Vec<Sent>,
    pub replies: Vec<(Client, Vec<u8>)>,
    next_client_port: u16,
    /// Wall time spent inside `Engine::handle_response` (a measurement knob for
    /// `#[ignore]`d cost tests; never asserted).
    pub engine_time: Duration,
}

pub const ROOT: &str = "198.41.0.4";
pub const GTLD: &str = "192.5.6.30";
pub const NS1_EXAMPLE: &str = "192.0.2.53";
pub const NS2_EXAMPLE: &str = "192.0.2.54";
pub const NS_EXAMPLE_NET: &str = "192.0.2.80";
pub const NS_GLUELESS: &str = "192.0.2.81";

/// The world most scenarios use:
/// `.` → `com.`/`net.` (one gTLD server) → `example.com.` (two servers, glue),
/// `example.net.` (glue), `glueless.com.` (NS `ns.example.net.`, no glue).
pub fn world() -> Vec<Server> {
    let root = Zone::new(
        ".",
        vec![
            soa(".", 86400, 3600),
            ns(".", 518400, "a.root-servers.net."),
            a("a.root-servers.net.", 518400, ROOT),
            ns("com.", 172800, "a.gtld-servers.net."),
            ns("net.", 172800, "a.gtld-servers.net."),
            a("a.gtld-servers.net.", 172800, GTLD),
        ],
    );
    let com = Zone::new(
        "com.",
        vec![
            soa("com.", 900, 900),
            ns("com.", 172800, "a.gtld-servers.net."),
            ns("example.com.", 172800, "ns1.example.com."),
            ns("example.com.", 172800, "ns2.example.com."),
            a("ns1.example.com.", 172800, NS1_EXAMPLE),
            a("ns2.example.com.", 172800, NS2_EXAMPLE),
            ns("glueless.com.", 172800, "ns.example.net."),
        ],
    );
    let net = Zone::new(
        "net.",
        vec![
            soa("net.", 900, 900),
            ns("net.", 172800, "a.gtld-servers.net."),
            a("a.gtld-servers.net.", 172800, GTLD),
            ns("example.net.", 172800, "ns1.example.net."),
            a("ns1.example.net.", 172800, NS_EXAMPLE_NET),
        ],
    );
    let example = Zone::new(
        "example.com.",
        vec![
            soa("example.com.", 3600, 300),
            ns("example.com.", 3600, "ns1.example.com."),
            ns("example.com.", 3600, "ns2.example.com."),
            a("ns1.example.com.", 3600, NS1_EXAMPLE),
            a("ns2.example.com.", 3600, NS2_EXAMPLE),
            a("www.example.com.", 300, "192.0.2.1"),
            cname("alias.example.com.", 600, "www.example.com."),
            cname("ext.example.com.", 600, "www.example.net."),
            cname("loop1.example.com.", 600, "loop2.example.com."),
            cname("loop2.example.com.", 600, "loop1.example.com."),
            cname("dangling.example.com.", 600, "missing.example.com."),
            a("a.b.c.example.com.", 300, "192.0.2.9"),
            dname("old.example.com.", 600, "example.net."),
            txt("big.example.com.", 300, &"x".repeat(250)),
            txt("big.example.com.", 300, &"y".repeat(250)),
            txt("big.example.com.", 300, &"z".repeat(250)),
            a("short.example.com.", 20, "192.0.2.20"),
        ],
    );
    let example_net = Zone::new(
        "example.net.",
        vec![
            soa("example.net.", 3600, 60),
            ns("example.net.", 3600, "ns1.example.net."),
            a("ns1.example.net.", 3600, NS_EXAMPLE_NET),
            a("ns.example.net.", 3600, NS_GLUELESS),
            a("www.example.net.", 300, "192.0.2.2"),
        ],
    );
    let glueless = Zone::new(
        "glueless.com.",
        vec![
            soa("glueless.com.", 3600, 300),
            ns("glueless.com.", 3600, "ns.example.net."),
            a("www.glueless.com.", 300, "192.0.2.3"),
        ],
    );
    let server = |ip: &str, zones| Server {
        ip: ip.parse().unwrap(),
        zones,
        behavior: Behavior::Normal,
    };
    let example2 = Zone::new("example.com.", example.records.clone());
    vec![
        server(ROOT, vec![root]),
        server(GTLD, vec![com, net]),
        server(NS1_EXAMPLE, vec![example]),
        server(NS2_EXAMPLE, vec![example2]),
        server(NS_EXAMPLE_NET, vec![example_net]),
        server(NS_GLUELESS, vec![glueless]),
    ]
}

/// A recursive config using the simulated root, deterministic (no QNAME minimisation
/// unless a test turns it on).
pub fn recursive_config() -> EngineConfig {
    EngineConfig {
        mode: Mode::Recursive {
            root_hints: vec![ROOT.parse().unwrap()],
        },
        qname_minimisation: false,
        ..EngineConfig::default()
    }
}

pub fn client() -> Client {
    Client {
        addr: "192.168.1.10:40000".parse().unwrap(),
        transport: Transport::Udp,
    }
}

pub fn query_bytes(id: u16, name: &str, qtype: RecordType, edns: Option<u16>) -> Vec<u8> {
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(n(name), qtype));
    if let Some(p) = edns {
        let mut e = Edns::new();
        e.set_max_payload(p);
        m.set_edns(e);
    }
    m.to_vec().unwrap()
}

impl Net {
    pub fn new(config: EngineConfig) -> Self {
        Self::with_servers(config, world())
    }

    pub fn with_servers(config: EngineConfig, servers: Vec<Server>) -> Self {
        Self {
            engine: Engine::new(config, [7; 32]),
            now: Instant::from_nanos(1_000_000_000),
            servers: servers.into_iter().map(|s| (s.ip, s)).collect(),
            latency: Duration::from_millis(10),
            server_latency: BTreeMap::new(),
            loss_permille: 0,
            udp_limit: 1232,
            rng_state: 0x9e37_79b9_7f4a_7c15,
            queue: Vec::new(),
            log: Vec::new(),
            replies: Vec::new(),
            next_client_port: 40000,
            engine_time: Duration::ZERO,
        }
    }

    pub fn server(&mut self, ip: &str) -> &mut Server {
        self.servers
            .get_mut(&ip.parse::<IpAddr>().unwrap())
            .unwrap()
    }

    /// Move every transmit out of the engine: to servers (which answer after the link
    /// latency) or to the client reply list.
    fn drain(&mut self) {
        while let Some(t) = self.engine.poll_transmit() {
            match t {
                Transmit::ToClient { client, payload } => self.replies.push((client, payload)),
                Transmit::ToServer {
                    server,
                    local_port,
                    transport,
                    payload,
                } => {
                    let tcp = transport.is_tcp();
                    assert!(local_port >= 1024);
                    let q = Message::from_vec(&payload).expect("engine sent garbage");
                    let qq = q.queries.first().expect("no question");
                    self.log.push(Sent {
                        at: self.now,
                        server,
                        local_port,
                        id: q.id,
                        qname: qq.name().clone(),
                        qtype: qq.query_type(),
                        tcp,
                        edns: q.edns.is_some(),
                        dnssec_ok: q.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok),
                        rd: q.recursion_desired,
                    });
                    let Some(s) = self.servers.get_mut(&server.ip()) else {
                        continue;
                    };
                    if server.port() != 53 {
                        continue;
                    }
                    // xorshift64*: deterministic loss.
                    self.rng_state ^= self.rng_state >> 12;
                    self.rng_state ^= self.rng_state << 25;
                    self.rng_state ^= self.rng_state >> 27;
                    let roll = (self.rng_state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) % 1000;
                    if roll < u64::from(self.loss_permille) {
                        continue;
                    }
                    let latency = self
                        .server_latency
                        .get(&server.ip())
                        .copied()
                        .unwrap_or(self.latency);
                    if let Some(resp) = s.respond(&q, tcp) {
                        let mut bytes = resp.to_vec().unwrap();
                        if !tcp && bytes.len() > self.udp_limit {
                            let mut t = resp.truncate();
                            t.metadata.truncation = true;
                            bytes = t.to_vec().unwrap();
                        }
                        self.queue.push(InFlight {
                            at: self.now.saturating_add(latency),
                            from: server,
                            port: local_port,
                            tcp,
                            bytes,
                        });
                    }
                }
            }
        }
    }

    /// Inject a raw packet from `from` to the engine's `port` after the latency.
    pub fn inject(&mut self, from: SocketAddr, port: u16, tcp: bool, bytes: Vec<u8>) {
        self.queue.push(InFlight {
            at: self.now,
            from,
            port,
            tcp,
            bytes,
        });
    }

    /// Deliver the next event (or fire the next timer). False when nothing is left.
    pub fn step(&mut self) -> bool {
        self.drain();
        let next_pkt = self.queue.iter().map(|p| p.at).min();
        let next_timer = self.engine.poll_timeout();
        let next = match (next_pkt, next_timer) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => match a.or(b) {
                Some(t) => t,
                None => return false,
            },
        };
        if next > self.now {
            self.now = next;
        }
        let (due, rest): (Vec<_>, Vec<_>) = self.queue.drain(..).partition(|p| p.at <= self.now);
        self.queue = rest;
        for p in due {
            let t = if p.tcp {
                Transport::Tcp { conn: 0 }
            } else {
                Transport::Udp
            };
            let started = std::time::Instant::now();
            self.engine
                .handle_response(self.now, p.from, p.port, t, &p.bytes);
            self.engine_time += started.elapsed();
        }
        self.engine.handle_timeout(self.now);
        assert!(self.engine.check_invariants(), "engine invariants broken");
        self.drain();
        true
    }

    /// Step until idle; panics after `max` steps (a livelock is a bug).
    pub fn drive_bounded(&mut self, max: usize) {
        for _ in 0..max {
            if !self.step() {
                return;
            }
        }
        panic!("simulation did not settle in {max} steps");
    }

    pub fn advance(&mut self, d: Duration) {
        self.now = self.now.saturating_add(d);
        self.engine.handle_timeout(self.now);
        self.drain();
    }

    pub fn send_from(&mut self, client: Client, bytes: &[u8]) {
        self.engine.handle_query(self.now, client, bytes);
        self.drain();
    }

    /// Ask one question as a fresh UDP client with EDNS and wait for the answer.
    pub fn ask(&mut self, name: &str, qtype: RecordType) -> Message {
        self.next_client_port += 1;
        let c = Client {
            addr: SocketAddr::new("192.168.1.10".parse().unwrap(), self.next_client_port),
            transport: Transport::Udp,
        };
        self.ask_as(c, &query_bytes(0x4242, name, qtype, Some(1232)))
    }

    pub fn ask_as(&mut self, c: Client, bytes: &[u8]) -> Message {
        let before = self.replies.len();
        self.send_from(c, bytes);
        self.drive_bounded(10_000);
        let mine: Vec<_> = self.replies[before..]
            .iter()
            .filter(|(cl, _)| *cl == c)
            .collect();
        assert_eq!(
            mine.len(),
            1,
            "expected exactly one reply, got {}",
            mine.len()
        );
        Message::from_vec(&mine[0].1).unwrap()
    }

    /// Upstream queries sent since index `from`, as (server ip, lowercase qname, qtype).
    pub fn traffic(&self, from: usize) -> Vec<(String, String, RecordType)> {
        self.log[from..]
            .iter()
            .map(|s| {
                (
                    s.server.ip().to_string(),
                    s.qname.to_lowercase().to_ascii(),
                    s.qtype,
                )
            })
            .collect()
    }
}

pub fn ips(m: &Message) -> Vec<String> {
    m.answers
        .iter()
        .filter_map(|r| r.data.ip_addr())
        .map(|a| a.to_string())
        .collect()
}

pub fn ede(m: &Message) -> Option<u16> {
    let e = m.edns.as_ref()?;
    match e.option(hickory_proto::rr::rdata::opt::EdnsCode::Unknown(15))? {
        hickory_proto::rr::rdata::opt::EdnsOption::Unknown(_, d) => {
            Some(u16::from_be_bytes([d[0], d[1]]))
        }
        _ => None,
    }
}

//! The policy keys (dnsmasq's names, so a Pi-hole or dnsmasq user knows them):
//! `--dns-block`, `--dns-allow`, `--block-answer`, `--host-record`, `--address`,
//! `--cname`, `--domain`, `--server`, `--stop-dns-rebind`, `--rebind-domain-ok`.
//!
//! Every repeatable key has a cap ([`MAX_BLOCK`] …); the command line's 8191 bytes
//! bound them all anyway. Domains are checked here (letters, digits, `-`, `_`; labels
//! of 1 to 63 bytes; at most 253 characters) and kept lower-cased without the
//! trailing dot.

use alloc::string::String;
use alloc::vec::Vec;
use core::net::{IpAddr, SocketAddr};

use common::defaults;

/// Most `--dns-block` (and, separately, `--dns-allow`) domains.
pub const MAX_BLOCK: usize = 256;
/// Most `--host-record` keys.
pub const MAX_HOST_RECORDS: usize = 64;
/// Most names, and most addresses, in one `--host-record`.
pub const MAX_HOST_ITEMS: usize = 8;
/// Most `--address` keys.
pub const MAX_ADDRESS: usize = 64;
/// Most `--cname` keys.
pub const MAX_CNAME: usize = 64;
/// Most `--server` domains, and most servers for one domain.
pub const MAX_SERVER_DOMAINS: usize = 32;
/// Most servers for one `--server` domain.
pub const MAX_SERVERS_PER_DOMAIN: usize = 4;
/// Most `--rebind-domain-ok` domains.
pub const MAX_REBIND_OK: usize = 64;
/// Most `--local-zone-nodefault` zones (there are about a hundred built-in ones).
pub const MAX_NODEFAULT: usize = 128;
/// Most `--dns-blocklist-url` keys.
pub const MAX_BLOCKLIST_URLS: usize = 16;
/// Longest `--dns-blocklist-url` (the fetcher's own cap on URLs).
pub const MAX_URL_LEN: usize = 2048;
/// Most `--tls-ca` keys.
pub const MAX_TLS_CAS: usize = 4;
/// Default `--blocklist-refresh`, seconds (24 h).
pub const DEFAULT_BLOCKLIST_REFRESH_SECS: u32 = 86_400;
/// Shortest `--blocklist-refresh`, seconds.
pub const MIN_BLOCKLIST_REFRESH_SECS: u32 = 5;
/// Longest `--blocklist-refresh`, seconds (30 days).
pub const MAX_BLOCKLIST_REFRESH_SECS: u32 = 30 * 86_400;
/// Largest `--host-record` TTL (one week).
pub const MAX_LOCAL_TTL: u32 = 604_800;

pub use common::policy::{AddressRule, BlockAnswer, CnameRule, DomainServers, HostRecord};

/// The policy part of the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// `--dns-block` domains.
    pub block: Vec<String>,
    /// `--dns-allow` domains.
    pub allow: Vec<String>,
    /// `--block-answer`.
    pub block_answer: BlockAnswer,
    /// `--host-record`s.
    pub hosts: Vec<HostRecord>,
    /// `--address=/DOMAIN/ADDR`: domain and address (`None`: NXDOMAIN).
    pub addresses: Vec<AddressRule>,
    /// `--cname=ALIAS,TARGET`.
    pub cnames: Vec<CnameRule>,
    /// `--domain`.
    pub domain: String,
    /// `--server=/DOMAIN/IP[#PORT]`, merged per domain in order of appearance.
    pub servers: Vec<DomainServers>,
    /// `--stop-dns-rebind`.
    pub stop_rebind: bool,
    /// `--rebind-domain-ok`.
    pub rebind_ok: Vec<String>,
    /// `--local-zone-nodefault`: built-in locally served zones resolved as usual.
    pub nodefault: Vec<String>,
    /// `--dns-blocklist-url`: `http://` or `https://` URLs, checked by the `url` crate's
    /// WHATWG parser (a host, no credentials), as given.
    pub blocklist_urls: Vec<String>,
    /// `--tls-ca`: extra trust anchors for `https://` lists, each one DER certificate.
    pub tls_cas: Vec<Vec<u8>>,
    /// `--blocklist-refresh`, seconds.
    pub blocklist_refresh_secs: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            block: Vec::new(),
            allow: Vec::new(),
            block_answer: BlockAnswer::NxDomain,
            hosts: Vec::new(),
            addresses: Vec::new(),
            cnames: Vec::new(),
            domain: String::from(defaults::LOCAL_DOMAIN),
            servers: Vec::new(),
            stop_rebind: true,
            rebind_ok: Vec::new(),
            nodefault: Vec::new(),
            blocklist_urls: Vec::new(),
            tls_cas: Vec::new(),
            blocklist_refresh_secs: DEFAULT_BLOCKLIST_REFRESH_SECS,
        }
    }
}

/// Why a policy value was refused: the item and what is wrong with it, or a cap.
#[derive(Debug)]
pub(crate) enum Problem {
    /// `item` is `problem` ("not a domain").
    Bad(String, &'static str),
    /// More than `max` entries.
    TooMany(usize, usize),
    /// An error already in its final form.
    Config(crate::ConfigError),
}

fn bad<T>(item: &str, problem: &'static str) -> Result<T, Problem> {
    Err(Problem::Bad(item.into(), problem))
}

/// `s` as a checked domain: lower case, no trailing dot.
pub(crate) fn domain(s: &str) -> Result<String, Problem> {
    let d = s.strip_suffix('.').unwrap_or(s);
    let ok = !d.is_empty()
        && d.len() <= 253
        && d.split('.').all(|l| {
            (1..=63).contains(&l.len())
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if !ok {
        return bad(s, "not a domain name");
    }
    Ok(d.to_ascii_lowercase())
}

fn push_capped<T>(v: &mut Vec<T>, item: T, max: usize) -> Result<(), Problem> {
    if v.len() >= max {
        return Err(Problem::TooMany(v.len() + 1, max));
    }
    v.push(item);
    Ok(())
}

/// `--dns-block` / `--dns-allow`: one domain.
pub(crate) fn add_domain(v: &mut Vec<String>, s: &str, max: usize) -> Result<(), Problem> {
    let d = domain(s)?;
    push_capped(v, d, max)
}

/// `--block-answer=nxdomain|null`.
pub(crate) fn block_answer(s: &str) -> Result<BlockAnswer, Problem> {
    match s {
        "nxdomain" => Ok(BlockAnswer::NxDomain),
        "null" => Ok(BlockAnswer::Null),
        _ => bad(s, "neither nxdomain nor null"),
    }
}

/// `--host-record=NAME[,NAME…],ADDR[,ADDR…][,TTL]`: names first, then addresses, then
/// an optional TTL; at least one of each of names and addresses.
pub(crate) fn host_record(p: &mut Policy, s: &str) -> Result<(), Problem> {
    let mut names = Vec::new();
    let mut addrs = Vec::new();
    let mut ttl = None;
    for item in s.split(',') {
        if ttl.is_some() {
            return bad(item, "after the TTL, which must come last");
        }
        if let Ok(ip) = item.parse::<IpAddr>() {
            push_capped(&mut addrs, ip, MAX_HOST_ITEMS)?;
        } else if !addrs.is_empty() {
            let t = item
                .parse::<u32>()
                .ok()
                .filter(|t| *t <= MAX_LOCAL_TTL)
                .map_or_else(
                    || bad(item, "neither an address nor a TTL up to 604800"),
                    Ok,
                )?;
            ttl = Some(t);
        } else {
            let d = domain(item)?;
            push_capped(&mut names, d, MAX_HOST_ITEMS)?;
        }
    }
    if names.is_empty() {
        return bad(s, "without a name");
    }
    if addrs.is_empty() {
        return bad(s, "without an address");
    }
    push_capped(
        &mut p.hosts,
        HostRecord { names, addrs, ttl },
        MAX_HOST_RECORDS,
    )
}

/// `/DOMAIN[/DOMAIN…]/REST`: the domains and the rest.
fn slashed(s: &str) -> Result<(Vec<String>, &str), Problem> {
    let Some(body) = s.strip_prefix('/') else {
        return bad(s, "not of the form /DOMAIN/…");
    };
    let Some((doms, rest)) = body.rsplit_once('/') else {
        return bad(s, "not of the form /DOMAIN/…");
    };
    let doms = doms.split('/').map(domain).collect::<Result<Vec<_>, _>>()?;
    Ok((doms, rest))
}

/// `--address=/DOMAIN[/DOMAIN…]/[ADDR]` (no address: NXDOMAIN).
pub(crate) fn address(p: &mut Policy, s: &str) -> Result<(), Problem> {
    let (doms, rest) = slashed(s)?;
    let addr = match rest {
        "" => None,
        a => Some(
            a.parse::<IpAddr>()
                .map_err(|_| Problem::Bad(a.into(), "not an IP address"))?,
        ),
    };
    for d in doms {
        push_capped(
            &mut p.addresses,
            AddressRule { domain: d, addr },
            MAX_ADDRESS,
        )?;
    }
    Ok(())
}

/// `--cname=ALIAS,TARGET`.
pub(crate) fn cname(p: &mut Policy, s: &str) -> Result<(), Problem> {
    let Some((alias, target)) = s.split_once(',') else {
        return bad(s, "not ALIAS,TARGET");
    };
    let (alias, target) = (domain(alias)?, domain(target)?);
    if alias == target {
        return bad(s, "an alias of itself");
    }
    push_capped(&mut p.cnames, CnameRule { alias, target }, MAX_CNAME)
}

/// `--server=/DOMAIN[/DOMAIN…]/IP[#PORT]`.
pub(crate) fn server(p: &mut Policy, s: &str) -> Result<(), Problem> {
    let (doms, rest) = slashed(s)?;
    let (ip, port) = match rest.split_once('#') {
        Some((ip, port)) => {
            let port = port
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .map_or_else(|| bad(port, "not a port from 1 to 65535"), Ok)?;
            (ip, port)
        }
        None => (rest, 53),
    };
    let ip: IpAddr = ip
        .parse()
        .map_err(|_| Problem::Bad(ip.into(), "not an IP address"))?;
    if ip.is_unspecified() || ip.is_multicast() {
        return bad(rest, "not a unicast address");
    }
    let sa = SocketAddr::new(ip, port);
    for d in doms {
        match p.servers.iter_mut().find(|x| x.domain == d) {
            Some(x) if !x.servers.contains(&sa) => {
                push_capped(&mut x.servers, sa, MAX_SERVERS_PER_DOMAIN)?;
            }
            Some(_) => {}
            None => {
                let rule = DomainServers {
                    domain: d,
                    servers: alloc::vec![sa],
                };
                push_capped(&mut p.servers, rule, MAX_SERVER_DOMAINS)?;
            }
        }
    }
    Ok(())
}

/// `--rebind-domain-ok=/DOMAIN[/DOMAIN…]/` (the slashes optional for one domain).
pub(crate) fn rebind_ok(p: &mut Policy, s: &str) -> Result<(), Problem> {
    let doms = if s.starts_with('/') {
        let (doms, rest) = slashed(s)?;
        if !rest.is_empty() {
            return bad(s, "not of the form /DOMAIN/");
        }
        doms
    } else {
        alloc::vec![domain(s)?]
    };
    for d in doms {
        push_capped(&mut p.rebind_ok, d, MAX_REBIND_OK)?;
    }
    Ok(())
}

/// `--local-zone-nodefault=ZONE`: one of the built-in locally served zones, exactly.
pub(crate) fn nodefault(p: &mut Policy, s: &str) -> Result<(), Problem> {
    let d = domain(s)?;
    if !common::defaults::is_local_zone(&d) {
        return bad(s, "not one of the built-in locally served zones");
    }
    if !p.nodefault.contains(&d) {
        push_capped(&mut p.nodefault, d, MAX_NODEFAULT)?;
    }
    Ok(())
}

/// `--dns-blocklist-url=URL`: an absolute `http://` or `https://` URL with a host and
/// without `user:password@` (nothing would send them).
pub(crate) fn blocklist_url(p: &mut Policy, s: &str) -> Result<(), Problem> {
    if s.len() > MAX_URL_LEN {
        return bad(s, "longer than 2048 bytes");
    }
    let Ok(u) = url::Url::parse(s) else {
        return bad(s, "not a URL");
    };
    if !matches!(u.scheme(), "http" | "https") {
        return bad(s, "not an http:// or https:// URL");
    }
    if !u.username().is_empty() || u.password().is_some() {
        return bad(s, "a URL with user:password@, which is not supported");
    }
    if u.host_str().is_none_or(|h| h.is_empty() || h == ".") {
        return bad(s, "a URL without a host");
    }
    if p.blocklist_urls.iter().any(|x| x == s) {
        return bad(s, "given twice");
    }
    push_capped(&mut p.blocklist_urls, String::from(s), MAX_BLOCKLIST_URLS)
}

/// `--tls-ca=BASE64`: one DER certificate in base64 (standard or URL-safe alphabet,
/// padding optional). Only its outer shape is checked here (one DER SEQUENCE filling
/// the bytes); the TLS library decides at boot whether it is a usable trust anchor.
pub(crate) fn tls_ca(p: &mut Policy, s: &str) -> Result<(), Problem> {
    use base64::Engine as _;
    use base64::engine::DecodePaddingMode;
    use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
    let cfg = GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let std = GeneralPurpose::new(&base64::alphabet::STANDARD, cfg);
    let url = GeneralPurpose::new(&base64::alphabet::URL_SAFE, cfg);
    let Ok(der) = std.decode(s).or_else(|_| url.decode(s)) else {
        return bad(s, "not base64");
    };
    if !is_der_sequence(&der) {
        return bad(
            s,
            "not a DER certificate (base64 of a PEM file? decode it first)",
        );
    }
    push_capped(&mut p.tls_cas, der, MAX_TLS_CAS)
}

/// Whether `b` is exactly one DER SEQUENCE (tag 0x30, definite length).
fn is_der_sequence(b: &[u8]) -> bool {
    let (Some(&0x30), Some(&l0)) = (b.first(), b.get(1)) else {
        return false;
    };
    let (len, head) = match l0 {
        0..=0x7f => (usize::from(l0), 2),
        0x81..=0x84 => {
            let n = usize::from(l0 & 0x7f);
            let Some(bytes) = b.get(2..2 + n) else {
                return false;
            };
            (
                bytes.iter().fold(0usize, |a, &x| (a << 8) | usize::from(x)),
                2 + n,
            )
        }
        _ => return false,
    };
    head + len == b.len()
}

/// `--blocklist-refresh=N[s|m|h|d]` (a bare number is seconds), in seconds.
pub(crate) fn refresh(s: &str) -> Result<u32, Problem> {
    let (digits, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], c),
        _ => (s, 's'),
    };
    let mult: u64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return bad(s, "not a duration (a unit other than s, m, h or d)"),
    };
    let ok = !digits.is_empty() && digits.len() <= 9 && digits.bytes().all(|b| b.is_ascii_digit());
    let Some(n) = ok.then(|| digits.parse::<u64>().ok()).flatten() else {
        return bad(s, "not a duration");
    };
    let secs = n.saturating_mul(mult);
    if secs < u64::from(MIN_BLOCKLIST_REFRESH_SECS) || secs > u64::from(MAX_BLOCKLIST_REFRESH_SECS)
    {
        return bad(s, "out of range");
    }
    Ok(secs as u32)
}

/// A number of seconds as the largest whole unit: `24h`, `90s`, `2d`.
pub struct Duration(pub u32);

impl core::fmt::Display for Duration {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let s = self.0;
        match s {
            0 => f.write_str("0s"),
            _ if s.is_multiple_of(86_400) && s > 2 * 86_400 => write!(f, "{}d", s / 86_400),
            _ if s.is_multiple_of(3600) => write!(f, "{}h", s / 3600),
            _ if s.is_multiple_of(60) => write!(f, "{}m", s / 60),
            _ => write!(f, "{s}s"),
        }
    }
}

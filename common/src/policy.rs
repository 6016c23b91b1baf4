//! The policy rules of the boot arguments, as the `config` crate parses them and the
//! engine's policy stage takes them: one definition for both.

use alloc::string::String;
use alloc::vec::Vec;
use core::net::{IpAddr, SocketAddr};

/// What a blocked name is answered (`--block-answer`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BlockAnswer {
    /// NXDOMAIN, with EDE 15 (Blocked) naming the source. The default.
    #[default]
    NxDomain,
    /// A 0.0.0.0 / AAAA ::, NODATA for other types (dnsmasq's and Pi-hole's "null"
    /// blocking: apps fail fast instead of retrying), with the same EDE.
    Null,
}

/// `--host-record=NAME[,NAME…],ADDR[,ADDR…][,TTL]`: names with their addresses; each
/// address also gets a PTR to the first name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostRecord {
    /// The names (a bare host name also answers under the local domain).
    pub names: Vec<String>,
    /// Its addresses, IPv4 and IPv6.
    pub addrs: Vec<IpAddr>,
    /// The TTL of the answers; `None`: the `--local-ttl` default.
    pub ttl: Option<u32>,
}

/// `--address=/DOMAIN/[ADDR]`: the domain and every name below it answer `addr` (an
/// empty address: NXDOMAIN, dnsmasq's way of blocking a domain).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressRule {
    /// The domain.
    pub domain: String,
    /// The address; `None`: NXDOMAIN.
    pub addr: Option<IpAddr>,
}

/// `--cname=ALIAS,TARGET`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CnameRule {
    /// The name answered with the CNAME.
    pub alias: String,
    /// Where it points; its own local data (if any) is added to the answer.
    pub target: String,
}

/// `--server=/DOMAIN/IP[#PORT]`: names at or below `domain` are forwarded (RD=1) to
/// these servers, whatever the global mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainServers {
    /// The domain.
    pub domain: String,
    /// Its servers, tried by smoothed RTT.
    pub servers: Vec<SocketAddr>,
}

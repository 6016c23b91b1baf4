//! Addresses with a prefix length: interface addresses and allow-list networks.

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An IPv4 address with a prefix length (0–32), as in `10.0.0.2/24`.
///
/// The address keeps its host bits: for an interface address they are the host's own
/// address, for a network they are ignored by [`Ipv4Cidr::contains`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Cidr {
    addr: Ipv4Addr,
    prefix: u8,
}

impl Ipv4Cidr {
    /// `addr/prefix`, or `None` if `prefix` is more than 32.
    pub const fn new(addr: Ipv4Addr, prefix: u8) -> Option<Self> {
        if prefix > 32 {
            None
        } else {
            Some(Self { addr, prefix })
        }
    }

    /// The address as given (host bits kept).
    pub const fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// The prefix length, 0–32.
    pub const fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The netmask, e.g. 255.255.255.0 for /24.
    pub const fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from_bits(mask32(self.prefix))
    }

    /// The network address (host bits cleared), e.g. 10.0.0.0 for 10.0.0.2/24.
    pub const fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from_bits(self.addr.to_bits() & mask32(self.prefix))
    }

    /// The directed broadcast address (host bits set), e.g. 10.0.0.255 for 10.0.0.2/24.
    pub const fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from_bits(self.addr.to_bits() | !mask32(self.prefix))
    }

    /// Whether `ip` lies inside this network.
    pub const fn contains(&self, ip: Ipv4Addr) -> bool {
        let m = mask32(self.prefix);
        ip.to_bits() & m == self.addr.to_bits() & m
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// An IPv6 address with a prefix length (0–128), as in `2001:db8::2/64`.
///
/// Like [`Ipv4Cidr`], the host bits are kept as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6Cidr {
    addr: Ipv6Addr,
    prefix: u8,
}

impl Ipv6Cidr {
    /// `addr/prefix`, or `None` if `prefix` is more than 128.
    pub const fn new(addr: Ipv6Addr, prefix: u8) -> Option<Self> {
        if prefix > 128 {
            None
        } else {
            Some(Self { addr, prefix })
        }
    }

    /// The address as given (host bits kept).
    pub const fn addr(&self) -> Ipv6Addr {
        self.addr
    }

    /// The prefix length, 0–128.
    pub const fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The network address (host bits cleared).
    pub const fn network(&self) -> Ipv6Addr {
        Ipv6Addr::from_bits(self.addr.to_bits() & mask128(self.prefix))
    }

    /// Whether `ip` lies inside this network.
    pub const fn contains(&self, ip: Ipv6Addr) -> bool {
        let m = mask128(self.prefix);
        ip.to_bits() & m == self.addr.to_bits() & m
    }
}

impl fmt::Display for Ipv6Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// A network of either family, as used by the client allow list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpCidr {
    addr: IpAddr,
    prefix: u8,
}

impl IpCidr {
    /// `addr/prefix`, or `None` if `prefix` is longer than the family allows (32 or 128).
    pub const fn new(addr: IpAddr, prefix: u8) -> Option<Self> {
        let max = match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        if prefix > max {
            None
        } else {
            Some(Self { addr, prefix })
        }
    }

    /// The address as given (host bits kept).
    pub const fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub const fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` lies inside this network.
    ///
    /// Families are never mixed: an IPv4 network holds IPv4 addresses only. An
    /// IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is an IPv6 address here; on the
    /// wire it is only ever forged (smoltcp has no dual-stack sockets), and matching it
    /// as the IPv4 address it carries let `::ffff:10.0.0.1` pass an IPv4 allow list
    /// (issue 14, item 15). Clients are judged with [`allows`], which also drops such
    /// sources.
    pub const fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let m = mask32(self.prefix);
                ip.to_bits() & m == net.to_bits() & m
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let m = mask128(self.prefix);
                ip.to_bits() & m == net.to_bits() & m
            }
            _ => false,
        }
    }
}

/// Whether a packet from `ip` can have come from the network at all.
///
/// Loopback (127.0.0.0/8, `::1`), unspecified (`0.0.0.0`, `::`), IPv4-mapped
/// (`::ffff:0:0/96`), multicast and the IPv4 limited broadcast never send a packet
/// that arrives on a NIC: they are forged, to get past an allow list that trusts the
/// host itself or to bounce an answer off us. Such packets are dropped without an
/// answer (a REFUSED would go to an address we cannot or must not reach), as Unbound
/// does with its `do-not-query` martians on the client side.
pub const fn is_wire_source(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_loopback() || v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast())
        }
        IpAddr::V6(v6) => {
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || v6.to_ipv4_mapped().is_some())
        }
    }
}

/// Whether a client at `ip`, from the wire, may be answered under `allow`: a source
/// that [can come from the wire](is_wire_source), inside a network of its own family.
/// The engine (for every query) and the netstack (at TCP accept) ask the same.
pub fn allows(allow: &[IpCidr], ip: IpAddr) -> bool {
    is_wire_source(ip) && allow.iter().any(|c| c.contains(ip))
}

impl From<Ipv4Cidr> for IpCidr {
    fn from(c: Ipv4Cidr) -> Self {
        Self {
            addr: IpAddr::V4(c.addr),
            prefix: c.prefix,
        }
    }
}

impl From<Ipv6Cidr> for IpCidr {
    fn from(c: Ipv6Cidr) -> Self {
        Self {
            addr: IpAddr::V6(c.addr),
            prefix: c.prefix,
        }
    }
}

impl fmt::Display for IpCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The client networks that get answers when `--allow` is not given: loopback, the
/// private (RFC 1918), shared (CGNAT, RFC 6598) and link-local IPv4 ranges, and IPv6
/// loopback, link-local and unique-local. Everyone else is REFUSED: never an open
/// resolver. (Loopback sources from the wire are dropped before this list is asked,
/// see [`allows`]; the entries stay for a caller that feeds the engine locally.)
pub const DEFAULT_ALLOW: [IpCidr; 9] = [
    v4cidr([127, 0, 0, 0], 8),
    v4cidr([10, 0, 0, 0], 8),
    v4cidr([172, 16, 0, 0], 12),
    v4cidr([192, 168, 0, 0], 16),
    v4cidr([100, 64, 0, 0], 10),
    v4cidr([169, 254, 0, 0], 16),
    v6cidr(1, 128),                 // ::1
    v6cidr(0xfe80_u128 << 112, 10), // fe80::/10
    v6cidr(0xfc00_u128 << 112, 7),  // fc00::/7
];

const fn v4cidr(a: [u8; 4], prefix: u8) -> IpCidr {
    IpCidr {
        addr: IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3])),
        prefix,
    }
}

const fn v6cidr(bits: u128, prefix: u8) -> IpCidr {
    IpCidr {
        addr: IpAddr::V6(Ipv6Addr::from_bits(bits)),
        prefix,
    }
}

/// The netmask of a /`prefix` IPv4 network; prefixes above 32 count as 32.
const fn mask32(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else if prefix >= 32 {
        u32::MAX
    } else {
        u32::MAX << (32 - prefix)
    }
}

/// The netmask of a /`prefix` IPv6 network; prefixes above 128 count as 128.
const fn mask128(prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else if prefix >= 128 {
        u128::MAX
    } else {
        u128::MAX << (128 - prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_allow_list() {
        let ok = |s: &str| DEFAULT_ALLOW.iter().any(|c| c.contains(ip(s)));
        for yes in [
            "127.0.0.1",
            "10.1.2.3",
            "172.31.255.1",
            "192.168.1.1",
            "100.127.0.1",
            "169.254.3.3",
            "::1",
            "fe80::1",
            "fd00::1",
        ] {
            assert!(ok(yes), "{yes}");
        }
        for no in [
            "172.32.0.1",
            "100.128.0.1",
            "8.8.8.8",
            "2001:db8::1",
            "::2",
            "::ffff:192.168.0.1",
        ] {
            assert!(!ok(no), "{no}");
        }
    }

    fn v4(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }
    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv4_network_math() {
        let c = Ipv4Cidr::new(v4("10.0.0.2"), 24).unwrap();
        assert_eq!(c.network(), v4("10.0.0.0"));
        assert_eq!(c.broadcast(), v4("10.0.0.255"));
        assert_eq!(c.netmask(), v4("255.255.255.0"));
        assert!(c.contains(v4("10.0.0.254")));
        assert!(!c.contains(v4("10.0.1.1")));
        let all = Ipv4Cidr::new(v4("1.2.3.4"), 0).unwrap();
        assert!(all.contains(v4("255.255.255.255")));
        let host = Ipv4Cidr::new(v4("1.2.3.4"), 32).unwrap();
        assert!(host.contains(v4("1.2.3.4")) && !host.contains(v4("1.2.3.5")));
        assert!(Ipv4Cidr::new(v4("1.2.3.4"), 33).is_none());
    }

    #[test]
    fn ip_cidr_contains_both_families_and_mapped() {
        let net = IpCidr::new(ip("192.168.0.0"), 16).unwrap();
        assert!(net.contains(ip("192.168.7.9")));
        assert!(
            !net.contains(ip("::ffff:192.168.7.9")),
            "families never mix"
        );
        assert!(!net.contains(ip("192.169.0.1")));
        assert!(!net.contains(ip("fe80::1")));
        let ula = IpCidr::new(ip("fc00::"), 7).unwrap();
        assert!(ula.contains(ip("fd12:3456::1")));
        assert!(!ula.contains(ip("fe80::1")));
        assert!(!ula.contains(ip("10.0.0.1")));
        assert!(IpCidr::new(ip("::"), 129).is_none());
        assert!(IpCidr::new(ip("0.0.0.0"), 33).is_none());
        assert!(
            IpCidr::new(ip("::"), 0)
                .unwrap()
                .contains(ip("2001:db8::1"))
        );
    }

    #[test]
    fn allows_drops_sources_that_cannot_come_from_the_wire() {
        let all = [
            IpCidr::new(ip("0.0.0.0"), 0).unwrap(),
            IpCidr::new(ip("::"), 0).unwrap(),
        ];
        for martian in [
            "127.0.0.1",
            "127.255.0.9",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.251",
            "::1",
            "::",
            "ff02::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_wire_source(ip(martian)), "{martian}");
            assert!(!allows(&all, ip(martian)), "{martian}");
            assert!(!allows(&DEFAULT_ALLOW, ip(martian)), "{martian}");
        }
        for fine in ["10.0.0.1", "8.8.8.8", "fe80::1", "2001:db8::1", "::2"] {
            assert!(is_wire_source(ip(fine)), "{fine}");
            assert!(allows(&all, ip(fine)), "{fine}");
        }
        let v4only = [IpCidr::new(ip("10.0.0.0"), 8).unwrap()];
        assert!(allows(&v4only, ip("10.1.2.3")));
        assert!(!allows(&v4only, ip("fd00::1")));
        assert!(!allows(&[], ip("10.1.2.3")));
    }

    #[test]
    fn ipv6_network() {
        let c = Ipv6Cidr::new("2001:db8::2".parse().unwrap(), 64).unwrap();
        assert_eq!(c.network(), "2001:db8::".parse::<Ipv6Addr>().unwrap());
        assert!(c.contains("2001:db8::ffff".parse().unwrap()));
        assert!(!c.contains("2001:db9::1".parse().unwrap()));
        assert_eq!(std::format!("{c}"), "2001:db8::2/64");
    }
}

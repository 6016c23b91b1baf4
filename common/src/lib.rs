//! The domain types and defaults that more than one crate speaks about, each defined
//! once: how a message travels ([`Transport`]), networks ([`IpCidr`] and the
//! [`DEFAULT_ALLOW`] list) and the defaults and caps of the boot arguments that the
//! engine and the netstack also know ([`defaults`]). The engine, the netstack and the
//! boot config use these and re-export them; none of them defines its own copy.
//!
//! The policy rules ([`policy`]) are defined here too, so that the boot config and the
//! engine's policy stage share them.
//!
//! `no_std`, no dependencies, only `alloc` (for the policy rules' names and lists): any
//! layer may depend on it.

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod cidr;
pub mod defaults;
pub mod policy;

pub use cidr::{DEFAULT_ALLOW, IpCidr, Ipv4Cidr, Ipv6Cidr, allows, is_wire_source};

/// How a DNS message travels between the resolver and a client or server: one UDP
/// datagram, or a message on a TCP connection (2-byte length framing, done by the
/// netstack).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// A UDP datagram.
    Udp,
    /// A message on a TCP connection. `conn` is the netstack's id of a client
    /// connection (not reused until the counter wraps after 2³² connections); for
    /// upstream traffic, where the netstack owns the connection, it is 0.
    Tcp {
        /// The netstack's connection id.
        conn: u32,
    },
}

impl Transport {
    /// Whether this is TCP.
    #[must_use]
    pub const fn is_tcp(self) -> bool {
        matches!(self, Self::Tcp { .. })
    }
}

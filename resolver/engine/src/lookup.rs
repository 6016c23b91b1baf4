//! The engine's own lookups: names the resolver itself needs (the host of a block list
//! URL), resolved through the same admission, policy, cache, budgets and timeouts as a
//! client's query, so they cannot bypass any of them.
//!
//! ```text
//! let token = engine.lookup(now, "lists.example", LookupType::A)?;
//! … drive the engine as usual …
//! while let Some(r) = engine.poll_lookup() { /* r.token, r.result */ }
//! ```
//!
//! A lookup is a query from [`INTERNAL`], an address no packet from the wire can
//! carry: admission drops every query from it that did not come through
//! [`Engine::lookup`] (the `source` stage drops unspecified sources), so no client can
//! ask in its name or read its answers. Its answers never leave the engine: they are
//! decoded into [`LookupResult`]s. At most [`MAX_LOOKUPS`] are in flight.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::fmt;
use core::net::{IpAddr, Ipv6Addr, SocketAddr};

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};

use crate::engine::Engine;
use crate::io::{Client, Transport};
use crate::time::Instant;

/// Lookups in flight at most.
pub const MAX_LOOKUPS: usize = 16;

/// The client the engine's own lookups come from: `[::]:0` over "TCP" (so no answer is
/// truncated). The wire cannot carry an unspecified source address.
pub(crate) const INTERNAL: Client = Client {
    addr: SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
    transport: Transport::Tcp { conn: u32::MAX },
};

/// The address type looked up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookupType {
    /// IPv4 addresses.
    A,
    /// IPv6 addresses.
    Aaaa,
}

/// Why [`Engine::lookup`] did not start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookupError {
    /// Not a domain name.
    BadName,
    /// [`MAX_LOOKUPS`] are in flight.
    Busy,
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadName => f.write_str("not a domain name"),
            Self::Busy => write!(f, "{MAX_LOOKUPS} lookups in flight already"),
        }
    }
}

/// Why a lookup found no address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookupFailure {
    /// The name does not exist (NXDOMAIN, or blocked by policy).
    NxDomain,
    /// The name exists but has no address of the type asked (NODATA).
    NoData,
    /// Resolution failed (SERVFAIL: timeouts, budgets, a full table), with the EDE code
    /// when the engine gave one.
    Failed(Option<u16>),
}

impl fmt::Display for LookupFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NxDomain => f.write_str("no such name"),
            Self::NoData => f.write_str("no address of that type"),
            Self::Failed(Some(c)) => write!(f, "resolution failed (EDE {c})"),
            Self::Failed(None) => f.write_str("resolution failed"),
        }
    }
}

/// The end of one lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookupResult {
    /// What [`Engine::lookup`] returned.
    pub token: u16,
    /// The addresses found (at the end of any CNAME chain), or why there are none.
    pub result: Result<Vec<IpAddr>, LookupFailure>,
}

/// The lookups in flight and the results not yet polled.
#[derive(Debug, Default)]
pub(crate) struct Lookups {
    /// Tokens in flight (the DNS message ID of each).
    pending: Vec<u16>,
    /// Results for the app, at most one per lookup started.
    done: VecDeque<LookupResult>,
    /// The next token.
    next: u16,
}

impl Lookups {
    /// Takes the answer `payload` to an internal query, if it is one in flight.
    pub(crate) fn answered(&mut self, payload: &[u8]) {
        let Ok(m) = Message::from_vec(payload) else {
            return;
        };
        let Some(i) = self.pending.iter().position(|t| *t == m.id) else {
            return;
        };
        self.pending.swap_remove(i);
        let qtype = m.queries.first().map(Query::query_type);
        let addrs: Vec<IpAddr> = m
            .answers
            .iter()
            .filter_map(|r| match (&r.data, qtype) {
                (RData::A(a), Some(RecordType::A)) => Some(IpAddr::V4(a.0)),
                (RData::AAAA(a), Some(RecordType::AAAA)) => Some(IpAddr::V6(a.0)),
                _ => None,
            })
            .collect();
        let result = match m.response_code {
            ResponseCode::NoError if !addrs.is_empty() => Ok(addrs),
            ResponseCode::NoError => Err(LookupFailure::NoData),
            ResponseCode::NXDomain => Err(LookupFailure::NxDomain),
            _ => Err(LookupFailure::Failed(ede_code(&m))),
        };
        self.done.push_back(LookupResult {
            token: m.id,
            result,
        });
    }
}

/// The INFO-CODE of the Extended DNS Error option of `m`, if any.
fn ede_code(m: &Message) -> Option<u16> {
    use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
    match m.edns.as_ref()?.option(EdnsCode::Unknown(15))? {
        EdnsOption::Unknown(_, d) => Some(u16::from_be_bytes([*d.first()?, *d.get(1)?])),
        _ => None,
    }
}

impl Engine {
    /// Resolve `name`'s addresses for the resolver itself; the answer comes from
    /// [`Engine::poll_lookup`] with the token returned. The query goes through
    /// admission like a client's (policy, cache, coalescing, the client caps and
    /// timeouts), always with RD=1; only the allow list does not apply.
    pub fn lookup(
        &mut self,
        now: Instant,
        name: &str,
        qtype: LookupType,
    ) -> Result<u16, LookupError> {
        if self.lookups.pending.len() >= MAX_LOOKUPS {
            return Err(LookupError::Busy);
        }
        let mut fqdn = Name::from_ascii(name).map_err(|_| LookupError::BadName)?;
        fqdn.set_fqdn(true);
        if fqdn.is_root() {
            return Err(LookupError::BadName);
        }
        let token = loop {
            let t = self.lookups.next;
            self.lookups.next = t.wrapping_add(1);
            if !self.lookups.pending.contains(&t) {
                break t;
            }
        };
        let rtype = match qtype {
            LookupType::A => RecordType::A,
            LookupType::Aaaa => RecordType::AAAA,
        };
        let mut m = Message::new(token, MessageType::Query, OpCode::Query);
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(fqdn, rtype));
        let mut e = Edns::new();
        e.set_max_payload(4096);
        m.set_edns(e);
        let bytes = m.to_vec().map_err(|_| LookupError::BadName)?;
        self.lookups.pending.push(token);
        self.admit_internal(now, &bytes);
        Ok(token)
    }

    /// The next finished lookup, if any. Call after every `handle_*` call, as
    /// [`Engine::poll_transmit`].
    #[must_use]
    pub fn poll_lookup(&mut self) -> Option<LookupResult> {
        self.lookups.done.pop_front()
    }

    /// Lookups started and not yet answered.
    #[must_use]
    pub fn lookups_in_flight(&self) -> usize {
        self.lookups.pending.len()
    }
}

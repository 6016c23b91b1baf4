//! What the engine remembers about each upstream server: smoothed RTT, what it cannot
//! do (EDNS, 0x20), and how many queries it has outstanding. An LRU of at most
//! `Limits::max_server_entries` servers, its hasher keyed from the seed.

use core::net::SocketAddr;
use core::num::NonZeroUsize;
use core::time::Duration;

use chacha20::ChaCha20Rng;
use lru::LruCache;
use rand_core::Rng;

use crate::cache::KeyedHasher;
use crate::config::Limits;

/// One server's record.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ServerInfo {
    /// Smoothed round-trip time (EWMA, 1/8), doubled per timeout.
    pub(crate) srtt: Duration,
    /// RTT samples taken (a timeout counts as one, so its penalty sticks).
    pub(crate) samples: u32,
    /// The server rejected EDNS (FORMERR/NOTIMP): ask it without OPT.
    pub(crate) no_edns: bool,
    /// The server does not echo the question's letter case: no 0x20 for it.
    pub(crate) no_0x20: bool,
    /// Responses whose question differed only in case (two make `no_0x20`).
    pub(crate) case_mismatches: u8,
    /// Queries outstanding to it now.
    pub(crate) in_flight: u16,
}

/// What [`Servers::pick`] found for a resolution's next query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pick {
    /// Send to this server.
    Send(SocketAddr),
    /// Every server left to try is at its in-flight cap; this is the best of them.
    Wait(SocketAddr),
    /// No server with a known address is left to try.
    None,
}

/// The server table.
pub(crate) struct Servers {
    /// Records by address, least recently used dropped first.
    table: LruCache<SocketAddr, ServerInfo, KeyedHasher>,
}

impl Servers {
    /// An empty table of at most `cap` servers.
    pub(crate) fn new(cap: usize, hasher: KeyedHasher) -> Self {
        let cap = NonZeroUsize::new(cap.max(1)).unwrap_or(NonZeroUsize::MIN);
        Self {
            table: LruCache::with_hasher(cap, hasher),
        }
    }

    /// The record of `s`, created if unknown: a new server starts with a small random
    /// SRTT so that it gets explored (and so that the choice among equals is not
    /// predictable).
    pub(crate) fn info(&mut self, rng: &mut ChaCha20Rng, s: SocketAddr) -> ServerInfo {
        if let Some(i) = self.table.get(&s) {
            return *i;
        }
        let jitter = u64::from(rng.next_u32() % 5_000_000);
        let info = ServerInfo {
            srtt: Duration::from_nanos(jitter),
            samples: 0,
            no_edns: false,
            no_0x20: false,
            case_mismatches: 0,
            in_flight: 0,
        };
        self.table.put(s, info);
        info
    }

    /// The record of `s`, if known, recency unchanged.
    pub(crate) fn peek(&self, s: &SocketAddr) -> Option<&ServerInfo> {
        self.table.peek(s)
    }

    /// The best of `candidates` (address, tries by this resolution) to ask next: fewest
    /// tries (at most 1), then lowest SRTT, among those below `cap` queries in flight;
    /// or, if all are at the cap, the best of those to wait for.
    pub(crate) fn pick(
        &mut self,
        rng: &mut ChaCha20Rng,
        candidates: impl IntoIterator<Item = (SocketAddr, u8)>,
        cap: u16,
    ) -> Pick {
        let mut best: Option<(u8, Duration, SocketAddr)> = None;
        let mut busy: Option<(u8, Duration, SocketAddr)> = None;
        for (a, tries) in candidates {
            if tries >= 2 {
                continue;
            }
            let info = self.info(rng, a);
            let cand = (tries, info.srtt, a);
            let slot = if info.in_flight >= cap {
                &mut busy
            } else {
                &mut best
            };
            if slot.is_none_or(|b| (cand.0, cand.1) < (b.0, b.1)) {
                *slot = Some(cand);
            }
        }
        match (best, busy) {
            (Some(b), _) => Pick::Send(b.2),
            (None, Some(b)) => Pick::Wait(b.2),
            (None, None) => Pick::None,
        }
    }

    /// The upstream timeout for a server: `initial_rto` without samples, else 3 × SRTT
    /// within `min_rto..=max_rto`.
    pub(crate) fn rto(info: &ServerInfo, l: &Limits) -> Duration {
        if info.samples == 0 {
            l.initial_rto
        } else {
            (info.srtt * 3).clamp(l.min_rto, l.max_rto.max(l.min_rto))
        }
    }

    /// An answer came after `rtt`.
    pub(crate) fn sample(&mut self, s: &SocketAddr, rtt: Duration) {
        if let Some(i) = self.table.get_mut(s) {
            i.srtt = if i.samples == 0 {
                rtt
            } else {
                (i.srtt * 7 + rtt) / 8
            };
            i.samples = i.samples.saturating_add(1);
        }
    }

    /// A query timed out (or failed): double the SRTT within the RTO bounds.
    pub(crate) fn penalize(&mut self, s: &SocketAddr, l: &Limits) {
        if let Some(i) = self.table.get_mut(s) {
            i.srtt = (i.srtt.max(l.min_rto) * 2).min(l.max_rto);
            i.samples = i.samples.max(1);
        }
    }

    /// A query to `s` went out (`+1`) or ended (`-1`).
    pub(crate) fn adjust_in_flight(&mut self, s: &SocketAddr, up: bool) {
        if let Some(i) = self.table.get_mut(s) {
            i.in_flight = if up {
                i.in_flight.saturating_add(1)
            } else {
                i.in_flight.saturating_sub(1)
            };
        }
    }

    /// A response from `s` differed from the question only in letter case. True at
    /// the second time: 0x20 is then off for the server, and the query should be
    /// asked again at once.
    pub(crate) fn case_mismatch(&mut self, s: &SocketAddr) -> bool {
        let Some(i) = self.table.get_mut(s) else {
            return false;
        };
        i.case_mismatches = i.case_mismatches.saturating_add(1);
        if i.case_mismatches >= 2 {
            i.no_0x20 = true;
            return true;
        }
        false
    }

    /// `s` rejected EDNS.
    pub(crate) fn set_no_edns(&mut self, s: &SocketAddr) {
        if let Some(i) = self.table.get_mut(s) {
            i.no_edns = true;
        }
    }
}

//! The record cache: a pure module that takes `now`.
//!
//! Entries are whole RRsets (or negative answers carrying their SOA, RFC 2308) keyed by
//! owner name (case-insensitive) and type. Each carries a credibility rank (RFC 2181
//! §5.4.1) so that glue never overwrites an authoritative answer, and an absolute expiry
//! so that TTLs count down. The cache has a byte cap enforced by evicting the least
//! recently used entries; the LRU's hasher is keyed from the engine's seed because the
//! keys are chosen by whoever sends us queries.

//!
//! | file | what it owns |
//! |---|---|
//! | `mod.rs` | [`Cache`]: ranks, TTL clamps, negative entries, serve-stale, lookups |
//! | `key.rs` | keys (lower-cased wire names + kind), built on the stack; the seeded hasher |
//! | `wire.rs` | the pre-encoded records the fast path copies out |
//! | `store.rs` | the eviction policy: the byte cap and LRU order |
//! | `tests.rs` | unit and property tests |

use alloc::vec::Vec;
use core::hash::BuildHasher;
use core::time::Duration;

use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::BinEncodable;

use crate::time::Instant;

mod key;
mod store;
#[cfg(test)]
mod tests;
mod wire;

use key::Kind;
pub(crate) use key::{KeyBuf, MAX_NAME, name_len};
pub use key::{KeyedHasher, hash_one};
use store::Store;
pub(crate) use wire::{Probe, TAIL_TTL, Wire, WireHit, WireKind};

/// Credibility of cached data, lowest first (RFC 2181 §5.4.1, simplified).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rank {
    /// Addresses from the additional section (glue): used to reach servers only.
    Glue,
    /// NS records from a referral's authority section.
    Referral,
    /// Answers from a non-authoritative source (a forwarder).
    NonAuthAnswer,
    /// Authority-section data from an authoritative answer (e.g. the SOA of a NODATA).
    AuthAuthority,
    /// Answer-section data from an authoritative server.
    AuthAnswer,
}

/// What a cache entry says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Data {
    /// An RRset (all records share owner and type; CNAME sets have one record).
    Records(Vec<Record>),
    /// The name exists but has no records of this type. Carries the zone's SOA.
    NoData(Option<Record>),
    /// The name does not exist (any type). Carries the zone's SOA.
    NxDomain(Option<Record>),
}
/// One cached RRset or negative answer.
#[derive(Clone, Debug)]
struct Entry {
    /// What the entry says, TTLs as received (they are rewritten on the way out).
    data: Data,
    /// The same records pre-encoded, when they could be (see `Wire::encode`).
    wire: Option<Wire>,
    /// The credibility of the source.
    rank: Rank,
    /// When it was stored (the newer of a typed and an NXDOMAIN entry wins).
    inserted: Instant,
    /// When it stops being fresh.
    expires: Instant,
    /// The clamped TTL it was stored with.
    ttl: u32,
    /// What it is charged against the byte cap.
    bytes: usize,
}

/// A successful lookup: the data with TTLs counted down to what remains.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// The data, TTLs set to the remaining lifetime (or the stale TTL).
    pub data: Data,
    /// Remaining seconds (0 when stale).
    pub remaining: u32,
    /// The (clamped) TTL the entry was stored with.
    pub original_ttl: u32,
    /// Whether the entry has expired and is served under RFC 8767.
    pub stale: bool,
    /// The entry's rank.
    pub rank: Rank,
}
/// TTL given to stale answers (RFC 8767 §4 recommends 30 s).
pub const STALE_TTL: u32 = 30;
/// Bookkeeping overhead charged per entry on top of the records' wire size.
pub const ENTRY_OVERHEAD: usize = 96;

/// TTL clamps and the stale window.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// Lower clamp for positive TTLs.
    pub min_ttl: u32,
    /// Upper clamp for positive TTLs.
    pub max_ttl: u32,
    /// Upper clamp for negative TTLs.
    pub max_negative_ttl: u32,
    /// How long expired entries are kept for serve-stale; `None`: dropped at expiry.
    pub stale_window: Option<Duration>,
}

/// The cache. `S` is the hasher of the LRU table.
pub struct Cache<S: BuildHasher> {
    /// The entries under the byte cap (the eviction policy).
    store: Store<S>,
    /// TTL clamps and the stale window.
    policy: Policy,
}

/// Whole seconds, saturating.
fn secs(d: Duration) -> u32 {
    u32::try_from(d.as_secs()).unwrap_or(u32::MAX)
}

impl Policy {
    /// The policy for a config's clamps.
    #[must_use]
    pub fn new(min: Duration, max: Duration, neg_max: Duration, stale: Option<Duration>) -> Self {
        Self {
            min_ttl: secs(min),
            max_ttl: secs(max),
            max_negative_ttl: secs(neg_max),
            stale_window: stale,
        }
    }
}

/// A record's uncompressed wire size.
fn record_bytes(r: &Record) -> usize {
    // The wire size (uncompressed); fall back to a generous guess if it fails to encode.
    r.to_bytes().map_or(512, |b| b.len())
}

/// The records an entry holds (the SOA for negative ones).
fn data_records(d: &Data) -> &[Record] {
    match d {
        Data::Records(v) => v,
        Data::NoData(s) | Data::NxDomain(s) => s.as_slice(),
    }
}

/// What an entry is charged against the byte cap: the records' wire size (for the
/// decoded copy), the pre-encoded copy, the key and a fixed overhead.
fn entry_bytes(d: &Data, wire: Option<&Wire>, key_len: usize) -> usize {
    let recs = match wire {
        Some(w) => w.records_len() + w.len(),
        None => data_records(d).iter().map(record_bytes).sum(),
    };
    recs + key_len + ENTRY_OVERHEAD
}

/// The negative TTL of RFC 2308 §5: min(SOA TTL, SOA MINIMUM).
#[must_use]
pub fn negative_ttl(soa: Option<&Record>) -> u32 {
    match soa {
        Some(r) => match &r.data {
            RData::SOA(s) => r.ttl.min(s.minimum),
            _ => 0,
        },
        None => 0,
    }
}

/// Set every record's TTL in `d`.
fn set_ttl(d: &mut Data, ttl: u32) {
    match d {
        Data::Records(v) => v.iter_mut().for_each(|r| r.ttl = ttl),
        Data::NoData(s) | Data::NxDomain(s) => {
            if let Some(r) = s {
                r.ttl = ttl;
            }
        }
    }
}

impl<S: BuildHasher> Cache<S> {
    /// An empty cache holding at most `cap_bytes`.
    pub fn new(cap_bytes: usize, policy: Policy, hasher: S) -> Self {
        Self {
            store: Store::new(cap_bytes, hasher),
            policy,
        }
    }

    /// Bytes accounted.
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.store.bytes()
    }

    /// Number of entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether the cache holds nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.store.len() == 0
    }

    /// Entries evicted so far for the byte cap.
    #[must_use]
    pub fn evictions(&self) -> u64 {
        self.store.evictions()
    }

    /// Store an RRset (owner `name`, type `rtype`). Its TTL is the smallest of the records',
    /// clamped. An entry of higher rank that is still fresh is kept instead.
    pub fn insert_rrset(
        &mut self,
        now: Instant,
        name: &Name,
        rtype: RecordType,
        records: Vec<Record>,
        rank: Rank,
    ) {
        if records.is_empty() {
            return;
        }
        let ttl = records.iter().map(|r| r.ttl).min().unwrap_or(0);
        let ttl = ttl.clamp(
            self.policy.min_ttl,
            self.policy.max_ttl.max(self.policy.min_ttl),
        );
        self.insert(
            now,
            name,
            Kind::Type(rtype),
            Data::Records(records),
            rank,
            ttl,
        );
    }

    /// Store a negative answer (RFC 2308): `rtype` `None` means NXDOMAIN for the name.
    pub fn insert_negative(
        &mut self,
        now: Instant,
        name: &Name,
        rtype: Option<RecordType>,
        soa: Option<Record>,
        rank: Rank,
    ) {
        let ttl = negative_ttl(soa.as_ref()).min(self.policy.max_negative_ttl);
        if ttl == 0 {
            return;
        }
        let (kind, data) = match rtype {
            Some(t) => (Kind::Type(t), Data::NoData(soa)),
            None => (Kind::NxDomain, Data::NxDomain(soa)),
        };
        self.insert(now, name, kind, data, rank, ttl);
    }

    /// Whether `e` has not expired.
    fn is_fresh(e: &Entry, now: Instant) -> bool {
        now < e.expires
    }

    /// Store `data` under `name`/`kind` unless a fresher entry of higher rank is there.
    fn insert(&mut self, now: Instant, name: &Name, kind: Kind, data: Data, rank: Rank, ttl: u32) {
        if ttl == 0 {
            return;
        }
        let Some(mut kb) = KeyBuf::from_name(name) else {
            return;
        };
        let key = kb.with(kind);
        if let Some(old) = self.store.peek(key)
            && old.rank > rank
            && Self::is_fresh(old, now)
        {
            return;
        }
        let wire = Wire::encode(data_records(&data));
        let bytes = entry_bytes(&data, wire.as_ref(), key.len());
        if bytes > self.store.cap_bytes() {
            return;
        }
        let entry = Entry {
            data,
            wire,
            rank,
            inserted: now,
            expires: now.saturating_add(Duration::from_secs(u64::from(ttl))),
            ttl,
            bytes,
        };
        self.store.put(key, entry);
    }

    /// Find data for `name`/`rtype` of at least `min_rank`. NXDOMAIN entries for the name
    /// answer every type (the newer of a type entry and an NXDOMAIN entry wins). Expired
    /// entries are returned only if `allow_stale` and within the stale window.
    ///
    /// Each probe hashes its key once: an entry found is marked recently used even when
    /// it turns out too low in rank, or stale when stale data is not wanted (the `lru`
    /// crate promotes on the lookup itself; peeking first cost a second hash per hit).
    pub fn lookup(
        &mut self,
        now: Instant,
        name: &Name,
        rtype: RecordType,
        min_rank: Rank,
        allow_stale: bool,
    ) -> Option<Hit> {
        let mut kb = KeyBuf::from_name(name)?;
        let typed = self.get(now, kb.with(Kind::Type(rtype)), min_rank, allow_stale);
        let nx = self.get(now, kb.with(Kind::NxDomain), min_rank, allow_stale);
        let (entry_hit, _) = match (typed, nx) {
            (Some(a), Some(b)) => {
                if b.1 > a.1 {
                    (b.0, b.1)
                } else {
                    (a.0, a.1)
                }
            }
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => return None,
        };
        Some(entry_hit)
    }

    /// Seconds until `e` expires.
    fn remaining(e: &Entry, now: Instant) -> u32 {
        let left = e.expires.saturating_duration_since(now);
        u32::try_from(left.as_secs()).unwrap_or(u32::MAX)
    }

    /// One probe of the table (see `lookup`), with the entry's insertion time.
    fn get(
        &mut self,
        now: Instant,
        key: &[u8],
        min_rank: Rank,
        allow_stale: bool,
    ) -> Option<(Hit, Instant)> {
        let window = self.policy.stale_window;
        {
            let e = self.store.get(key)?;
            if e.rank < min_rank {
                return None;
            }
            let fresh = Self::is_fresh(e, now);
            let keep = fresh || window.is_some_and(|w| now < e.expires.saturating_add(w));
            if keep {
                if !fresh && !allow_stale {
                    return None;
                }
                let remaining = if fresh { Self::remaining(e, now) } else { 0 };
                let mut data = e.data.clone();
                set_ttl(&mut data, if fresh { remaining } else { STALE_TTL });
                return Some((
                    Hit {
                        data,
                        remaining,
                        original_ttl: e.ttl,
                        stale: !fresh,
                        rank: e.rank,
                    },
                    e.inserted,
                ));
            }
        }
        // Past the stale window: drop it.
        self.store.remove(key);
        None
    }

    /// [`Cache::lookup`] for the fast answer path, fresh data only and borrowed: the
    /// pre-encoded records instead of a clone. Decides exactly as `lookup(now, name,
    /// rtype, min_rank, false)` would and touches the same entries, or declines (an
    /// entry expired past the stale window, which `lookup` would drop; an entry without
    /// a pre-encoded form). `key` holds the name.
    pub(crate) fn lookup_wire(
        &mut self,
        now: Instant,
        key: &mut KeyBuf,
        rtype: RecordType,
        min_rank: Rank,
    ) -> Probe<'_> {
        // The NXDOMAIN entry first, by peeking: there rarely is one, and then the typed
        // entry's single `get` (which promotes it) can hand out its reference.
        let w = self.policy.stale_window;
        let nx = match self.store.peek(key.with(Kind::NxDomain)) {
            None => None,
            Some(e) => match Self::usable(e, now, min_rank, w) {
                None => return Probe::Decline,
                Some(ok) => Some(ok.then_some(e.inserted)),
            },
        };
        let Some(nx) = nx else {
            return match self.store.get(key.with(Kind::Type(rtype))) {
                None => Probe::Miss,
                Some(e) => match Self::usable(e, now, min_rank, w) {
                    None => Probe::Decline,
                    Some(false) => Probe::Miss,
                    Some(true) => Self::wire_hit(e, now),
                },
            };
        };
        // Both may be cached: promote in `lookup`'s order, then borrow the newer.
        let typed = match self.store.get(key.with(Kind::Type(rtype))) {
            None => None,
            Some(e) => match Self::usable(e, now, min_rank, w) {
                None => return Probe::Decline,
                Some(ok) => ok.then_some(e.inserted),
            },
        };
        let _ = self.store.get(key.with(Kind::NxDomain));
        let winner = match (typed, nx) {
            (None, None) => return Probe::Miss,
            (Some(t), Some(n)) if n > t => Kind::NxDomain,
            (Some(_), _) => Kind::Type(rtype),
            (None, Some(_)) => Kind::NxDomain,
        };
        match self.store.peek(key.with(winner)) {
            Some(e) => Self::wire_hit(e, now),
            None => Probe::Decline,
        }
    }

    /// What `get(.., allow_stale: false)` makes of an entry: `Some(true)` a hit,
    /// `Some(false)` passed over unchanged (rank too low, or stale), `None` dropped
    /// (expired past the stale window), which only the full path does.
    fn usable(e: &Entry, now: Instant, min_rank: Rank, window: Option<Duration>) -> Option<bool> {
        if e.rank < min_rank {
            return Some(false);
        }
        if Self::is_fresh(e, now) {
            return Some(true);
        }
        window
            .is_some_and(|w| now < e.expires.saturating_add(w))
            .then_some(false)
    }

    /// A fresh entry as the fast path sees it; declined without a pre-encoded form.
    fn wire_hit(e: &Entry, now: Instant) -> Probe<'_> {
        let Some(wire) = e.wire.as_ref() else {
            return Probe::Decline;
        };
        let kind = match e.data {
            Data::Records(_) => WireKind::Records,
            Data::NoData(_) => WireKind::NoData,
            Data::NxDomain(_) => WireKind::NxDomain,
        };
        Probe::Hit(WireHit {
            kind,
            wire,
            remaining: Self::remaining(e, now),
            original_ttl: e.ttl,
        })
    }

    /// Addresses (A, and AAAA if `v6`) known for `name`, of any rank, fresh only.
    pub fn addresses(&mut self, now: Instant, name: &Name, v6: bool) -> Vec<core::net::IpAddr> {
        let mut out = Vec::new();
        let types: &[RecordType] = if v6 {
            &[RecordType::A, RecordType::AAAA]
        } else {
            &[RecordType::A]
        };
        for t in types {
            if let Some(Hit {
                data: Data::Records(v),
                ..
            }) = self.lookup(now, name, *t, Rank::Glue, false)
            {
                out.extend(v.iter().filter_map(|r| r.data.ip_addr()));
            }
        }
        out
    }

    /// Remove everything (used by tests and by an operator flush).
    pub fn clear(&mut self) {
        self.store.clear();
    }

    /// Check internal accounting (tests): the byte counter equals the sum of entries and
    /// respects the cap.
    #[must_use]
    pub fn check_invariants(&self) -> bool {
        self.store.check_invariants()
    }
}

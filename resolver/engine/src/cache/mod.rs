//! The record cache: a pure module that takes `now`.
//!
//! Entries are whole RRsets (or negative answers carrying their SOA, RFC 2308) keyed by
//! owner name (case-insensitive) and type. Each carries a credibility rank (RFC 2181
//! §5.4.1) so that glue never overwrites an authoritative answer, and an absolute expiry
//! so that TTLs count down. The cache has a byte cap enforced by evicting entries in
//! CLOCK (second chance) order: those not used since the hand last passed go first. Its
//! table's hasher is keyed from the engine's seed because the keys are chosen by
//! whoever sends us queries.

//!
//! | file | what it owns |
//! |---|---|
//! | `mod.rs` | [`Cache`]: ranks, TTL clamps, negative entries, serve-stale, lookups |
//! | `key.rs` | keys (lower-cased wire names + kind), built on the stack; the seeded hasher |
//! | `wire.rs` | the pre-encoded records the fast path copies out |
//! | `store.rs` | the eviction policy: the byte cap and CLOCK order |
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

use alloc::boxed::Box;
use alloc::vec;

use key::Kind;
pub(crate) use key::{KeyBuf, MAX_NAME, name_len};
pub use key::{KeyedHasher, hash_one};
use store::{Slot, Store};
use wire::Encoded;
pub use wire::is_dnssec_type;
pub(crate) use wire::{FullRr, Probe, TAIL_TTL, Wire, WireHit, WireKind};

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

/// What DNSSEC validation concluded about an entry (issue 17). Bogus data is never
/// cached as data (the failure table keeps its SERVFAIL briefly, RFC 9520).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Security {
    /// Not validated: no trust anchor covers it, validation is off, or it is not data
    /// a client is answered with (glue, referral NS and DS sets).
    #[default]
    Unchecked,
    /// Under a trust anchor but proven unsigned (no DS at a cut), a negative trust
    /// anchor, an unsupported algorithm, or an unset wall clock.
    Insecure,
    /// Verified from a trust anchor down: answered with AD to clients that set DO or AD.
    Secure,
}

/// The records an entry carries beside its [`Data`], stored and evicted with it, so
/// that a client that set DO (RFC 4035 §3.2.1) gets what a validating stub needs, and
/// a DNAME's synthesized CNAME keeps its DNAME. Nothing here is checked: the records
/// are passed through as the zone's servers sent them (scrubbed to their bailiwick).
///
/// DNSSEC validation (issue 17) hangs its verdict on the entry these belong to: a
/// per-entry state (unchecked, secure, insecure, bogus) goes in the cache entry beside
/// `rank` (the bucket's cache line has room for it), so the fast path can set AD or
/// decline without reading further; the validator reads `sigs` and `proof` from here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attached {
    /// RRSIGs over the entry's records (for a negative entry, over its SOA).
    pub sigs: Vec<Record>,
    /// Records of another owner written before the entry's in the answer section: the
    /// DNAME (and its RRSIGs) a CNAME was synthesized from (RFC 6672).
    pub lead: Vec<Record>,
    /// A negative entry's denial: NSEC/NSEC3 records and their RRSIGs, written after
    /// the SOA in the authority section.
    pub proof: Vec<Record>,
    /// The validation state of the entry (copied into the entry's hot part, so the
    /// fast path can decline secure entries for clients that want AD).
    pub security: Security,
    /// Why an insecure entry is insecure, when an EDE says it (27: NSEC3 iterations
    /// above the cap, 1/2: unsupported algorithm or digest): its answers from the
    /// cache carry it as the first answer did.
    pub(crate) insecure_ede: Option<crate::ede::Ede>,
}

impl Attached {
    /// Whether it holds nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.sigs.is_empty() && self.lead.is_empty() && self.proof.is_empty()
    }

    /// Every record: the RRSIGs, the lead, the proof.
    pub fn iter(&self) -> impl Iterator<Item = &Record> {
        self.sigs.iter().chain(&self.lead).chain(&self.proof)
    }

    /// Every record, to change.
    fn iter_mut(&mut self) -> impl Iterator<Item = &mut Record> {
        self.sigs
            .iter_mut()
            .chain(&mut self.lead)
            .chain(&mut self.proof)
    }
}

/// One cached RRset or negative answer.
///
/// What a hit on the fast path reads is here, 56 bytes that the store keeps in its
/// table's bucket (one cache line), and in `blob`: the key and the pre-encoded records
/// (with their attachments, [`Attached`]) in one allocation. What only the full path,
/// eviction and ties read is boxed apart. Three bytes of the 56 are free: the place of
/// a validation state (issue 17, see [`Attached`]).
#[derive(Debug)]
struct Entry {
    /// The key (`key_len` bytes), then the records pre-encoded if `wire` is some.
    blob: Box<[u8]>,
    /// The decoded data, the insertion time and the byte charge.
    cold: Box<Cold>,
    /// When it stops being fresh.
    expires: Instant,
    /// For data of a type: the generation of its name's NXDOMAIN slot
    /// ([`Cache::nx_gens`]) when no NXDOMAIN entry for the name was found; while the
    /// slot is still at that generation, none can have been stored since, and a lookup
    /// skips the probe for one. 0 (no generation): not known.
    nx_clear: u64,
    /// The clamped TTL it was stored with.
    ttl: u32,
    /// Length of the key at the start of `blob`.
    key_len: u16,
    /// Length of the pre-encoded owner name (see [`Wire`]; at most 255).
    owner_len: u8,
    /// Number of pre-encoded records.
    count: u16,
    /// Bytes of the pre-encoded owner and records; the attachments follow.
    data_len: u16,
    /// The credibility of the source.
    rank: Rank,
    /// What the pre-encoded records are, when the records could be pre-encoded (see
    /// [`Encoded::new`]); `None`: the fast path declines the entry.
    wire: Option<WireKind>,
    /// Whether the entry was validated secure (one of the three free bytes).
    secure: bool,
}

/// The part of an [`Entry`] a fast hit does not read.
#[derive(Debug)]
struct Cold {
    /// What the entry says, TTLs as received (they are rewritten on the way out).
    data: Data,
    /// The records it carries beside its data.
    attached: Attached,
    /// When it was stored (the newer of a typed and an NXDOMAIN entry wins).
    inserted: Instant,
    /// What it is charged against the byte cap.
    bytes: usize,
}

impl Entry {
    /// The key it is stored under.
    fn key(&self) -> &[u8] {
        self.blob
            .get(..usize::from(self.key_len))
            .unwrap_or_default()
    }

    /// Its pre-encoded records, if it has them.
    fn wire(&self) -> Option<(WireKind, Wire<'_>)> {
        let bytes = self.blob.get(usize::from(self.key_len)..)?;
        let owner_len = u16::from(self.owner_len);
        Some((
            self.wire?,
            Wire::new(bytes, owner_len, self.count, self.data_len),
        ))
    }

    /// What it is charged against the byte cap.
    fn bytes(&self) -> usize {
        self.cold.bytes
    }

    /// When it was stored.
    fn inserted(&self) -> Instant {
        self.cold.inserted
    }
}

/// A successful lookup: the data with TTLs counted down to what remains.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// The data, TTLs set to the remaining lifetime (or the stale TTL).
    pub data: Data,
    /// The records it carries beside the data, TTLs likewise.
    pub attached: Attached,
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

/// What a lookup makes of one entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Judged {
    /// A hit, with the entry's insertion time (the newer of two hits wins).
    Hit(Instant),
    /// No entry, or one passed over (too low in rank; stale when that is not wanted).
    Pass,
    /// An entry expired past the stale window: the lookup drops it.
    Drop,
}

/// Slots of [`Cache::nx_gens`] (a power of two): 32 KiB of generations.
const NX_SLOTS: usize = 4096;

/// The cache. `S` is the hasher of its table.
pub struct Cache<S: BuildHasher> {
    /// The entries under the byte cap (the eviction policy).
    store: Store<S>,
    /// TTL clamps and the stale window.
    policy: Policy,
    /// NXDOMAIN generations: a name's slot (by its keyed hash) counts up, from 1,
    /// whenever an NXDOMAIN entry is stored for a name in that slot. A lookup for data
    /// of a type must also look for an NXDOMAIN entry at the name (the newer of the
    /// two wins); the typed entry remembers the generation at which there was none
    /// (`Entry::nx_clear`), so while the slot stays there the one probe for the typed
    /// entry answers the question. Generations are 64-bit and never wrap.
    nx_gens: Box<[u64]>,
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
fn entry_bytes(d: &Data, attached: &Attached, wire: Option<Wire<'_>>, key_len: usize) -> usize {
    let recs = match wire {
        Some(w) => w.records_len() + w.len(),
        None => data_records(d)
            .iter()
            .chain(attached.iter())
            .map(record_bytes)
            .sum(),
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

/// Set every record's TTL in `d` and `attached`.
fn set_ttl(d: &mut Data, attached: &mut Attached, ttl: u32) {
    attached.iter_mut().for_each(|r| r.ttl = ttl);
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
            nx_gens: vec![1; NX_SLOTS].into_boxed_slice(),
        }
    }

    /// The NXDOMAIN slot of the name in `key`.
    fn nx_slot(&self, key: &KeyBuf) -> usize {
        // Truncating the hash is the point: its low bits pick the slot.
        #[allow(clippy::cast_possible_truncation)]
        let h = self.store.hash(key.name()) as usize;
        h & (NX_SLOTS - 1)
    }

    /// The current generation of the NXDOMAIN slot of the name in `key`.
    fn nx_gen(&self, key: &KeyBuf) -> Option<u64> {
        self.nx_gens.get(self.nx_slot(key)).copied()
    }

    /// The entries a lookup of `rtype` at the name in `key` weighs: the typed entry
    /// and the NXDOMAIN entry, use unchanged. One probe when the typed entry knows that
    /// no NXDOMAIN entry is cached at its name; otherwise two, and a typed entry found
    /// without an NXDOMAIN entry learns so.
    fn probe(&mut self, key: &mut KeyBuf, rtype: RecordType) -> (Option<Slot>, Option<Slot>) {
        let generation = self.nx_gen(key);
        let typed = self.store.find(key.with(Kind::Type(rtype)));
        if let (Some(t), Some(g)) = (typed, generation)
            && self.store.at(t).is_some_and(|e| e.nx_clear == g)
        {
            return (typed, None);
        }
        let nx = self.store.find(key.with(Kind::NxDomain));
        if nx.is_none()
            && let (Some(t), Some(g)) = (typed, generation)
            && let Some(e) = self.store.at_mut(t)
        {
            e.nx_clear = g;
        }
        (typed, nx)
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
        self.insert_rrset_with(now, name, rtype, records, Attached::default(), rank);
    }

    /// [`Cache::insert_rrset`] with the records it carries (its RRSIGs, a DNAME).
    pub fn insert_rrset_with(
        &mut self,
        now: Instant,
        name: &Name,
        rtype: RecordType,
        records: Vec<Record>,
        attached: Attached,
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
            (Data::Records(records), attached),
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
        self.insert_negative_with(now, name, rtype, soa, Attached::default(), rank);
    }

    /// [`Cache::insert_negative`] with the records it carries: the SOA's RRSIGs and
    /// the denial's NSEC/NSEC3 records (`attached.proof`).
    pub fn insert_negative_with(
        &mut self,
        now: Instant,
        name: &Name,
        rtype: Option<RecordType>,
        soa: Option<Record>,
        attached: Attached,
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
        self.insert(now, name, kind, (data, attached), rank, ttl);
    }

    /// Store that `name` has no `rtype` for `ttl` seconds without an SOA to prove it:
    /// only for what the validator decided itself (a forwarder's unsigned denial of a
    /// trust anchor's key set, kept briefly as insecure).
    pub fn insert_unproven_nodata(
        &mut self,
        now: Instant,
        name: &Name,
        rtype: RecordType,
        ttl: u32,
        attached: Attached,
        rank: Rank,
    ) {
        let ttl = ttl.min(self.policy.max_negative_ttl);
        let data = (Data::NoData(None), attached);
        self.insert(now, name, Kind::Type(rtype), data, rank, ttl);
    }

    /// Whether `e` has not expired.
    fn is_fresh(e: &Entry, now: Instant) -> bool {
        now < e.expires
    }

    /// Store `data` under `name`/`kind` unless a fresher entry of higher rank is there.
    fn insert(
        &mut self,
        now: Instant,
        name: &Name,
        kind: Kind,
        (data, attached): (Data, Attached),
        rank: Rank,
        ttl: u32,
    ) {
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
        // An entry with an EDE to say is answered by the full path, which says it.
        let encoded = Encoded::new(data_records(&data), &attached)
            .filter(|_| attached.insecure_ede.is_none());
        let bytes = entry_bytes(
            &data,
            &attached,
            encoded.as_ref().map(Encoded::wire),
            key.len(),
        );
        let Ok(key_len) = u16::try_from(key.len()) else {
            return;
        };
        if bytes > self.store.cap_bytes() {
            return;
        }
        let mut blob =
            Vec::with_capacity(key.len() + encoded.as_ref().map_or(0, |e| e.bytes.len()));
        blob.extend_from_slice(key);
        let (wire, owner_len, count, data_len) = match encoded {
            Some(e) => {
                blob.extend_from_slice(&e.bytes);
                let kind = match data {
                    Data::Records(_) => WireKind::Records,
                    Data::NoData(_) => WireKind::NoData,
                    Data::NxDomain(_) => WireKind::NxDomain,
                };
                let owner_len = u8::try_from(e.owner_len).unwrap_or(0);
                (Some(kind), owner_len, e.count, e.data_len)
            }
            None => (None, 0, 0, 0),
        };
        let secure = attached.security == Security::Secure;
        let entry = Entry {
            blob: blob.into_boxed_slice(),
            cold: Box::new(Cold {
                data,
                attached,
                inserted: now,
                bytes,
            }),
            expires: now.saturating_add(Duration::from_secs(u64::from(ttl))),
            nx_clear: 0,
            ttl,
            key_len,
            owner_len,
            count,
            data_len,
            rank,
            wire,
            secure,
        };
        if kind == Kind::NxDomain {
            // Typed entries at this name no longer know that there is none.
            let slot = self.nx_slot(&kb);
            if let Some(g) = self.nx_gens.get_mut(slot) {
                *g = g.wrapping_add(1);
            }
        }
        self.store.put(entry);
    }

    /// Find data for `name`/`rtype` of at least `min_rank`. NXDOMAIN entries for the name
    /// answer every type (the newer of a type entry and an NXDOMAIN entry wins). Expired
    /// entries are returned only if `allow_stale` and within the stale window.
    ///
    /// The entries weighed are marked used even when one turns out too low in rank, or
    /// stale when stale data is not wanted; those expired past the stale window are
    /// dropped. The NXDOMAIN entry is looked for only when the typed entry does not
    /// know that there is none (see `Cache::probe`).
    pub fn lookup(
        &mut self,
        now: Instant,
        name: &Name,
        rtype: RecordType,
        min_rank: Rank,
        allow_stale: bool,
    ) -> Option<Hit> {
        let mut kb = KeyBuf::from_name(name)?;
        let (typed, nx) = self.probe(&mut kb, rtype);
        for slot in [typed, nx].into_iter().flatten() {
            self.store.touch(slot);
        }
        let t = self.judge(typed, now, min_rank, allow_stale);
        let n = self.judge(nx, now, min_rank, allow_stale);
        // The newer of two hits wins; the winner is copied out before any drop (a
        // removal may move what a `Slot` finds).
        let winner = match (t, n) {
            (Judged::Hit(a), Judged::Hit(b)) if b > a => nx,
            (Judged::Hit(_), _) => typed,
            (_, Judged::Hit(_)) => nx,
            _ => None,
        };
        let hit = winner
            .and_then(|s| self.store.at(s))
            .map(|e| Self::hit(e, now));
        if t == Judged::Drop {
            self.store.remove(kb.with(Kind::Type(rtype)));
        }
        if n == Judged::Drop {
            self.store.remove(kb.with(Kind::NxDomain));
        }
        hit
    }

    /// Seconds until `e` expires.
    fn remaining(e: &Entry, now: Instant) -> u32 {
        let left = e.expires.saturating_duration_since(now);
        u32::try_from(left.as_secs()).unwrap_or(u32::MAX)
    }

    /// What a lookup (see `lookup`) makes of the entry at `slot`, if any.
    fn judge(&self, slot: Option<Slot>, now: Instant, min_rank: Rank, allow_stale: bool) -> Judged {
        let Some(e) = slot.and_then(|s| self.store.at(s)) else {
            return Judged::Pass;
        };
        if e.rank < min_rank {
            return Judged::Pass;
        }
        let fresh = Self::is_fresh(e, now);
        let window = self.policy.stale_window;
        if !fresh && window.is_none_or(|w| now >= e.expires.saturating_add(w)) {
            return Judged::Drop;
        }
        if !fresh && !allow_stale {
            return Judged::Pass;
        }
        Judged::Hit(e.inserted())
    }

    /// The hit a lookup makes of `e`, which `judge` found to be one.
    fn hit(e: &Entry, now: Instant) -> Hit {
        let fresh = Self::is_fresh(e, now);
        let remaining = if fresh { Self::remaining(e, now) } else { 0 };
        let mut data = e.cold.data.clone();
        let mut attached = e.cold.attached.clone();
        set_ttl(
            &mut data,
            &mut attached,
            if fresh { remaining } else { STALE_TTL },
        );
        Hit {
            data,
            attached,
            remaining,
            original_ttl: e.ttl,
            stale: !fresh,
            rank: e.rank,
        }
    }

    /// [`Cache::lookup`] for the fast answer path, fresh data only and borrowed: the
    /// pre-encoded records instead of a clone. Decides exactly as `lookup(now, name,
    /// rtype, min_rank, false)` would and marks the same entries used, or declines (an
    /// entry expired past the stale window, which `lookup` would drop; an entry without
    /// a pre-encoded form). `key` holds the name. A hit on data of a type with no
    /// NXDOMAIN entry at the name is one probe of the table.
    pub(crate) fn lookup_wire(
        &mut self,
        now: Instant,
        key: &mut KeyBuf,
        rtype: RecordType,
        min_rank: Rank,
    ) -> Probe<'_> {
        let w = self.policy.stale_window;
        let (typed, nx) = self.probe(key, rtype);
        for slot in [typed, nx].into_iter().flatten() {
            self.store.touch(slot);
        }
        let Some(nx) = nx else {
            // The common case: no NXDOMAIN entry, the typed entry decides.
            let Some(e) = typed.and_then(|t| self.store.at(t)) else {
                return Probe::Miss;
            };
            return match Self::usable(e, now, min_rank, w) {
                None => Probe::Decline,
                Some(false) => Probe::Miss,
                Some(true) => Self::wire_hit(e, now),
            };
        };
        // Both may be cached: borrow the newer of those usable.
        let inserted = |slot: Option<Slot>| match slot.and_then(|s| self.store.at(s)) {
            None => Some(None),
            Some(e) => Self::usable(e, now, min_rank, w).map(|ok| ok.then_some(e.inserted())),
        };
        let (Some(t), Some(n)) = (inserted(typed), inserted(Some(nx))) else {
            return Probe::Decline;
        };
        let winner = match (t, n, typed) {
            (None, None, _) => return Probe::Miss,
            (Some(t), Some(n), Some(typed)) if n <= t => typed,
            (Some(_), None, Some(typed)) => typed,
            _ => nx,
        };
        match self.store.at(winner) {
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
        let Some((kind, wire)) = e.wire() else {
            return Probe::Decline;
        };
        Probe::Hit(WireHit {
            kind,
            wire,
            remaining: Self::remaining(e, now),
            original_ttl: e.ttl,
            secure: e.secure,
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
    /// respects the cap, and no entry that knows its name has no NXDOMAIN entry is
    /// wrong.
    #[must_use]
    pub fn check_invariants(&self) -> bool {
        self.store.check_invariants() && self.store.iter().all(|e| self.entry_ok(e))
    }

    /// Whether the entry `e` says what kind of pre-encoded records it holds rightly,
    /// and, if it knows (at its slot's generation) that no NXDOMAIN entry is cached at
    /// its name, is right.
    fn entry_ok(&self, e: &Entry) -> bool {
        let kind = match e.cold.data {
            Data::Records(_) => WireKind::Records,
            Data::NoData(_) => WireKind::NoData,
            Data::NxDomain(_) => WireKind::NxDomain,
        };
        if e.wire.is_some_and(|k| k != kind) {
            return false;
        }
        let key = e.key();
        let Some(mut kb) = KeyBuf::from_wire(key) else {
            return false;
        };
        if e.nx_clear == 0 || self.nx_gen(&kb) != Some(e.nx_clear) {
            return true;
        }
        // Only data of a type learns it: the key's tag is 0, then the type.
        key.get(kb.name_len) == Some(&0) && self.store.peek(kb.with(Kind::NxDomain)).is_none()
    }
}

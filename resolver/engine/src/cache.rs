//! The record cache: a pure module that takes `now`.
//!
//! Entries are whole RRsets (or negative answers carrying their SOA, RFC 2308) keyed by
//! owner name (case-insensitive) and type. Each carries a credibility rank (RFC 2181
//! §5.4.1) so that glue never overwrites an authoritative answer, and an absolute expiry
//! so that TTLs count down. The cache has a byte cap enforced by evicting the least
//! recently used entries; the LRU's hasher is keyed from the engine's seed because the
//! keys are chosen by whoever sends us queries.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::borrow::Borrow;
use core::hash::{BuildHasher, Hash};
use core::time::Duration;

use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};
use lru::LruCache;

use crate::time::Instant;

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

/// What a cache entry is keyed by: which type, or "the whole name" for NXDOMAIN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Type(RecordType),
    NxDomain,
}

impl Kind {
    /// The three bytes that follow the name in a key.
    fn tag(self) -> [u8; 3] {
        match self {
            Kind::Type(t) => {
                let [hi, lo] = u16::from(t).to_be_bytes();
                [0, hi, lo]
            }
            Kind::NxDomain => [1, 0, 0],
        }
    }
}

/// The longest uncompressed wire name (RFC 1035 §3.1).
pub(crate) const MAX_NAME: usize = 255;

/// A key as bytes: the owner name as lower-cased, uncompressed wire labels, then the
/// [`Kind`] tag. A wire name ends at its root label, so no two keys run into each other.
///
/// Stored keys are boxed bytes and are found by a `&[u8]` built on the stack
/// ([`KeyBuf`]), from a `Name` or straight from a query's bytes: a lookup allocates
/// nothing, and the hash is one `write` of a few dozen bytes. (Keys used to be `Name`s,
/// cloned per lookup and hashed label by label; profiled with callgrind for issue 7.)
/// Equal names in any letter case give equal keys.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key(Box<[u8]>);

impl Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

/// A key under construction, on the stack: a name, then any kind.
#[derive(Clone)]
pub(crate) struct KeyBuf {
    buf: [u8; MAX_NAME + 3],
    name_len: usize,
}

impl KeyBuf {
    /// The key name of `name`; `None` if its wire form is longer than 255 bytes.
    pub(crate) fn from_name(name: &Name) -> Option<Self> {
        let mut k = KeyBuf {
            buf: [0; MAX_NAME + 3],
            name_len: 0,
        };
        let mut n = 0;
        for label in name.iter() {
            let len = u8::try_from(label.len()).ok()?;
            let dst = k.buf.get_mut(n..n + 1 + label.len())?;
            let (head, rest) = dst.split_first_mut()?;
            *head = len;
            for (d, s) in rest.iter_mut().zip(label) {
                *d = s.to_ascii_lowercase();
            }
            n += 1 + label.len();
        }
        // The root label.
        *k.buf.get_mut(n)? = 0;
        n += 1;
        if n > MAX_NAME {
            return None;
        }
        k.name_len = n;
        Some(k)
    }

    /// The key name of an uncompressed wire name (labels up to the root label, no
    /// pointers; `wire` may go on past the root). `None` if it is not one, or too long.
    pub(crate) fn from_wire(wire: &[u8]) -> Option<Self> {
        let mut k = KeyBuf {
            buf: [0; MAX_NAME + 3],
            name_len: 0,
        };
        let n = name_len(wire)?;
        for (d, s) in k.buf.iter_mut().zip(wire.get(..n)?) {
            *d = s.to_ascii_lowercase();
        }
        k.name_len = n;
        Some(k)
    }

    /// The whole key for `kind`.
    fn with(&mut self, kind: Kind) -> &[u8] {
        let n = self.name_len;
        if let Some(tag) = self.buf.get_mut(n..n + 3) {
            tag.copy_from_slice(&kind.tag());
        }
        self.buf.get(..n + 3).unwrap_or_default()
    }
}

/// The length of the uncompressed wire name at the start of `wire`, root label included:
/// `None` if a label is a pointer (or reserved), runs past the end, or the name is
/// longer than 255 bytes.
pub(crate) fn name_len(wire: &[u8]) -> Option<usize> {
    let mut i = 0;
    loop {
        let len = usize::from(*wire.get(i)?);
        if len & 0xc0 != 0 {
            return None;
        }
        i += 1 + len;
        if i > MAX_NAME {
            return None;
        }
        if len == 0 {
            return Some(i);
        }
    }
}

/// An entry's records pre-encoded for the fast answer path: the owner name as stored
/// (uncompressed wire form), then per record TYPE, CLASS, TTL, RDLENGTH and RDATA, with
/// every name in RDATA uncompressed so the bytes can be copied into any message. The
/// TTL field is patched when the records are written out.
#[derive(Clone, Debug)]
pub(crate) struct Wire {
    bytes: Box<[u8]>,
    owner_len: usize,
    count: usize,
}

/// One pre-encoded record.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WireRr<'a> {
    /// TYPE, CLASS, TTL (as stored), RDLENGTH, RDATA.
    pub(crate) tail: &'a [u8],
}

/// Offset of the TTL in a record's tail.
pub(crate) const TAIL_TTL: usize = 4;
/// Bytes of a record's tail before the RDATA.
pub(crate) const TAIL_FIXED: usize = 10;

impl WireRr<'_> {
    /// The record type.
    pub(crate) fn rtype(&self) -> u16 {
        match self.tail {
            [hi, lo, ..] => u16::from_be_bytes([*hi, *lo]),
            _ => 0,
        }
    }

    /// RDLENGTH, if the fixed part is all there.
    fn rdata_len(&self) -> Option<usize> {
        match self.tail.get(TAIL_FIXED - 2..TAIL_FIXED)? {
            [hi, lo] => Some(usize::from(u16::from_be_bytes([*hi, *lo]))),
            _ => None,
        }
    }

    /// The RDATA.
    pub(crate) fn rdata(&self) -> &[u8] {
        self.tail.get(TAIL_FIXED..).unwrap_or_default()
    }
}

impl Wire {
    /// Encode an RRset (or a negative entry's SOA). `None` if the records do not all
    /// carry the same owner, byte for byte, or do not encode: such an entry is left to
    /// the full answer path.
    fn encode(records: &[Record]) -> Option<Wire> {
        if records.is_empty() {
            return Some(Wire {
                bytes: Box::default(),
                owner_len: 0,
                count: 0,
            });
        }
        let mut out = Vec::new();
        let mut scratch = Vec::new();
        let mut owner_len = 0;
        for (i, r) in records.iter().enumerate() {
            scratch.clear();
            let mut enc = BinEncoder::new(&mut scratch);
            enc.set_name_encoding(NameEncoding::Uncompressed);
            r.emit(&mut enc).ok()?;
            let n = name_len(&scratch)?;
            if i == 0 {
                owner_len = n;
                out.extend_from_slice(scratch.get(..n)?);
            } else if scratch.get(..n)? != out.get(..owner_len)? {
                return None;
            }
            let tail = scratch.get(n..)?;
            let rr = WireRr { tail };
            if tail.len() != TAIL_FIXED + rr.rdata_len()? {
                return None;
            }
            out.extend_from_slice(tail);
        }
        Some(Wire {
            bytes: out.into_boxed_slice(),
            owner_len,
            count: records.len(),
        })
    }

    /// The owner name as stored (uncompressed wire form).
    pub(crate) fn owner(&self) -> &[u8] {
        self.bytes.get(..self.owner_len).unwrap_or_default()
    }

    /// The records, in stored order.
    pub(crate) fn rrs(&self) -> impl Iterator<Item = WireRr<'_>> {
        let mut rest = self.bytes.get(self.owner_len..).unwrap_or_default();
        core::iter::from_fn(move || {
            let rdlen = WireRr { tail: rest }.rdata_len()?;
            let (tail, next) = rest.split_at_checked(TAIL_FIXED + rdlen)?;
            rest = next;
            Some(WireRr { tail })
        })
    }

    /// Bytes held.
    fn len(&self) -> usize {
        self.bytes.len()
    }

    /// The records' size written out uncompressed, the owner repeated on each.
    pub(crate) fn records_len(&self) -> usize {
        self.count * self.owner_len + (self.bytes.len() - self.owner_len)
    }
}

#[derive(Clone, Debug)]
struct Entry {
    data: Data,
    /// The same records pre-encoded, when they could be (see [`Wire::encode`]).
    wire: Option<Wire>,
    rank: Rank,
    inserted: Instant,
    expires: Instant,
    ttl: u32,
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

/// What a fresh entry found by [`Cache::lookup_wire`] says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WireKind {
    /// An RRset: the records are answers.
    Records,
    /// NODATA: the SOA (if any) goes in the authority section.
    NoData,
    /// NXDOMAIN: the SOA (if any) goes in the authority section.
    NxDomain,
}

/// A fresh hit, borrowed from the cache: its pre-encoded records and remaining TTL.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WireHit<'a> {
    pub(crate) kind: WireKind,
    pub(crate) wire: &'a Wire,
    /// Remaining seconds.
    pub(crate) remaining: u32,
    /// The (clamped) TTL the entry was stored with.
    pub(crate) original_ttl: u32,
}

/// The outcome of [`Cache::lookup_wire`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum Probe<'a> {
    /// A fresh entry of sufficient rank, with its pre-encoded form.
    Hit(WireHit<'a>),
    /// Nothing usable: [`Cache::lookup`] would return `None` too.
    Miss,
    /// Something only the full path handles (an entry to drop, no pre-encoded form).
    Decline,
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
    lru: LruCache<Key, Entry, S>,
    bytes: usize,
    cap_bytes: usize,
    policy: Policy,
    evictions: u64,
}

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

fn record_bytes(r: &Record) -> usize {
    // The wire size (uncompressed); fall back to a generous guess if it fails to encode.
    r.to_bytes().map_or(512, |b| b.len())
}

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
            lru: LruCache::unbounded_with_hasher(hasher),
            bytes: 0,
            cap_bytes,
            policy,
            evictions: 0,
        }
    }

    /// Bytes accounted.
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Number of entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lru.len()
    }

    /// Whether the cache holds nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.lru.len() == 0
    }

    /// Entries evicted so far for the byte cap.
    #[must_use]
    pub fn evictions(&self) -> u64 {
        self.evictions
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

    fn is_fresh(e: &Entry, now: Instant) -> bool {
        now < e.expires
    }

    fn insert(&mut self, now: Instant, name: &Name, kind: Kind, data: Data, rank: Rank, ttl: u32) {
        if ttl == 0 {
            return;
        }
        let Some(mut kb) = KeyBuf::from_name(name) else {
            return;
        };
        let key = kb.with(kind);
        if let Some(old) = self.lru.peek(key)
            && old.rank > rank
            && Self::is_fresh(old, now)
        {
            return;
        }
        let wire = Wire::encode(data_records(&data));
        let bytes = entry_bytes(&data, wire.as_ref(), key.len());
        if bytes > self.cap_bytes {
            return;
        }
        if let Some(old) = self.lru.pop(key) {
            self.bytes = self.bytes.saturating_sub(old.bytes);
        }
        while self.bytes + bytes > self.cap_bytes {
            match self.lru.pop_lru() {
                Some((_, old)) => {
                    self.bytes = self.bytes.saturating_sub(old.bytes);
                    self.evictions += 1;
                }
                None => break,
            }
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
        self.bytes += bytes;
        self.lru.put(Key(Box::from(key)), entry);
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

    fn remaining(e: &Entry, now: Instant) -> u32 {
        let left = e.expires.saturating_duration_since(now);
        u32::try_from(left.as_secs()).unwrap_or(u32::MAX)
    }

    fn get(
        &mut self,
        now: Instant,
        key: &[u8],
        min_rank: Rank,
        allow_stale: bool,
    ) -> Option<(Hit, Instant)> {
        let window = self.policy.stale_window;
        {
            let e = self.lru.get(key)?;
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
        if let Some(old) = self.lru.pop(key) {
            self.bytes = self.bytes.saturating_sub(old.bytes);
        }
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
        let nx = match self.lru.peek(key.with(Kind::NxDomain)) {
            None => None,
            Some(e) => match Self::usable(e, now, min_rank, w) {
                None => return Probe::Decline,
                Some(ok) => Some(ok.then_some(e.inserted)),
            },
        };
        let Some(nx) = nx else {
            return match self.lru.get(key.with(Kind::Type(rtype))) {
                None => Probe::Miss,
                Some(e) => match Self::usable(e, now, min_rank, w) {
                    None => Probe::Decline,
                    Some(false) => Probe::Miss,
                    Some(true) => Self::wire_hit(e, now),
                },
            };
        };
        // Both may be cached: promote in `lookup`'s order, then borrow the newer.
        let typed = match self.lru.get(key.with(Kind::Type(rtype))) {
            None => None,
            Some(e) => match Self::usable(e, now, min_rank, w) {
                None => return Probe::Decline,
                Some(ok) => ok.then_some(e.inserted),
            },
        };
        let _ = self.lru.get(key.with(Kind::NxDomain));
        let winner = match (typed, nx) {
            (None, None) => return Probe::Miss,
            (Some(t), Some(n)) if n > t => Kind::NxDomain,
            (Some(_), _) => Kind::Type(rtype),
            (None, Some(_)) => Kind::NxDomain,
        };
        match self.lru.peek(key.with(winner)) {
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
        self.lru.clear();
        self.bytes = 0;
    }

    /// Check internal accounting (tests): the byte counter equals the sum of entries and
    /// respects the cap.
    #[must_use]
    pub fn check_invariants(&self) -> bool {
        let sum: usize = self.lru.iter().map(|(_, e)| e.bytes).sum();
        sum == self.bytes && self.bytes <= self.cap_bytes
    }
}

/// Keys for hashing: SipHash keyed from the engine's seed.
#[derive(Clone, Copy, Debug)]
pub struct KeyedHasher {
    k0: u64,
    k1: u64,
}

impl KeyedHasher {
    /// A hasher builder with these keys.
    #[must_use]
    pub const fn new(k0: u64, k1: u64) -> Self {
        Self { k0, k1 }
    }
}

impl BuildHasher for KeyedHasher {
    #[allow(deprecated)] // core's SipHasher is deprecated only in favour of std's wrappers.
    type Hasher = core::hash::SipHasher;

    #[allow(deprecated)]
    fn build_hasher(&self) -> Self::Hasher {
        core::hash::SipHasher::new_with_keys(self.k0, self.k1)
    }
}

/// Hash a value with a keyed hasher (used by tests).
#[must_use]
pub fn hash_one<T: Hash>(h: &KeyedHasher, v: &T) -> u64 {
    h.hash_one(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::vec;
    use hickory_proto::rr::rdata::{A, SOA};
    use proptest::prelude::*;

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }
    fn a(owner: &str, ttl: u32, last: u8) -> Record {
        Record::from_rdata(name(owner), ttl, RData::A(A::new(192, 0, 2, last)))
    }
    fn soa(ttl: u32, min: u32) -> Record {
        Record::from_rdata(
            name("example.com."),
            ttl,
            RData::SOA(SOA::new(name("ns."), name("h."), 1, 1, 1, 1, min)),
        )
    }
    #[test]
    fn key_hash_ignores_case_and_matches_eq() {
        let h = KeyedHasher::new(1, 2);
        let k = |s: &str, kind| Key(Box::from(KeyBuf::from_name(&name(s)).unwrap().with(kind)));
        let a = k("WwW.Example.COM.", Kind::Type(RecordType::A));
        let b = k("www.example.com.", Kind::Type(RecordType::A));
        assert_eq!(a, b);
        assert_eq!(hash_one(&h, &a), hash_one(&h, &b));
        let c = k("www.example.com.", Kind::NxDomain);
        assert_ne!(hash_one(&h, &b), hash_one(&h, &c));
        // Label boundaries count: "ab.c" and "a.bc" differ.
        assert_ne!(
            hash_one(&h, &k("ab.c.", Kind::NxDomain)),
            hash_one(&h, &k("a.bc.", Kind::NxDomain))
        );
        // The longest names hash without trouble.
        let a63 = "a".repeat(63);
        let long = format!("{a63}.{a63}.{a63}.{}.", "b".repeat(61));
        let _ = hash_one(&h, &k(&long, Kind::NxDomain));
    }

    #[test]
    fn wire_keys_match_name_keys() {
        let from_name = KeyBuf::from_name(&name("WwW.Example.COM.")).unwrap();
        let wire = b"\x03wWw\x07exAMPLE\x03com\x00\x00\x01";
        let from_wire = KeyBuf::from_wire(wire).unwrap();
        assert_eq!(from_name.name_len, 17);
        assert_eq!(
            from_name.clone().with(Kind::NxDomain),
            from_wire.clone().with(Kind::NxDomain)
        );
        // Pointers, truncation and names over 255 bytes are not key names.
        assert!(KeyBuf::from_wire(b"\x03www\xc0\x0c").is_none());
        assert!(KeyBuf::from_wire(b"\x03ww").is_none());
        let long = [[63u8; 64]; 4].concat();
        assert!(KeyBuf::from_wire(&long).is_none());
        assert!(KeyBuf::from_wire(b"\x00").is_some());
    }

    #[test]
    fn pre_encoded_records_round_trip() {
        let recs = [a("Www.example.com.", 300, 1), a("Www.example.com.", 300, 2)];
        let w = Wire::encode(&recs).unwrap();
        assert_eq!(w.owner(), b"\x03Www\x07example\x03com\x00");
        let rrs: Vec<_> = w.rrs().collect();
        assert_eq!(rrs.len(), 2);
        assert_eq!(rrs[1].rtype(), 1);
        assert_eq!(rrs[1].rdata(), &[192, 0, 2, 2]);
        assert_eq!(w.records_len(), 2 * (17 + 14));
        // Owners differing in case are not one pre-encoded set.
        assert!(
            Wire::encode(&[a("www.example.com.", 1, 1), a("WWW.example.com.", 1, 2)]).is_none()
        );
    }

    fn policy() -> Policy {
        Policy::new(
            Duration::from_secs(5),
            Duration::from_secs(1000),
            Duration::from_secs(600),
            Some(Duration::from_secs(100)),
        )
    }
    fn cache(cap: usize) -> Cache<KeyedHasher> {
        Cache::new(cap, policy(), KeyedHasher::new(1, 2))
    }
    fn t(s: u64) -> Instant {
        Instant::from_nanos(s * 1_000_000_000)
    }
    fn ttl_of(h: &Hit) -> u32 {
        match &h.data {
            Data::Records(v) => v[0].ttl,
            Data::NoData(s) | Data::NxDomain(s) => s.as_ref().map_or(0, |r| r.ttl),
        }
    }

    #[test]
    fn rfc2181_ranks_protect_better_data() {
        let mut c = cache(100_000);
        let n = name("www.example.com.");
        c.insert_rrset(
            t(0),
            &n,
            RecordType::A,
            vec![a("www.example.com.", 300, 1)],
            Rank::AuthAnswer,
        );
        c.insert_rrset(
            t(1),
            &n,
            RecordType::A,
            vec![a("www.example.com.", 300, 66)],
            Rank::Glue,
        );
        let h = c
            .lookup(t(2), &n, RecordType::A, Rank::Glue, false)
            .unwrap();
        assert_eq!(h.data, Data::Records(vec![a("www.example.com.", 298, 1)]));
        // Better data replaces worse.
        c.insert_rrset(
            t(3),
            &n,
            RecordType::A,
            vec![a("www.example.com.", 300, 2)],
            Rank::AuthAnswer,
        );
        let h = c
            .lookup(t(3), &n, RecordType::A, Rank::Glue, false)
            .unwrap();
        assert_eq!(h.data, Data::Records(vec![a("www.example.com.", 300, 2)]));
        // Glue is not an answer.
        let g = name("ns.example.com.");
        c.insert_rrset(
            t(3),
            &g,
            RecordType::A,
            vec![a("ns.example.com.", 300, 3)],
            Rank::Glue,
        );
        assert!(
            c.lookup(t(3), &g, RecordType::A, Rank::NonAuthAnswer, false)
                .is_none()
        );
        assert_eq!(c.addresses(t(3), &g, false).len(), 1);
    }

    #[test]
    fn ttl_clamps_and_countdown() {
        let mut c = cache(100_000);
        let n = name("x.example.com.");
        c.insert_rrset(
            t(0),
            &n,
            RecordType::A,
            vec![a("x.example.com.", 1, 1)],
            Rank::AuthAnswer,
        );
        assert_eq!(
            c.lookup(t(0), &n, RecordType::A, Rank::Glue, false)
                .unwrap()
                .original_ttl,
            5
        );
        c.insert_rrset(
            t(0),
            &n,
            RecordType::A,
            vec![a("x.example.com.", 99_999, 1)],
            Rank::AuthAnswer,
        );
        let h = c
            .lookup(t(10), &n, RecordType::A, Rank::Glue, false)
            .unwrap();
        assert_eq!((h.original_ttl, ttl_of(&h)), (1000, 990));
        // The RRset TTL is the smallest of its records.
        c.insert_rrset(
            t(0),
            &n,
            RecordType::A,
            vec![a("x.example.com.", 50, 1), a("x.example.com.", 40, 2)],
            Rank::AuthAnswer,
        );
        assert_eq!(
            c.lookup(t(0), &n, RecordType::A, Rank::Glue, false)
                .unwrap()
                .original_ttl,
            40
        );
    }

    #[test]
    fn rfc2308_negative_entries() {
        let mut c = cache(100_000);
        let n = name("nope.example.com.");
        c.insert_negative(t(0), &n, None, Some(soa(3600, 120)), Rank::AuthAnswer);
        let h = c
            .lookup(t(20), &n, RecordType::MX, Rank::Glue, false)
            .unwrap();
        assert!(matches!(h.data, Data::NxDomain(_)));
        assert_eq!(ttl_of(&h), 100);
        // Negative TTL clamp (600) and min(SOA TTL, MINIMUM).
        c.insert_negative(
            t(0),
            &n,
            Some(RecordType::TXT),
            Some(soa(5000, 4000)),
            Rank::AuthAnswer,
        );
        let h = c
            .lookup(t(0), &n, RecordType::TXT, Rank::Glue, false)
            .unwrap();
        assert_eq!(h.original_ttl, 600);
        // No SOA: not cached at all.
        let m = name("other.example.com.");
        c.insert_negative(t(0), &m, None, None, Rank::AuthAnswer);
        assert!(
            c.lookup(t(0), &m, RecordType::A, Rank::Glue, false)
                .is_none()
        );
        // A newer positive answer wins over an older NXDOMAIN.
        c.insert_rrset(
            t(30),
            &n,
            RecordType::A,
            vec![a("nope.example.com.", 300, 1)],
            Rank::AuthAnswer,
        );
        let h = c
            .lookup(t(31), &n, RecordType::A, Rank::Glue, false)
            .unwrap();
        assert!(matches!(h.data, Data::Records(_)));
    }

    #[test]
    fn rfc8767_stale_window() {
        let mut c = cache(100_000);
        let n = name("s.example.com.");
        c.insert_rrset(
            t(0),
            &n,
            RecordType::A,
            vec![a("s.example.com.", 10, 1)],
            Rank::AuthAnswer,
        );
        assert!(
            c.lookup(t(11), &n, RecordType::A, Rank::Glue, false)
                .is_none()
        );
        let h = c
            .lookup(t(50), &n, RecordType::A, Rank::Glue, true)
            .unwrap();
        assert!(h.stale);
        assert_eq!(ttl_of(&h), STALE_TTL);
        assert!(
            c.lookup(t(111), &n, RecordType::A, Rank::Glue, true)
                .is_none()
        );
        assert!(c.is_empty(), "dropped once past the window");
        assert_eq!(c.bytes(), 0);
    }

    #[test]
    fn byte_cap_evicts_least_recently_used() {
        let recs = Data::Records(vec![a("n0.example.com.", 300, 1)]);
        let wire = Wire::encode(data_records(&recs)).unwrap();
        let one = entry_bytes(&recs, Some(&wire), 16 + 3);
        let mut c = cache(one * 3);
        for i in 0..3 {
            let s = format!("n{i}.example.com.");
            c.insert_rrset(
                t(0),
                &name(&s),
                RecordType::A,
                vec![a(&s, 300, 1)],
                Rank::AuthAnswer,
            );
        }
        assert_eq!(c.len(), 3);
        // Touch n0 so that n1 is the least recently used.
        assert!(
            c.lookup(
                t(0),
                &name("n0.example.com."),
                RecordType::A,
                Rank::Glue,
                false
            )
            .is_some()
        );
        c.insert_rrset(
            t(0),
            &name("n3.example.com."),
            RecordType::A,
            vec![a("n3.example.com.", 300, 1)],
            Rank::AuthAnswer,
        );
        assert_eq!(c.len(), 3);
        assert_eq!(c.evictions(), 1);
        assert!(
            c.lookup(
                t(0),
                &name("n1.example.com."),
                RecordType::A,
                Rank::Glue,
                false
            )
            .is_none()
        );
        assert!(
            c.lookup(
                t(0),
                &name("n0.example.com."),
                RecordType::A,
                Rank::Glue,
                false
            )
            .is_some()
        );
        assert!(c.check_invariants());
        // An entry bigger than the whole cache is refused.
        let big: Vec<Record> = (0..50).map(|i| a("big.example.com.", 300, i)).collect();
        c.insert_rrset(
            t(0),
            &name("big.example.com."),
            RecordType::A,
            big,
            Rank::AuthAnswer,
        );
        assert!(
            c.lookup(
                t(0),
                &name("big.example.com."),
                RecordType::A,
                Rank::Glue,
                false
            )
            .is_none()
        );
        assert!(c.check_invariants());
    }

    #[test]
    fn keys_are_case_insensitive_and_hashes_keyed() {
        let mut c = cache(10_000);
        c.insert_rrset(
            t(0),
            &name("WWW.Example.COM."),
            RecordType::A,
            vec![a("WWW.Example.COM.", 300, 1)],
            Rank::AuthAnswer,
        );
        assert!(
            c.lookup(
                t(0),
                &name("www.example.com."),
                RecordType::A,
                Rank::Glue,
                false
            )
            .is_some()
        );
        let k = name("www.example.com.");
        assert_ne!(
            hash_one(&KeyedHasher::new(1, 2), &k),
            hash_one(&KeyedHasher::new(3, 4), &k)
        );
    }

    #[derive(Clone, Debug)]
    enum Op {
        Put(u8, u32, u8),
        Neg(u8, bool, u32),
        Get(u8, bool),
        Tick(u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..16, 0u32..5000, 0u8..5).prop_map(|(n, ttl, r)| Op::Put(n, ttl, r)),
            (0u8..16, any::<bool>(), 0u32..5000).prop_map(|(n, nx, ttl)| Op::Neg(n, nx, ttl)),
            (0u8..16, any::<bool>()).prop_map(|(n, s)| Op::Get(n, s)),
            (0u16..2000).prop_map(Op::Tick),
        ]
    }

    proptest! {
        /// Whatever happens, the byte accounting is exact and within the cap, TTLs
        /// never exceed the clamp, and nothing expired is served as fresh.
        #[test]
        fn cache_invariants(cap in 0usize..4000, ops in proptest::collection::vec(op(), 1..200)) {
            let ranks = [Rank::Glue, Rank::Referral, Rank::NonAuthAnswer, Rank::AuthAuthority, Rank::AuthAnswer];
            let mut c = cache(cap);
            let mut now = 0u64;
            for o in ops {
                match o {
                    Op::Put(n, ttl, r) => {
                        let s = format!("n{n}.example.com.");
                        c.insert_rrset(t(now), &name(&s), RecordType::A, vec![a(&s, ttl, n)], ranks[usize::from(r)]);
                    }
                    Op::Neg(n, nx, ttl) => {
                        let s = format!("n{n}.example.com.");
                        let ty = if nx { None } else { Some(RecordType::A) };
                        c.insert_negative(t(now), &name(&s), ty, Some(soa(ttl, ttl)), Rank::AuthAnswer);
                    }
                    Op::Get(n, stale) => {
                        let s = format!("n{n}.example.com.");
                        if let Some(h) = c.lookup(t(now), &name(&s), RecordType::A, Rank::Glue, stale) {
                            prop_assert!(ttl_of(&h) <= 1000);
                            prop_assert!(h.original_ttl <= 1000);
                            if !stale { prop_assert!(!h.stale); }
                            if h.stale { prop_assert_eq!(ttl_of(&h), STALE_TTL); }
                        }
                    }
                    Op::Tick(s) => now += u64::from(s),
                }
                prop_assert!(c.check_invariants());
                prop_assert!(c.bytes() <= cap);
            }
        }
    }
}

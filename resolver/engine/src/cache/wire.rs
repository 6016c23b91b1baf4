//! The pre-encoded form of a cache entry, which the fast answer path copies into a
//! reply, and what a fast lookup hands out.

use alloc::vec::Vec;

use hickory_proto::rr::Record;
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};

use super::key::name_len;

/// An entry's records pre-encoded for the fast answer path: the owner name as stored
/// (uncompressed wire form), then per record TYPE, CLASS, TTL, RDLENGTH and RDATA, with
/// every name in RDATA uncompressed so the bytes can be copied into any message. The
/// TTL field is patched when the records are written out.
///
/// A view: the bytes live in the cache entry, after its key (one allocation, so a hit
/// reads one place besides the table); [`Encoded`] makes them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Wire<'a> {
    /// The owner name, then each record's tail.
    bytes: &'a [u8],
    /// Length of the owner name at the start of `bytes`.
    owner_len: usize,
    /// Number of records.
    count: usize,
}

/// Records pre-encoded by [`Encoded::new`], before the cache stores them.
#[derive(Clone, Debug)]
pub(super) struct Encoded {
    /// The bytes of the [`Wire`].
    pub(super) bytes: Vec<u8>,
    /// Length of the owner name at the start of `bytes`.
    pub(super) owner_len: u16,
    /// Number of records.
    pub(super) count: u16,
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
    pub(super) fn rdata_len(&self) -> Option<usize> {
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

impl Encoded {
    /// Encode an RRset (or a negative entry's SOA). `None` if the records do not all
    /// carry the same owner, byte for byte, do not encode, or are more than 65535: such
    /// an entry is left to the full answer path.
    pub(super) fn new(records: &[Record]) -> Option<Encoded> {
        let count = u16::try_from(records.len()).ok()?;
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
        Some(Encoded {
            bytes: out,
            owner_len: u16::try_from(owner_len).ok()?,
            count,
        })
    }

    /// The records as a hit sees them.
    pub(super) fn wire(&self) -> Wire<'_> {
        Wire::new(&self.bytes, self.owner_len, self.count)
    }
}

impl<'a> Wire<'a> {
    /// The view of `bytes` holding `count` records of an owner `owner_len` long.
    pub(super) fn new(bytes: &'a [u8], owner_len: u16, count: u16) -> Self {
        Wire {
            bytes,
            owner_len: usize::from(owner_len),
            count: usize::from(count),
        }
    }

    /// The owner name as stored (uncompressed wire form).
    pub(crate) fn owner(&self) -> &'a [u8] {
        self.bytes.get(..self.owner_len).unwrap_or_default()
    }

    /// The records, in stored order.
    pub(crate) fn rrs(&self) -> impl Iterator<Item = WireRr<'a>> + use<'a> {
        let mut rest = self.bytes.get(self.owner_len..).unwrap_or_default();
        core::iter::from_fn(move || {
            let rdlen = WireRr { tail: rest }.rdata_len()?;
            let (tail, next) = rest.split_at_checked(TAIL_FIXED + rdlen)?;
            rest = next;
            Some(WireRr { tail })
        })
    }

    /// Bytes held.
    pub(super) fn len(&self) -> usize {
        self.bytes.len()
    }

    /// The records' size written out uncompressed, the owner repeated on each.
    pub(crate) fn records_len(&self) -> usize {
        (self.count * self.owner_len + self.bytes.len()).saturating_sub(self.owner_len)
    }
}

/// What a fresh entry found by [`Cache::lookup_wire`](super::Cache::lookup_wire) says.
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
    /// What the entry says.
    pub(crate) kind: WireKind,
    /// Its records (for NODATA and NXDOMAIN: the SOA, if any).
    pub(crate) wire: Wire<'a>,
    /// Remaining seconds.
    pub(crate) remaining: u32,
    /// The (clamped) TTL the entry was stored with.
    pub(crate) original_ttl: u32,
}

/// The outcome of [`Cache::lookup_wire`](super::Cache::lookup_wire).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Probe<'a> {
    /// A fresh entry of sufficient rank, with its pre-encoded form.
    Hit(WireHit<'a>),
    /// Nothing usable: [`Cache::lookup`](super::Cache::lookup) would return `None` too.
    Miss,
    /// Something only the full path handles (an entry to drop, no pre-encoded form).
    Decline,
}

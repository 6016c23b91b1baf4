//! The pre-encoded form of a cache entry, which the fast answer path copies into a
//! reply, and what a fast lookup hands out.

use alloc::vec::Vec;

use hickory_proto::rr::{Record, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};

use super::key::name_len;

/// An entry's records pre-encoded for the fast answer path: the owner name as stored
/// (uncompressed wire form), then per record TYPE, CLASS, TTL, RDLENGTH and RDATA, with
/// every name in RDATA uncompressed so the bytes can be copied into any message. The
/// TTL field is patched when the records are written out.
///
/// After the records come the entry's attached records ([`super::Attached`]), if it
/// has any: two counts (RRSIGs, lead records; big-endian u16), then each RRSIG, lead
/// and proof record whole (owner name uncompressed, then its tail). An entry without
/// attachments ends with its records, so a hit that wants none reads nothing more.
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
    /// The attached records (empty: none).
    attached: &'a [u8],
}

/// One attached record, whole: its owner (uncompressed wire form) and its tail.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FullRr<'a> {
    /// The owner name as stored.
    pub(crate) owner: &'a [u8],
    /// TYPE, CLASS, TTL (as stored), RDLENGTH, RDATA.
    pub(crate) rr: WireRr<'a>,
}

/// An entry's attached records, by role (see [`super::Attached`]).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Attachments<'a> {
    /// RRSIGs over the entry's records.
    pub(crate) sigs: FullRrs<'a>,
    /// Records written before the entry's (a DNAME before its synthesized CNAME).
    pub(crate) lead: FullRrs<'a>,
    /// Records written after them in the authority section (a denial's NSEC/NSEC3).
    pub(crate) proof: FullRrs<'a>,
}

/// A run of whole records in an entry's attachments.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FullRrs<'a> {
    /// The records, back to back.
    bytes: &'a [u8],
}

impl<'a> FullRrs<'a> {
    /// The records, in stored order.
    pub(crate) fn iter(self) -> impl Iterator<Item = FullRr<'a>> + use<'a> {
        let mut rest = self.bytes;
        core::iter::from_fn(move || {
            let (rr, next) = split_full(rest)?;
            rest = next;
            Some(rr)
        })
    }
}

/// The first whole record of `bytes`, and what follows it.
fn split_full(bytes: &[u8]) -> Option<(FullRr<'_>, &[u8])> {
    let n = name_len(bytes)?;
    let (owner, rest) = bytes.split_at_checked(n)?;
    let rdlen = WireRr { tail: rest }.rdata_len()?;
    let (tail, next) = rest.split_at_checked(TAIL_FIXED + rdlen)?;
    Some((
        FullRr {
            owner,
            rr: WireRr { tail },
        },
        next,
    ))
}

/// Whether a record type is one of those RFC 4035 §3.2.1 leaves out of answers to
/// clients that did not set DO (unless asked for): RRSIG, NSEC, NSEC3.
#[must_use]
pub fn is_dnssec_type(t: RecordType) -> bool {
    matches!(t, RecordType::RRSIG | RecordType::NSEC | RecordType::NSEC3)
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
    /// Length of the owner and the records' tails: the attachments start there.
    pub(super) data_len: u16,
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

    /// Whether the record is an RRSIG, NSEC or NSEC3 (see [`is_dnssec_type`]).
    pub(crate) fn is_dnssec(&self) -> bool {
        is_dnssec_type(RecordType::from(self.rtype()))
    }
}

/// Encode `r` uncompressed into `scratch` (cleared first): the owner's length.
fn emit(r: &Record, scratch: &mut Vec<u8>) -> Option<usize> {
    scratch.clear();
    let mut enc = BinEncoder::new(scratch);
    enc.set_name_encoding(NameEncoding::Uncompressed);
    r.emit(&mut enc).ok()?;
    let n = name_len(scratch)?;
    let tail = scratch.get(n..)?;
    (tail.len() == TAIL_FIXED + WireRr { tail }.rdata_len()?).then_some(n)
}

impl Encoded {
    /// Encode an RRset (or a negative entry's SOA) and its attached records. `None`
    /// if the records do not all carry the same owner, byte for byte, do not encode,
    /// or are more than 65535 (or their bytes are): such an entry is left to the full
    /// answer path.
    pub(super) fn new(records: &[Record], attached: &super::Attached) -> Option<Encoded> {
        let count = u16::try_from(records.len()).ok()?;
        let mut out = Vec::new();
        let mut scratch = Vec::new();
        let mut owner_len = 0;
        for (i, r) in records.iter().enumerate() {
            let n = emit(r, &mut scratch)?;
            if i == 0 {
                owner_len = n;
                out.extend_from_slice(scratch.get(..n)?);
            } else if scratch.get(..n)? != out.get(..owner_len)? {
                return None;
            }
            out.extend_from_slice(scratch.get(n..)?);
        }
        let data_len = u16::try_from(out.len()).ok()?;
        if !attached.is_empty() {
            let sigs = u16::try_from(attached.sigs.len()).ok()?;
            let lead = u16::try_from(attached.lead.len()).ok()?;
            out.extend_from_slice(&sigs.to_be_bytes());
            out.extend_from_slice(&lead.to_be_bytes());
            for r in attached.iter() {
                emit(r, &mut scratch)?;
                out.extend_from_slice(&scratch);
            }
        }
        u16::try_from(out.len()).ok()?;
        Some(Encoded {
            bytes: out,
            owner_len: u16::try_from(owner_len).ok()?,
            count,
            data_len,
        })
    }

    /// The records as a hit sees them.
    pub(super) fn wire(&self) -> Wire<'_> {
        Wire::new(&self.bytes, self.owner_len, self.count, self.data_len)
    }
}

impl<'a> Wire<'a> {
    /// The view of `bytes` holding `count` records of an owner `owner_len` long in its
    /// first `data_len` bytes, then the attachments.
    pub(super) fn new(bytes: &'a [u8], owner_len: u16, count: u16, data_len: u16) -> Self {
        let (bytes, attached) = bytes
            .split_at_checked(usize::from(data_len))
            .unwrap_or((bytes, &[]));
        Wire {
            bytes,
            owner_len: usize::from(owner_len),
            count: usize::from(count),
            attached,
        }
    }

    /// The attached records (all empty for an entry without any).
    pub(crate) fn attachments(&self) -> Attachments<'a> {
        let (Some(sigs), Some(lead)) = (be16(self.attached, 0), be16(self.attached, 2)) else {
            return Attachments::default();
        };
        let mut rest = self.attached.get(4..).unwrap_or_default();
        let mut run = |n: u16| {
            let start = rest;
            for _ in 0..n {
                match split_full(rest) {
                    Some((_, next)) => rest = next,
                    None => break,
                }
            }
            let taken = start.len() - rest.len();
            FullRrs {
                bytes: start.get(..taken).unwrap_or_default(),
            }
        };
        let sigs = run(sigs);
        let lead = run(lead);
        Attachments {
            sigs,
            lead,
            proof: FullRrs { bytes: rest },
        }
    }

    /// Whether the entry has attached records.
    pub(crate) fn has_attachments(&self) -> bool {
        !self.attached.is_empty()
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
        self.bytes.len() + self.attached.len()
    }

    /// The records' size written out uncompressed, the owner repeated on each, and
    /// their attachments'.
    pub(crate) fn records_len(&self) -> usize {
        (self.count * self.owner_len + self.bytes.len()).saturating_sub(self.owner_len)
            + self.attached.len()
    }
}

/// The big-endian u16 at `at` in `b`.
fn be16(b: &[u8], at: usize) -> Option<u16> {
    match b.get(at..at + 2)? {
        [hi, lo] => Some(u16::from_be_bytes([*hi, *lo])),
        _ => None,
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
    /// Whether the entry was validated secure (the full path sets AD for it).
    pub(crate) secure: bool,
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

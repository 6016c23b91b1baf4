//! The cache-hit fast path: a standard query parsed straight from its bytes and a
//! cached answer written straight into the reply, no `Message` in between.
//!
//! [`Question::parse`] accepts only the common shape — opcode QUERY, one question of
//! class IN with an uncompressed name, no answer or authority records, at most an OPT
//! record (version 0, well-formed options, no client subnet) and nothing after it —
//! and the engine gives everything else to the full path, which also owns every error
//! answer. [`write_answer`]'s output carries the same content, section by section, as
//! the full path's `Message` encoding of the same answer; it compresses less (only
//! owners equal to the question name become pointers), so the engine declines any
//! answer that does not fit the client's limit and lets the full path truncate it.

use alloc::vec::Vec;

use crate::cache::{MAX_NAME, TAIL_TTL, Wire, name_len};

/// Header length.
pub(crate) const HEADER: usize = 12;
/// Offset of the question name, where a compression pointer to it points.
const QNAME_AT: u16 = 12;

/// Query types the fast path leaves to the full path: OPT, and the meta and
/// question-only types (TKEY, TSIG, IXFR, AXFR, MAILB, MAILA, ANY) that it refuses or
/// answers specially.
fn special_qtype(t: u16) -> bool {
    t == 0 || t == 41 || (128..=255).contains(&t)
}

/// The question of a well-formed standard query, as offsets into its bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Question<'a> {
    bytes: &'a [u8],
    /// End of the question section (after QTYPE and QCLASS).
    question_end: usize,
    /// The query type.
    pub(crate) qtype: u16,
    /// The client's EDNS UDP payload size, if it sent OPT.
    pub(crate) edns: Option<u16>,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    match b.get(at..at + 2)? {
        [hi, lo] => Some(u16::from_be_bytes([*hi, *lo])),
        _ => None,
    }
}

impl<'a> Question<'a> {
    /// Parse `bytes` if it is a query of the common shape; `None` for anything else.
    /// Never panics: every read is bounds-checked.
    pub(crate) fn parse(bytes: &'a [u8]) -> Option<Self> {
        let flags = be16(bytes, 2)?;
        // QR=0, OPCODE=QUERY; AA, TC, Z, RCODE of a query are ignored, as the full path
        // ignores them.
        if flags & 0xf800 != 0 {
            return None;
        }
        let (qd, an, ns, ar) = (
            be16(bytes, 4)?,
            be16(bytes, 6)?,
            be16(bytes, 8)?,
            be16(bytes, 10)?,
        );
        if qd != 1 || an != 0 || ns != 0 || ar > 1 {
            return None;
        }
        let name_end = HEADER + name_len(bytes.get(HEADER..)?)?;
        let qtype = be16(bytes, name_end)?;
        let qclass = be16(bytes, name_end + 2)?;
        if qclass != 1 || special_qtype(qtype) {
            return None;
        }
        let question_end = name_end + 4;
        let mut end = question_end;
        let edns = if ar == 1 {
            // OPT: root owner, TYPE 41, CLASS = payload, TTL = ext-rcode, version, flags.
            let opt = bytes.get(end..end + 11)?;
            if opt.first() != Some(&0) || be16(opt, 1)? != 41 || opt.get(6) != Some(&0) {
                return None;
            }
            let payload = be16(opt, 3)?;
            let rdlen = usize::from(be16(opt, 9)?);
            end += 11;
            let mut options = bytes.get(end..end + rdlen)?;
            end += rdlen;
            // Options must tile the RDATA exactly. Client subnet (8) is the one option
            // the full path's parser interprets and may reject; leave it to that path.
            while !options.is_empty() {
                let code = be16(options, 0)?;
                let len = usize::from(be16(options, 2)?);
                if code == 8 {
                    return None;
                }
                options = options.get(4 + len..)?;
            }
            Some(payload)
        } else {
            None
        };
        if end != bytes.len() {
            return None;
        }
        Some(Question {
            bytes,
            question_end,
            qtype,
            edns,
        })
    }

    /// The query ID.
    pub(crate) fn id(&self) -> [u8; 2] {
        match self.bytes.get(..2) {
            Some([a, b]) => [*a, *b],
            _ => [0, 0],
        }
    }

    /// Whether the client set RD.
    pub(crate) fn rd(&self) -> bool {
        self.bytes.get(2).is_some_and(|f| f & 0x01 != 0)
    }

    /// Whether the client set CD.
    pub(crate) fn cd(&self) -> bool {
        self.bytes.get(3).is_some_and(|f| f & 0x10 != 0)
    }

    /// The question name as the client wrote it (uncompressed wire form).
    pub(crate) fn name(&self) -> &'a [u8] {
        self.bytes
            .get(HEADER..self.question_end.saturating_sub(4))
            .unwrap_or_default()
    }

    /// The question section as the client wrote it (letter case preserved).
    pub(crate) fn section(&self) -> &'a [u8] {
        self.bytes
            .get(HEADER..self.question_end)
            .unwrap_or_default()
    }
}

/// Where a written record's owner name comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Owner {
    /// A pointer to the question name: the owner equals it (the client's letter case,
    /// as the full path writes it).
    Question,
    /// The owner as stored.
    Stored,
}

/// A reply under construction: header and question written, sections appended in
/// order, counts filled in by [`Reply::finish`].
pub(crate) struct Reply {
    out: Vec<u8>,
    answers: u16,
    authority: u16,
}

impl Reply {
    /// Start a reply to `q` with room for `extra` bytes of records and the OPT record.
    pub(crate) fn new(q: &Question<'_>, extra: usize) -> Self {
        let section = q.section();
        let mut out = Vec::with_capacity(HEADER + section.len() + extra + 11);
        let [i0, i1] = q.id();
        // QR, OPCODE=QUERY, RD echoed; RA, CD echoed, RCODE set in `finish`.
        let f0 = 0x80 | u8::from(q.rd());
        let f1 = 0x80 | if q.cd() { 0x10 } else { 0 };
        out.extend_from_slice(&[i0, i1, f0, f1, 0, 1, 0, 0, 0, 0, 0, 0]);
        out.extend_from_slice(section);
        Reply {
            out,
            answers: 0,
            authority: 0,
        }
    }

    /// Append `count` records of `wire` (all of them if fewer) with TTL `ttl`, as
    /// answers or authority. Answers must all be written before any authority record.
    pub(crate) fn push(
        &mut self,
        wire: &Wire,
        count: usize,
        owner: Owner,
        ttl: u32,
        authority: bool,
    ) -> Option<()> {
        for rr in wire.rrs().take(count) {
            match owner {
                Owner::Question => self
                    .out
                    .extend_from_slice(&(0xc000 | QNAME_AT).to_be_bytes()),
                Owner::Stored => self.out.extend_from_slice(wire.owner()),
            }
            let at = self.out.len() + TAIL_TTL;
            self.out.extend_from_slice(rr.tail);
            self.out
                .get_mut(at..at + 4)?
                .copy_from_slice(&ttl.to_be_bytes());
            let n = if authority {
                &mut self.authority
            } else {
                &mut self.answers
            };
            *n = n.checked_add(1)?;
        }
        Some(())
    }

    /// Reserve room for `n` more bytes.
    pub(crate) fn reserve(&mut self, n: usize) {
        self.out.reserve(n);
    }

    /// Write the counts, the RCODE and (if the client sent OPT) our OPT record with
    /// `payload` as the UDP size.
    pub(crate) fn finish(mut self, rcode: u8, edns: Option<u16>) -> Vec<u8> {
        if let Some(f1) = self.out.get_mut(3) {
            *f1 |= rcode & 0x0f;
        }
        let counts = [
            1u16,
            self.answers,
            self.authority,
            u16::from(edns.is_some()),
        ];
        for (i, c) in counts.iter().enumerate() {
            if let Some(d) = self.out.get_mut(4 + 2 * i..6 + 2 * i) {
                d.copy_from_slice(&c.to_be_bytes());
            }
        }
        if let Some(p) = edns {
            let [hi, lo] = p.to_be_bytes();
            self.out
                .extend_from_slice(&[0, 0, 41, hi, lo, 0, 0, 0, 0, 0, 0]);
        }
        self.out
    }
}

/// Whether two uncompressed wire names are equal, ignoring ASCII case.
pub(crate) fn same_name(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.len() <= MAX_NAME && a.eq_ignore_ascii_case(b)
}

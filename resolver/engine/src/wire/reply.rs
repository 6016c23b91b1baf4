//! A reply written straight from pre-encoded cache records: header and question first,
//! sections appended in order, counts and RCODE filled in by [`Reply::finish`].
//!
//! The output carries the same content, section by section, as the full path's
//! `Message` encoding of the same answer; it compresses less (only owners equal to the
//! question name become pointers), so the answer path declines any reply that does not
//! fit the client's limit and lets the full path truncate it.

use alloc::vec::Vec;

use hickory_proto::op::ResponseCode;

use super::header::{self, ReplyFlags, field};
use super::question::{Question, opt};
use super::write_u16;
use crate::cache::{FullRr, TAIL_TTL, Wire};

/// Offset of the question name, where a compression pointer to it points.
const QNAME_AT: u16 = header::LEN as u16;

/// Where a written record's owner name comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Owner {
    /// A pointer to the question name: the owner equals it (the client's letter case,
    /// as the full path writes it).
    Question,
    /// The owner as stored.
    Stored,
}

/// A reply under construction.
pub(crate) struct Reply {
    /// The message so far.
    out: Vec<u8>,
    /// Records written to the answer section.
    answers: u16,
    /// Records written to the authority section.
    authority: u16,
    /// The header flags (RCODE set by `finish`).
    flags: ReplyFlags,
}

impl Reply {
    /// Start a reply to `q` with room for `extra` bytes of records and the OPT record.
    pub(crate) fn new(q: &Question<'_>, extra: usize) -> Self {
        let section = q.section();
        let mut out = Vec::with_capacity(header::LEN + section.len() + extra + opt::LEN);
        let flags = ReplyFlags {
            opcode: 0,
            rd: q.rd(),
            cd: q.cd(),
            tc: false,
            rcode: ResponseCode::NoError,
        };
        out.extend_from_slice(&flags.bare(q.id()));
        out.extend_from_slice(section);
        Reply {
            out,
            answers: 0,
            authority: 0,
            flags,
        }
    }

    /// Append `count` records of `wire` (all of them if fewer) with TTL `ttl`, as
    /// answers or authority. Answers must all be written before any authority record.
    pub(crate) fn push(
        &mut self,
        wire: Wire<'_>,
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

    /// Append one whole record (an attachment): its owner a pointer to the question
    /// name if `owner` says so, else as stored.
    pub(crate) fn push_full(
        &mut self,
        rr: FullRr<'_>,
        owner: Owner,
        ttl: u32,
        authority: bool,
    ) -> Option<()> {
        match owner {
            Owner::Question => self
                .out
                .extend_from_slice(&(0xc000 | QNAME_AT).to_be_bytes()),
            Owner::Stored => self.out.extend_from_slice(rr.owner),
        }
        let at = self.out.len() + TAIL_TTL;
        self.out.extend_from_slice(rr.rr.tail);
        self.out
            .get_mut(at..at + 4)?
            .copy_from_slice(&ttl.to_be_bytes());
        let n = if authority {
            &mut self.authority
        } else {
            &mut self.answers
        };
        *n = n.checked_add(1)?;
        Some(())
    }

    /// Write the counts, the RCODE and (if the client sent OPT) our OPT record with
    /// `payload` as the UDP size, DO echoed if `dnssec_ok` (RFC 3225).
    pub(crate) fn finish(
        mut self,
        rcode: ResponseCode,
        edns: Option<u16>,
        dnssec_ok: bool,
    ) -> Vec<u8> {
        self.flags.rcode = rcode;
        write_u16(&mut self.out, field::FLAGS, self.flags.bits());
        write_u16(&mut self.out, field::QDCOUNT, 1);
        write_u16(&mut self.out, field::ANCOUNT, self.answers);
        write_u16(&mut self.out, field::NSCOUNT, self.authority);
        write_u16(&mut self.out, field::ARCOUNT, u16::from(edns.is_some()));
        if let Some(p) = edns {
            let [hi, lo] = p.to_be_bytes();
            let flags = if dnssec_ok { opt::DO } else { 0 };
            self.out
                .extend_from_slice(&[0, 0, 41, hi, lo, 0, 0, flags, 0, 0, 0]);
        }
        self.out
    }
}

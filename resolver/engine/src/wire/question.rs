//! A standard query's question read straight from its bytes, for the cache-hit fast
//! path.
//!
//! [`Question::parse`] accepts only the common shape — opcode QUERY, one question of
//! class IN with an uncompressed name, no answer or authority records, at most an OPT
//! record (version 0, well-formed options, no client subnet) and nothing after it —
//! and the engine gives everything else to the full path, which also owns every error
//! answer.

use super::be16;
use super::header::{self, Header, flag};
use crate::cache::name_len;

/// Byte ranges of an OPT record (RFC 6891 §6.1.2), from its start.
pub(crate) mod opt {
    use crate::wire::Field;

    /// The owner: the root name, one zero byte.
    pub(crate) const OWNER: usize = 0;
    /// TYPE (41).
    pub(crate) const TYPE: Field = 1..3;
    /// CLASS: the requestor's UDP payload size.
    pub(crate) const UDP_PAYLOAD: Field = 3..5;
    /// The TTL's second byte: the EDNS version.
    pub(crate) const VERSION: usize = 6;
    /// The TTL's third byte: DO (RFC 3225) is its top bit.
    pub(crate) const FLAGS_HI: usize = 7;
    /// DO in [`FLAGS_HI`].
    pub(crate) const DO: u8 = 0x80;
    /// RDLENGTH.
    pub(crate) const RDLENGTH: Field = 9..11;
    /// Length of the fixed part.
    pub(crate) const LEN: usize = 11;
    /// The option code of EDNS Client Subnet (RFC 7871).
    pub(crate) const CLIENT_SUBNET: u16 = 8;
}

/// Query types the fast path leaves to the full path: OPT, and the meta and
/// question-only types (TKEY, TSIG, IXFR, AXFR, MAILB, MAILA, ANY) that it refuses or
/// answers specially.
fn special_qtype(t: u16) -> bool {
    t == 0 || t == 41 || (128..=255).contains(&t)
}

/// The question of a well-formed standard query, as offsets into its bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Question<'a> {
    /// The whole query.
    bytes: &'a [u8],
    /// End of the question section (after QTYPE and QCLASS).
    question_end: usize,
    /// The query type.
    pub(crate) qtype: u16,
    /// The client's EDNS UDP payload size, if it sent OPT.
    pub(crate) edns: Option<u16>,
    /// Whether the client set DO (RFC 3225): it wants RRSIG, NSEC and NSEC3 records.
    pub(crate) dnssec_ok: bool,
}

impl<'a> Question<'a> {
    /// Parse `bytes` if it is a query of the common shape; `None` for anything else.
    /// Never panics: every read is bounds-checked.
    pub(crate) fn parse(bytes: &'a [u8]) -> Option<Self> {
        let h = Header::new_checked(bytes)?;
        // QR=0, OPCODE=QUERY; AA, TC, Z, RCODE of a query are ignored, as the full path
        // ignores them.
        if h.flags() & (flag::QR | flag::OPCODE) != 0 {
            return None;
        }
        let (qd, an, ns, ar) = (h.qdcount(), h.ancount(), h.nscount(), h.arcount());
        if qd != 1 || an != 0 || ns != 0 || ar > 1 {
            return None;
        }
        let name_end = header::LEN + name_len(bytes.get(header::LEN..)?)?;
        let qtype = be16(bytes, name_end)?;
        let qclass = be16(bytes, name_end + 2)?;
        if qclass != 1 || special_qtype(qtype) {
            return None;
        }
        let question_end = name_end + 4;
        let mut end = question_end;
        let mut dnssec_ok = false;
        let edns = if ar == 1 {
            // OPT: root owner, TYPE 41, CLASS = payload, TTL = ext-rcode, version, flags.
            let rr = bytes.get(end..end + opt::LEN)?;
            if rr.get(opt::OWNER) != Some(&0)
                || super::read_u16(rr, opt::TYPE)? != 41
                || rr.get(opt::VERSION) != Some(&0)
            {
                return None;
            }
            let payload = super::read_u16(rr, opt::UDP_PAYLOAD)?;
            dnssec_ok = rr.get(opt::FLAGS_HI).is_some_and(|f| f & opt::DO != 0);
            let rdlen = usize::from(super::read_u16(rr, opt::RDLENGTH)?);
            end += opt::LEN;
            let mut options = bytes.get(end..end + rdlen)?;
            end += rdlen;
            // Options must tile the RDATA exactly. Client subnet is the one option the
            // full path's parser interprets and may reject; leave it to that path.
            while !options.is_empty() {
                let code = be16(options, 0)?;
                let len = usize::from(be16(options, 2)?);
                if code == opt::CLIENT_SUBNET {
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
            dnssec_ok,
        })
    }

    /// The header (checked in `parse`).
    fn header(&self) -> Option<Header<'a>> {
        Header::new_checked(self.bytes)
    }

    /// The query ID.
    pub(crate) fn id(&self) -> u16 {
        self.header().map_or(0, |h| h.id())
    }

    /// Whether the client set RD.
    pub(crate) fn rd(&self) -> bool {
        self.header().is_some_and(|h| h.rd())
    }

    /// Whether the client set CD.
    pub(crate) fn cd(&self) -> bool {
        self.header().is_some_and(|h| h.cd())
    }

    /// The AD bit (RFC 6840 §5.7: the client understands AD).
    pub(crate) fn ad(&self) -> bool {
        self.header().is_some_and(|h| h.ad())
    }

    /// The question name as the client wrote it (uncompressed wire form).
    pub(crate) fn name(&self) -> &'a [u8] {
        self.bytes
            .get(header::LEN..self.question_end.saturating_sub(4))
            .unwrap_or_default()
    }

    /// The question section as the client wrote it (letter case preserved).
    pub(crate) fn section(&self) -> &'a [u8] {
        self.bytes
            .get(header::LEN..self.question_end)
            .unwrap_or_default()
    }
}

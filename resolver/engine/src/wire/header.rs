//! The DNS header (RFC 1035 §4.1.1): a view for reading one, and [`ReplyFlags`], the
//! one place where the flags of every reply the engine writes are decided (the bare
//! error header, the fast path's reply and the full path's `Message`).

use hickory_proto::op::{Message, ResponseCode};

use super::{Field, read_u16, write_u16};

/// Byte ranges of the header fields.
pub(crate) mod field {
    use crate::wire::Field;

    /// Message ID.
    pub(crate) const ID: Field = 0..2;
    /// QR, OPCODE, AA, TC, RD, RA, Z, AD, CD, RCODE.
    pub(crate) const FLAGS: Field = 2..4;
    /// Question count.
    pub(crate) const QDCOUNT: Field = 4..6;
    /// Answer count.
    pub(crate) const ANCOUNT: Field = 6..8;
    /// Authority count.
    pub(crate) const NSCOUNT: Field = 8..10;
    /// Additional count.
    pub(crate) const ARCOUNT: Field = 10..12;
}

/// Header length.
pub(crate) const LEN: usize = 12;

/// Bits of the FLAGS field.
pub(crate) mod flag {
    /// A response.
    pub(crate) const QR: u16 = 0x8000;
    /// The OPCODE (4 bits).
    pub(crate) const OPCODE: u16 = 0x7800;
    /// Truncated.
    pub(crate) const TC: u16 = 0x0200;
    /// Recursion desired.
    pub(crate) const RD: u16 = 0x0100;
    /// Recursion available.
    pub(crate) const RA: u16 = 0x0080;
    /// Checking disabled.
    pub(crate) const CD: u16 = 0x0010;
    /// Authentic data.
    pub(crate) const AD: u16 = 0x0020;
    /// The RCODE (low 4 bits).
    pub(crate) const RCODE: u16 = 0x000f;
}

/// A read-only view of a header at the start of a message. After
/// [`Header::new_checked`] no accessor can fail.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Header<'a> {
    /// The message; at least [`LEN`] bytes.
    bytes: &'a [u8],
}

impl<'a> Header<'a> {
    /// The header of `bytes`; `None` if shorter than a header.
    pub(crate) fn new_checked(bytes: &'a [u8]) -> Option<Self> {
        (bytes.len() >= LEN).then_some(Header { bytes })
    }

    /// The `u16` at `f` (within the checked length).
    fn get(&self, f: Field) -> u16 {
        read_u16(self.bytes, f).unwrap_or(0)
    }

    /// The message ID.
    pub(crate) fn id(&self) -> u16 {
        self.get(field::ID)
    }

    /// The FLAGS field.
    pub(crate) fn flags(&self) -> u16 {
        self.get(field::FLAGS)
    }

    /// Whether QR is set.
    pub(crate) fn is_response(&self) -> bool {
        self.flags() & flag::QR != 0
    }

    /// The OPCODE.
    pub(crate) fn opcode(&self) -> u8 {
        ((self.flags() & flag::OPCODE) >> 11) as u8
    }

    /// Whether RD is set.
    pub(crate) fn rd(&self) -> bool {
        self.flags() & flag::RD != 0
    }

    /// Whether CD is set.
    pub(crate) fn cd(&self) -> bool {
        self.flags() & flag::CD != 0
    }

    /// Whether AD is set.
    pub(crate) fn ad(&self) -> bool {
        self.flags() & flag::AD != 0
    }

    /// QDCOUNT.
    pub(crate) fn qdcount(&self) -> u16 {
        self.get(field::QDCOUNT)
    }

    /// ANCOUNT.
    pub(crate) fn ancount(&self) -> u16 {
        self.get(field::ANCOUNT)
    }

    /// NSCOUNT.
    pub(crate) fn nscount(&self) -> u16 {
        self.get(field::NSCOUNT)
    }

    /// ARCOUNT.
    pub(crate) fn arcount(&self) -> u16 {
        self.get(field::ARCOUNT)
    }
}

/// QDCOUNT of a DNS message; `None` when `bytes` is shorter than a header.
pub(crate) fn question_count(bytes: &[u8]) -> Option<u16> {
    Header::new_checked(bytes).map(|h| h.qdcount())
}

/// The header flags of a reply: QR and RA always set, AA never (the engine is not
/// authoritative), OPCODE, RD and CD as the query had them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReplyFlags {
    /// The query's OPCODE (QUERY for everything but the bare NOTIMP header).
    pub(crate) opcode: u8,
    /// The query's RD.
    pub(crate) rd: bool,
    /// The query's CD (not echoed on a bare header, which did not parse that far).
    pub(crate) cd: bool,
    /// Whether the answer was cut to fit (the client retries over TCP).
    pub(crate) tc: bool,
    /// The response code (its low 4 bits go in the header, the rest in OPT).
    pub(crate) rcode: ResponseCode,
}

impl ReplyFlags {
    /// The FLAGS field.
    pub(crate) fn bits(&self) -> u16 {
        let mut f = flag::QR | flag::RA | (u16::from(self.opcode & 0x0f) << 11);
        if self.rd {
            f |= flag::RD;
        }
        if self.cd {
            f |= flag::CD;
        }
        if self.tc {
            f |= flag::TC;
        }
        f | (u16::from(self.rcode.low()) & flag::RCODE)
    }

    /// A bare header: these flags, ID `id`, every count 0.
    pub(crate) fn bare(&self, id: u16) -> [u8; LEN] {
        let mut h = [0u8; LEN];
        write_u16(&mut h, field::ID, id);
        write_u16(&mut h, field::FLAGS, self.bits());
        h
    }

    /// Set these flags on a response `Message` (built with OPCODE QUERY).
    pub(crate) fn apply(&self, m: &mut Message) {
        m.metadata.recursion_desired = self.rd;
        m.metadata.recursion_available = true;
        m.metadata.checking_disabled = self.cd;
        m.metadata.truncation = self.tc;
        m.metadata.response_code = self.rcode;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_flags() {
        let q = [0xab, 0xcd, 0x29, 0x10, 0, 1, 0, 2, 0, 3, 0, 4];
        let h = Header::new_checked(&q).unwrap();
        assert_eq!(
            (h.id(), h.opcode(), h.rd(), h.cd()),
            (0xabcd, 5, true, true)
        );
        assert_eq!(
            (h.qdcount(), h.ancount(), h.nscount(), h.arcount()),
            (1, 2, 3, 4)
        );
        assert!(!h.is_response());
        assert!(Header::new_checked(&q[..11]).is_none());
        let f = ReplyFlags {
            opcode: h.opcode(),
            rd: h.rd(),
            cd: false,
            tc: false,
            rcode: ResponseCode::NotImp,
        };
        // QR, the query's OPCODE and RD; RA; RCODE.
        assert_eq!(
            f.bare(h.id()),
            [0xab, 0xcd, 0xa9, 0x84, 0, 0, 0, 0, 0, 0, 0, 0]
        );
    }
}

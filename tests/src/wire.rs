//! Just enough DNS wire format for the raw clients of the end-to-end tests (pipelined
//! TCP, malformed packets): build a query, read the header of an answer.

/// A standard query with RD set for `name` (dotted, no trailing dot needed) and `qtype`.
pub fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut m = Vec::with_capacity(64);
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.') {
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.push(0);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    m
}

/// Record type numbers used by the tests.
pub const A: u16 = 1;
/// TXT.
pub const TXT: u16 = 16;

/// The header fields of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Message id.
    pub id: u16,
    /// RCODE (low 4 bits).
    pub rcode: u8,
    /// TC flag.
    pub tc: bool,
    /// Answer count.
    pub ancount: u16,
}

/// Reads the header of `msg`, if it is long enough and is a response.
pub fn header(msg: &[u8]) -> Option<Header> {
    if msg.len() < 12 || msg[2] & 0x80 == 0 {
        return None;
    }
    Some(Header {
        id: u16::from_be_bytes([msg[0], msg[1]]),
        rcode: msg[3] & 0x0f,
        tc: msg[2] & 0x02 != 0,
        ancount: u16::from_be_bytes([msg[6], msg[7]]),
    })
}

/// `msg` with its 2-byte TCP length prefix.
pub fn framed(msg: &[u8]) -> Vec<u8> {
    let mut f = (msg.len() as u16).to_be_bytes().to_vec();
    f.extend_from_slice(msg);
    f
}

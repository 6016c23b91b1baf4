//! Views over DNS message bytes, in smoltcp's style: every field is a named byte range,
//! every read is bounds-checked (`get`, never indexing), so no input can make an
//! accessor panic.
//!
//! * [`header`]: the 12-byte header, its fields and flag bits, and the one place a
//!   reply's header flags are decided ([`header::ReplyFlags`]);
//! * [`question`]: a standard query's question read straight from its bytes (the fast
//!   path's parser);
//! * [`reply`]: a reply written straight from pre-encoded cache records.

pub(crate) mod header;
pub(crate) mod question;
pub(crate) mod reply;

/// A field of a wire structure: its byte range.
pub(crate) type Field = core::ops::Range<usize>;

/// The big-endian `u16` at `field` of `b`; `None` if `b` is too short.
pub(crate) fn read_u16(b: &[u8], field: Field) -> Option<u16> {
    match b.get(field)? {
        [hi, lo] => Some(u16::from_be_bytes([*hi, *lo])),
        _ => None,
    }
}

/// The big-endian `u16` at offset `at` of `b`; `None` if `b` is too short.
pub(crate) fn be16(b: &[u8], at: usize) -> Option<u16> {
    read_u16(b, at..at + 2)
}

/// Write `v` big-endian into `field` of `b`; nothing if `b` is too short.
pub(crate) fn write_u16(b: &mut [u8], field: Field, v: u16) {
    if let Some(d) = b.get_mut(field)
        && d.len() == 2
    {
        d.copy_from_slice(&v.to_be_bytes());
    }
}

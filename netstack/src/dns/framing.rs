//! RFC 1035 §4.2.2 / RFC 7766 framing: every DNS message on TCP is preceded by its
//! length as a 2-byte big-endian integer.
//!
//! [`FrameReader`] reassembles messages from arbitrary chunks of a byte stream, one at a
//! time, with a cap on the announced length. It is a pure function of its input, so the
//! TCP code can feed it whatever slices smoltcp's ring buffer hands out.

use alloc::vec::Vec;

/// Why a stream was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FrameError {
    /// The length prefix was zero or above the cap.
    BadLength(u16),
}

impl core::fmt::Display for FrameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FrameError::BadLength(n) => write!(f, "length prefix {n} is zero or above the cap"),
        }
    }
}

/// Reassembles 2-byte-length-framed messages.
#[derive(Debug)]
pub(crate) struct FrameReader {
    max: usize,
    len_buf: [u8; 2],
    have_len: usize,
    need: usize,
    buf: Vec<u8>,
}

impl FrameReader {
    /// A reader accepting messages of 1..=`max` bytes.
    pub fn new(max: usize) -> Self {
        FrameReader {
            max,
            len_buf: [0; 2],
            have_len: 0,
            need: 0,
            buf: Vec::new(),
        }
    }

    /// Whether part of a message (its length prefix at least) was read and the rest is
    /// still to come.
    pub fn in_message(&self) -> bool {
        self.have_len > 0
    }

    /// Consumes bytes from `input` up to the end of the current message at most.
    ///
    /// Returns how many bytes were consumed and a complete message if one ended.
    /// After an error it must not be fed again (the connection is reset anyway).
    pub fn feed(&mut self, input: &[u8]) -> (usize, Result<Option<Vec<u8>>, FrameError>) {
        let mut used = 0;
        while self.have_len < 2 {
            let Some(&b) = input.get(used) else {
                return (used, Ok(None));
            };
            self.len_buf[self.have_len] = b;
            self.have_len += 1;
            used += 1;
            if self.have_len == 2 {
                let n = u16::from_be_bytes(self.len_buf);
                if n == 0 || usize::from(n) > self.max {
                    return (used, Err(FrameError::BadLength(n)));
                }
                self.need = usize::from(n);
                self.buf = Vec::with_capacity(self.need);
            }
        }
        let rest = input.get(used..).unwrap_or(&[]);
        let take = rest.len().min(self.need - self.buf.len());
        self.buf.extend_from_slice(&rest[..take]);
        used += take;
        if self.buf.len() == self.need {
            let msg = core::mem::take(&mut self.buf);
            self.have_len = 0;
            self.need = 0;
            (used, Ok(Some(msg)))
        } else {
            (used, Ok(None))
        }
    }
}

/// `msg` with its 2-byte length prefix, or `None` if it is longer than 65535 bytes.
pub(crate) fn frame(msg: &[u8]) -> Option<Vec<u8>> {
    let len = u16::try_from(msg.len()).ok()?;
    let mut out = Vec::with_capacity(msg.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(msg);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn two_messages_in_one_chunk_come_out_one_by_one() {
        let mut r = FrameReader::new(100);
        let input = [0, 2, b'a', b'b', 0, 1, b'c'];
        let (n, m) = r.feed(&input);
        assert_eq!((n, m), (4, Ok(Some(b"ab".to_vec()))));
        let (n2, m2) = r.feed(&input[n..]);
        assert_eq!((n2, m2), (3, Ok(Some(b"c".to_vec()))));
    }

    #[test]
    fn byte_by_byte() {
        let mut r = FrameReader::new(100);
        let input = [0, 3, 1, 2, 3];
        for (i, b) in input.iter().enumerate() {
            let (n, m) = r.feed(core::slice::from_ref(b));
            assert_eq!(n, 1);
            if i < 4 {
                assert_eq!(m, Ok(None));
            } else {
                assert_eq!(m, Ok(Some(vec![1, 2, 3])));
            }
        }
    }

    #[test]
    fn in_message_from_the_first_byte_to_the_last() {
        let mut r = FrameReader::new(100);
        assert!(!r.in_message());
        assert_eq!(r.feed(&[0]), (1, Ok(None)));
        assert!(r.in_message());
        assert_eq!(r.feed(&[2, b'a']), (2, Ok(None)));
        assert!(r.in_message());
        assert_eq!(r.feed(b"b"), (1, Ok(Some(b"ab".to_vec()))));
        assert!(!r.in_message());
    }

    #[test]
    fn zero_and_oversized_lengths_are_errors() {
        assert_eq!(
            FrameReader::new(100).feed(&[0, 0, 1]),
            (2, Err(FrameError::BadLength(0)))
        );
        assert_eq!(
            FrameReader::new(100).feed(&[0, 101]),
            (2, Err(FrameError::BadLength(101)))
        );
        assert_eq!(FrameReader::new(100).feed(&[0, 100]), (2, Ok(None)));
    }

    #[test]
    fn frame_adds_prefix_and_refuses_huge() {
        assert_eq!(frame(b"xy"), Some(vec![0, 2, b'x', b'y']));
        assert!(frame(&vec![0; 65535]).is_some());
        assert!(frame(&vec![0; 65536]).is_none());
    }
}

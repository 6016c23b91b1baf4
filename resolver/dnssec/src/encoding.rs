//! Hex, base64 and base32hex decoding, by hand.
//!
//! Three small strict decoders instead of a dependency: the trust-anchor parser is
//! meant for the config crate, which takes no dependencies it can avoid, and NSEC3
//! owner labels need base32hex case-insensitively, which the general crates do not do
//! without building a custom alphabet. Each is checked against RFC 4648 §10's vectors.

use alloc::vec::Vec;

/// Decodes hex (either case, even length, no separators).
pub fn hex_decode(s: &[u8]) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.chunks_exact(2)
        .map(|p| match p {
            [h, l] => Some(nibble(*h)? << 4 | nibble(*l)?),
            _ => None,
        })
        .collect()
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes standard base64 (RFC 4648 §4) with the padding required and no whitespace.
pub fn base64_decode(s: &[u8]) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let chunks = s.len() / 4;
    for (i, c) in s.chunks_exact(4).enumerate() {
        let last = i + 1 == chunks;
        let pad = c.iter().rev().take_while(|&&b| b == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut acc: u32 = 0;
        for (j, &b) in c.iter().enumerate() {
            let v = if j >= 4 - pad { 0 } else { b64(b)? };
            acc = acc << 6 | v as u32;
        }
        let bytes = acc.to_be_bytes();
        let take = 3 - pad;
        // Non-zero bits in the padding positions mean a non-canonical encoding.
        if bytes
            .get(1 + take..)
            .is_some_and(|rest| rest.iter().any(|&b| b != 0))
        {
            return None;
        }
        out.extend_from_slice(bytes.get(1..1 + take)?);
    }
    Some(out)
}

fn b64(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Decodes base32hex (RFC 4648 §7) without padding, either case, as NSEC3 owner labels
/// are written (RFC 5155 §3.3). Lengths that cannot come from whole octets are refused.
pub fn base32hex_decode(s: &[u8]) -> Option<Vec<u8>> {
    if matches!(s.len() % 8, 1 | 3 | 6) {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 5 / 8);
    let mut acc: u64 = 0;
    let mut bits = 0u32;
    for &c in s {
        let v = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'v' => c - b'a' + 10,
            b'A'..=b'V' => c - b'A' + 10,
            _ => return None,
        };
        acc = acc << 5 | v as u64;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1u64 << bits) - 1;
        }
    }
    // Leftover bits must be zero (canonical encoding).
    if acc != 0 {
        return None;
    }
    Some(out)
}

/// Encodes base32hex, lowercase, no padding (for building NSEC3 owner names).
pub fn base32hex_encode(b: &[u8]) -> alloc::string::String {
    const A: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
    let mut out = alloc::string::String::with_capacity(b.len().div_ceil(5) * 8);
    let mut acc: u64 = 0;
    let mut bits = 0u32;
    for &x in b {
        acc = acc << 8 | x as u64;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(A[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(A[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4648 §10 test vectors.
    const VECTORS: [(&str, &str, &str, &str); 7] = [
        ("", "", "", ""),
        ("f", "Zg==", "CO======", "66"),
        ("fo", "Zm8=", "CPNG====", "666f"),
        ("foo", "Zm9v", "CPNMU===", "666f6f"),
        ("foob", "Zm9vYg==", "CPNMUOG=", "666f6f62"),
        ("fooba", "Zm9vYmE=", "CPNMUOJ1", "666f6f6261"),
        ("foobar", "Zm9vYmFy", "CPNMUOJ1E8======", "666f6f626172"),
    ];

    #[test]
    fn rfc4648_vectors() {
        for (plain, b64v, b32h, hex) in VECTORS {
            assert_eq!(base64_decode(b64v.as_bytes()).unwrap(), plain.as_bytes());
            let b32 = b32h.trim_end_matches('=');
            assert_eq!(
                base32hex_decode(b32.as_bytes()).unwrap(),
                plain.as_bytes(),
                "{b32h}"
            );
            assert_eq!(
                base32hex_decode(b32.to_ascii_lowercase().as_bytes()).unwrap(),
                plain.as_bytes()
            );
            assert_eq!(base32hex_encode(plain.as_bytes()), b32.to_ascii_lowercase());
            assert_eq!(hex_decode(hex.as_bytes()).unwrap(), plain.as_bytes());
            assert_eq!(
                hex_decode(hex.to_ascii_uppercase().as_bytes()).unwrap(),
                plain.as_bytes()
            );
        }
    }

    #[test]
    fn refuses_bad_input() {
        assert!(base64_decode(b"Zg=").is_none());
        assert!(base64_decode(b"Zg=a").is_none());
        assert!(base64_decode(b"Zh==").is_none()); // non-zero padding bits
        assert!(base64_decode(b"Zg==Zg==").is_none());
        assert!(base64_decode(b"Z===").is_none());
        assert!(base32hex_decode(b"w0").is_none());
        assert!(base32hex_decode(b"C").is_none());
        assert!(hex_decode(b"abc").is_none());
        assert!(hex_decode(b"zz").is_none());
    }
}

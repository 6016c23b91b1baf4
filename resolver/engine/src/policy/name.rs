//! Names as the policy tables see them: lower-cased, uncompressed wire labels, and a
//! keyed 64-bit hash of every suffix of a name, computed in one pass from the right.
//!
//! Why hashes: a blocklist of a million domains kept as names would take ~30 bytes
//! each plus a map's overhead; as 64-bit keys in a sorted table it is 8 bytes
//! ([`super::set::DomainSet`]). Two names share a key with probability about 2^-64 per
//! pair, so a million-domain list makes a false match about once per 2^44 lookups.
//! The key is drawn from the engine's seed, so nobody outside can pick names that
//! collide on purpose.

use alloc::vec::Vec;

use hickory_proto::rr::Name;

/// Most labels a wire name can have (255 bytes, one length byte per label).
pub(crate) const MAX_LABELS: usize = 128;

/// Longest uncompressed wire name (RFC 1035 §3.1).
pub(crate) const MAX_NAME: usize = 255;

/// The keyed hash of name suffixes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Hasher {
    /// The starting state.
    k0: u64,
    /// Mixed into every suffix's key.
    k1: u64,
}

/// An odd 64-bit constant (from the golden ratio) for the per-byte multiply.
const MUL: u64 = 0x9e37_79b9_7f4a_7c15;

/// The 64-bit finaliser of MurmurHash3: every input bit affects every output bit.
fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

impl Hasher {
    /// A hasher with these keys.
    pub(crate) const fn new(k0: u64, k1: u64) -> Self {
        Self { k0, k1 }
    }

    /// Call `f(start, key)` for every suffix of the uncompressed wire name `wire`,
    /// shortest first (the TLD, then one label more each time, the whole name last),
    /// where `start` is the suffix's offset in `wire`. The root alone is not a suffix.
    /// Letter case is ignored. Stops early when `f` returns true; returns whether it
    /// did. A malformed name (a pointer, a label past the end, longer than 255 bytes)
    /// has no suffixes.
    pub(crate) fn suffixes(&self, wire: &[u8], mut f: impl FnMut(usize, u64) -> bool) -> bool {
        let mut starts = [0u8; MAX_LABELS];
        let mut n = 0usize;
        let mut i = 0usize;
        loop {
            let Some(&len) = wire.get(i) else {
                return false;
            };
            if len == 0 {
                break;
            }
            if len & 0xc0 != 0 || i + 1 + usize::from(len) >= MAX_NAME {
                return false;
            }
            let Some(slot) = starts.get_mut(n) else {
                return false;
            };
            *slot = i as u8; // i < 255
            n += 1;
            i += 1 + usize::from(len);
        }
        let mut h = self.k0;
        for &s in starts.get(..n).unwrap_or_default().iter().rev() {
            let s = usize::from(s);
            let len = usize::from(wire.get(s).copied().unwrap_or(0));
            h = (h ^ len as u64).wrapping_mul(MUL);
            for &b in wire.get(s + 1..s + 1 + len).unwrap_or_default() {
                h = (h ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(MUL);
            }
            if f(s, fmix64(h ^ self.k1)) {
                return true;
            }
        }
        false
    }

    /// The key of the whole name `wire` (its longest suffix); `None` for the root or a
    /// malformed name.
    pub(crate) fn key(&self, wire: &[u8]) -> Option<u64> {
        let mut last = None;
        self.suffixes(wire, |_, k| {
            last = Some(k);
            false
        });
        last
    }
}

/// A domain written as text (`ads.example`, `ads.example.`, any case) as lower-cased
/// wire labels. `None` if it is not a host-style domain: empty labels, a label over 63
/// bytes, over 253 characters, the root alone, or bytes other than letters, digits,
/// `-` and `_`. (Underscores appear in real blocklists, `_dmarc`-style.)
pub(crate) fn wire_from_str(s: &str) -> Option<Vec<u8>> {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.is_empty() || s.len() > 253 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() + 2);
    for label in s.split('.') {
        let len = u8::try_from(label.len())
            .ok()
            .filter(|l| (1..=63).contains(l))?;
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return None;
        }
        out.push(len);
        out.extend(label.bytes().map(|b| b.to_ascii_lowercase()));
    }
    out.push(0);
    Some(out)
}

/// The lower-cased wire form of `name`; `None` if longer than 255 bytes.
pub(crate) fn wire_of(name: &Name) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(name.len() + 2);
    for label in name.iter() {
        out.push(u8::try_from(label.len()).ok()?);
        out.extend(label.iter().map(u8::to_ascii_lowercase));
    }
    out.push(0);
    (out.len() <= MAX_NAME).then_some(out)
}

/// The offsets of every suffix of `wire` (a well-formed wire name), longest first,
/// root excluded.
pub(crate) fn suffix_starts(wire: &[u8]) -> Vec<usize> {
    let mut v = Vec::new();
    let mut i = 0usize;
    while let Some(&len) = wire.get(i) {
        if len == 0 || len & 0xc0 != 0 {
            break;
        }
        v.push(i);
        i += 1 + usize::from(len);
    }
    v
}

/// `wire` (a wire name) as a hickory `Name`.
pub(crate) fn name_of(wire: &[u8]) -> Option<Name> {
    let mut labels: Vec<&[u8]> = Vec::new();
    let mut i = 0usize;
    loop {
        let len = usize::from(*wire.get(i)?);
        if len == 0 {
            break;
        }
        labels.push(wire.get(i + 1..i + 1 + len)?);
        i += 1 + len;
    }
    let mut n = Name::from_labels(labels).ok()?;
    n.set_fqdn(true);
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_to_wire() {
        assert_eq!(
            wire_from_str("Ads.Example.").unwrap(),
            b"\x03ads\x07example\x00"
        );
        assert_eq!(wire_from_str("a_b.c").unwrap(), b"\x03a_b\x01c\x00");
        for bad in ["", ".", "a..b", "a b", "é.example", &"x".repeat(64)] {
            assert!(wire_from_str(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn suffix_keys_ignore_case_and_match_the_whole_name_key() {
        let h = Hasher::new(1, 2);
        let mut keys = Vec::new();
        h.suffixes(b"\x03WWW\x03Ads\x07example\x00", |s, k| {
            keys.push((s, k));
            false
        });
        assert_eq!(keys.len(), 3);
        assert_eq!(keys.iter().map(|k| k.0).collect::<Vec<_>>(), [8, 4, 0]);
        assert_eq!(Some(keys[0].1), h.key(b"\x07EXAMPLE\x00"));
        assert_eq!(
            Some(keys[1].1),
            h.key(&wire_from_str("ads.example").unwrap())
        );
        assert_ne!(keys[0].1, keys[1].1);
        // Another key: other hashes.
        assert_ne!(Hasher::new(3, 2).key(b"\x07example\x00"), Some(keys[0].1));
        // Malformed names have no suffixes.
        assert!(h.key(b"\x03www\xc0\x0c").is_none());
        assert!(h.key(b"\x05ab").is_none());
        assert!(h.key(b"\x00").is_none());
    }
}

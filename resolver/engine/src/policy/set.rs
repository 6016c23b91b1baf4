//! A compact set of 64-bit name keys: a sorted `Vec<u64>` and a directory of where
//! each range of leading key bits starts.
//!
//! Why not a hash set: hashbrown keeps a control byte per bucket and at most 7/8 of
//! its buckets full, rounded to a power of two; at one million keys that is 2^21
//! buckets, 18 MiB. Sorted keys take 8 bytes each, and the directory (one `u32` per
//! 8 keys or so) makes a lookup one directory read and a binary search over a few
//! neighbouring keys (one or two cache lines), about as fast as a hash probe. The
//! set is built once and replaced whole, which is how lists change.

use alloc::vec::Vec;
use core::mem::size_of;

/// Keys per directory slot aimed for.
const KEYS_PER_SLOT: usize = 8;
/// Most directory bits (16 M slots; far beyond any cap).
const MAX_BITS: u32 = 24;

/// A set of name keys, immutable once built.
#[derive(Clone, Debug, Default)]
pub(crate) struct DomainSet {
    /// The keys, sorted, without duplicates.
    keys: Vec<u64>,
    /// `dir[b]`: the index of the first key whose top `bits` bits are ≥ `b`;
    /// `2^bits + 1` entries (empty when `bits` is 0).
    dir: Vec<u32>,
    /// Leading key bits the directory resolves.
    bits: u32,
}

impl DomainSet {
    /// The set of `keys` (any order, duplicates allowed). At most `u32::MAX` keys are
    /// kept; callers cap far below.
    pub(crate) fn from_keys(mut keys: Vec<u64>) -> Self {
        keys.sort_unstable();
        keys.dedup();
        keys.truncate(u32::MAX as usize);
        keys.shrink_to_fit();
        let mut bits = 0;
        while bits < MAX_BITS && (KEYS_PER_SLOT << (bits + 1)) <= keys.len() {
            bits += 1;
        }
        let mut dir = Vec::new();
        if bits > 0 {
            let slots = 1usize << bits;
            dir.reserve_exact(slots + 1);
            let mut i = 0usize;
            for b in 0..slots as u64 {
                while keys.get(i).is_some_and(|k| (k >> (64 - bits)) < b) {
                    i += 1;
                }
                dir.push(i as u32);
            }
            dir.push(keys.len() as u32);
        }
        Self { keys, dir, bits }
    }

    /// Whether `key` is in the set.
    #[inline]
    pub(crate) fn contains(&self, key: u64) -> bool {
        let slice = if self.bits == 0 {
            &self.keys[..]
        } else {
            let b = (key >> (64 - self.bits)) as usize;
            let lo = self.dir.get(b).copied().unwrap_or(0) as usize;
            let hi = self.dir.get(b + 1).copied().unwrap_or(0) as usize;
            self.keys.get(lo..hi).unwrap_or_default()
        };
        slice.binary_search(&key).is_ok()
    }

    /// Keys held.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether it holds no key.
    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Heap bytes held (keys and directory, by capacity).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.keys.capacity() * size_of::<u64>() + self.dir.capacity() * size_of::<u32>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64*: deterministic keys.
    fn keys(n: usize, mut s: u64) -> Vec<u64> {
        (0..n)
            .map(|_| {
                s ^= s >> 12;
                s ^= s << 25;
                s ^= s >> 27;
                s.wrapping_mul(0x2545_f491_4f6c_dd1d)
            })
            .collect()
    }

    #[test]
    fn finds_what_it_holds_and_nothing_else() {
        for n in [0, 1, 7, 16, 17, 1000, 100_000] {
            let k = keys(n, 0x1234_5678);
            let s = DomainSet::from_keys(k.clone());
            assert_eq!(s.len(), n);
            assert!(k.iter().all(|&x| s.contains(x)), "n={n}");
            let others = keys(1000, 0x9999);
            assert!(others.iter().all(|&x| !s.contains(x)), "n={n}");
        }
        // Extremes of the key space land in the first and last slots.
        let s = DomainSet::from_keys((0..64).map(|i| i << 58).chain([u64::MAX]).collect());
        assert!(s.contains(0) && s.contains(u64::MAX) && s.contains(63 << 58));
        assert!(!s.contains(1));
    }

    #[test]
    fn a_million_keys_fit_in_nine_mebibytes() {
        let s = DomainSet::from_keys(keys(1_000_000, 42));
        assert_eq!(s.len(), 1_000_000);
        let per_key = s.heap_bytes() as f64 / 1e6;
        // 8 bytes of key plus the directory's share.
        assert!(per_key < 8.5, "{per_key} bytes per key");
        assert!(s.heap_bytes() <= 9 << 20, "{} bytes", s.heap_bytes());
    }
}

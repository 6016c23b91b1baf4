//! The eviction policy: a table of entries under a byte cap, evicted in CLOCK (second
//! chance) order. Everything the cache knows about *which* entry goes is here, so a
//! different policy replaces this file and nothing else.
//!
//! The entries live in one `hashbrown` table whose buckets are the clock's ring: each
//! bucket, one cache line, holds an entry (its key is in it) and a *referenced* bit. A
//! hit sets the bit in the bucket it has just read and writes nothing else (an LRU
//! list's promotion wrote two list neighbours per hit, each a cache miss in a large
//! cache). To make room the hand sweeps the buckets in index order: a referenced entry
//! has its bit cleared and is passed over (its second chance), the first unreferenced
//! one is evicted. A new entry starts unreferenced, so it must be asked for again
//! before the hand reaches it to survive.
//!
//! The ring is the table's own bucket array, so it cannot outgrow the entries:
//! `hashbrown` sizes it from the live count (it grows only when more than half its
//! capacity is live, and otherwise rehashes in place, reusing the buckets of removed
//! entries), and the hand is only an index into it.

use core::hash::{BuildHasher, Hasher};

use hashbrown::HashTable;

use super::Entry;

/// One bucket of the table, and so one position of the clock: a cache line holding
/// what a hit reads besides the entry's key and records (see [`Entry`]).
#[repr(align(64))]
struct Bucket {
    /// The entry (its key is in it).
    entry: Entry,
    /// Whether the entry was used since the hand last passed it.
    referenced: bool,
}

/// The keyed hash of `bytes`.
fn hash_with<S: BuildHasher>(hasher: &S, bytes: &[u8]) -> u64 {
    let mut h = hasher.build_hasher();
    h.write(bytes);
    h.finish()
}

/// An entry found by [`Store::find`]: valid until the store next gains or loses an
/// entry (a stale one finds nothing, or another entry).
#[derive(Clone, Copy, Debug)]
pub(super) struct Slot(usize);

/// Entries by key, their byte total, the cap it must stay under and the evictions made.
pub(super) struct Store<S: BuildHasher> {
    /// The entries, in clock order by bucket index.
    table: HashTable<Bucket>,
    /// The keyed hasher of the table (the keys are chosen by whoever sends us queries).
    hasher: S,
    /// The clock's hand: the bucket index the next sweep starts at.
    hand: usize,
    /// Sum of `Entry::bytes` over `table`.
    bytes: usize,
    /// The most `bytes` may be.
    cap_bytes: usize,
    /// Entries evicted so far to stay under `cap_bytes`.
    evictions: u64,
}

impl<S: BuildHasher> Store<S> {
    /// An empty store holding at most `cap_bytes`.
    pub(super) fn new(cap_bytes: usize, hasher: S) -> Self {
        Self {
            table: HashTable::new(),
            hasher,
            hand: 0,
            bytes: 0,
            cap_bytes,
            evictions: 0,
        }
    }

    /// Bytes accounted.
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// The byte cap.
    pub(super) fn cap_bytes(&self) -> usize {
        self.cap_bytes
    }

    /// Number of entries.
    pub(super) fn len(&self) -> usize {
        self.table.len()
    }

    /// Entries evicted so far for the byte cap.
    pub(super) fn evictions(&self) -> u64 {
        self.evictions
    }

    /// The keyed hash of `bytes` (a key, or any other bytes the cache hashes).
    pub(super) fn hash(&self, bytes: &[u8]) -> u64 {
        hash_with(&self.hasher, bytes)
    }

    /// The entry for `key`, if any, use unchanged: one probe of the table.
    pub(super) fn find(&self, key: &[u8]) -> Option<Slot> {
        self.table
            .find_bucket_index(self.hash(key), |b| b.entry.key() == key)
            .map(Slot)
    }

    /// Mark the entry at `slot` used: it survives the hand's next pass.
    pub(super) fn touch(&mut self, slot: Slot) {
        if let Some(b) = self.table.get_bucket_mut(slot.0)
            && !b.referenced
        {
            b.referenced = true;
        }
    }

    /// The entry at `slot`.
    pub(super) fn at(&self, slot: Slot) -> Option<&Entry> {
        self.table.get_bucket(slot.0).map(|b| &b.entry)
    }

    /// The entry at `slot`, to change a field that neither the key nor the byte
    /// accounting depends on.
    pub(super) fn at_mut(&mut self, slot: Slot) -> Option<&mut Entry> {
        self.table.get_bucket_mut(slot.0).map(|b| &mut b.entry)
    }

    /// The entry for `key`, use unchanged.
    pub(super) fn peek(&self, key: &[u8]) -> Option<&Entry> {
        self.at(self.find(key)?)
    }

    /// Drop the entry for `key` (hash `hash`), if any (not counted as an eviction):
    /// whether it was referenced.
    fn take(&mut self, hash: u64, key: &[u8]) -> Option<bool> {
        let found = self.table.find_entry(hash, |b| b.entry.key() == key).ok()?;
        let (old, _) = found.remove();
        self.bytes = self.bytes.saturating_sub(old.entry.bytes());
        Some(old.referenced)
    }

    /// Drop the entry for `key`, if any (not counted as an eviction).
    pub(super) fn remove(&mut self, key: &[u8]) {
        let _ = self.take(self.hash(key), key);
    }

    /// Evict one entry: the first unreferenced one from the hand on, clearing the bits
    /// of the referenced ones passed. Whether there was one (the store was not empty).
    fn evict_one(&mut self) -> bool {
        let n = self.table.num_buckets();
        if self.table.is_empty() || n == 0 {
            return false;
        }
        // One turn clears every bit, so the second finds an unreferenced entry.
        for _ in 0..2 * n {
            let i = self.hand % n;
            self.hand = i + 1;
            let Ok(mut b) = self.table.get_bucket_entry(i) else {
                continue;
            };
            if b.get().referenced {
                b.get_mut().referenced = false;
                continue;
            }
            let (old, _) = b.remove();
            self.bytes = self.bytes.saturating_sub(old.entry.bytes());
            self.evictions += 1;
            return true;
        }
        false
    }

    /// Store `entry` under its key, replacing any entry there (and keeping its
    /// referenced bit), after evicting entries in clock order until it fits. The caller
    /// has checked that `entry.bytes()` alone is within the cap.
    pub(super) fn put(&mut self, entry: Entry) {
        let hash = self.hash(entry.key());
        let referenced = self.take(hash, entry.key()).unwrap_or(false);
        let bytes = entry.bytes();
        while self.bytes.saturating_add(bytes) > self.cap_bytes {
            if !self.evict_one() {
                break;
            }
        }
        self.bytes = self.bytes.saturating_add(bytes);
        let hasher = &self.hasher;
        // Growing rehashes every key: each entry's blob is read once per doubling.
        self.table
            .insert_unique(hash, Bucket { entry, referenced }, |b| {
                hash_with(hasher, b.entry.key())
            });
    }

    /// Every entry, in bucket order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.table.iter().map(|b| &b.entry)
    }

    /// Buckets in the table (the clock's ring), for the tests that bound it.
    #[cfg(test)]
    pub(super) fn ring_len(&self) -> usize {
        self.table.num_buckets()
    }

    /// Remove everything.
    pub(super) fn clear(&mut self) {
        self.table.clear();
        self.bytes = 0;
        self.hand = 0;
    }

    /// Whether the byte counter equals the sum of the entries and respects the cap, and
    /// every entry is found by its key, where it is.
    pub(super) fn check_invariants(&self) -> bool {
        let sum: usize = self.table.iter().map(|b| b.entry.bytes()).sum();
        let found = (0..self.table.num_buckets()).all(|i| match self.table.get_bucket(i) {
            None => true,
            Some(b) => self.find(b.entry.key()).is_some_and(|s| s.0 == i),
        });
        sum == self.bytes && self.bytes <= self.cap_bytes && found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bucket is one cache line: what a hit reads of the table.
    #[test]
    fn a_bucket_is_one_cache_line() {
        assert_eq!(core::mem::size_of::<Bucket>(), 64);
        assert_eq!(core::mem::align_of::<Bucket>(), 64);
    }
}

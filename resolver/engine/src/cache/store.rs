//! The eviction policy: a table of entries under a byte cap, least recently used out
//! first. Everything the cache knows about *which* entry goes is here, so a different
//! policy (CLOCK, say) replaces this file and nothing else.

use core::hash::BuildHasher;

use lru::LruCache;

use super::Entry;
use super::key::Key;

/// Entries by key, their byte total, the cap it must stay under and the evictions made.
pub(super) struct Store<S: BuildHasher> {
    /// The entries, most recently used first.
    lru: LruCache<Key, Entry, S>,
    /// Sum of `Entry::bytes` over `lru`.
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
            lru: LruCache::unbounded_with_hasher(hasher),
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
        self.lru.len()
    }

    /// Entries evicted so far for the byte cap.
    pub(super) fn evictions(&self) -> u64 {
        self.evictions
    }

    /// The entry for `key`, marked recently used.
    pub(super) fn get(&mut self, key: &[u8]) -> Option<&Entry> {
        self.lru.get(key)
    }

    /// The entry for `key`, recency unchanged.
    pub(super) fn peek(&self, key: &[u8]) -> Option<&Entry> {
        self.lru.peek(key)
    }

    /// Drop the entry for `key`, if any (not counted as an eviction).
    pub(super) fn remove(&mut self, key: &[u8]) {
        if let Some(old) = self.lru.pop(key) {
            self.bytes = self.bytes.saturating_sub(old.bytes);
        }
    }

    /// Store `entry` under `key`, replacing any entry there, after evicting the least
    /// recently used entries until it fits. The caller has checked that `entry.bytes`
    /// alone is within the cap.
    pub(super) fn put(&mut self, key: &[u8], entry: Entry) {
        self.remove(key);
        while self.bytes + entry.bytes > self.cap_bytes {
            match self.lru.pop_lru() {
                Some((_, old)) => {
                    self.bytes = self.bytes.saturating_sub(old.bytes);
                    self.evictions += 1;
                }
                None => break,
            }
        }
        self.bytes += entry.bytes;
        self.lru.put(Key::new(key), entry);
    }

    /// Remove everything.
    pub(super) fn clear(&mut self) {
        self.lru.clear();
        self.bytes = 0;
    }

    /// Whether the byte counter equals the sum of the entries and respects the cap.
    pub(super) fn check_invariants(&self) -> bool {
        let sum: usize = self.lru.iter().map(|(_, e)| e.bytes).sum();
        sum == self.bytes && self.bytes <= self.cap_bytes
    }
}

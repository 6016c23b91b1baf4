//! Names that QNAME minimisation (RFC 9156) found to exist: a minimised question whose
//! answer was data or NODATA. The next resolution below such a name starts its
//! minimised questions past it instead of asking it again. Without this, every fresh
//! name under an empty non-terminal (`a.wild.example` under `wild.example`, which only
//! holds a wildcard) cost one extra upstream round trip: outside a trust anchor the
//! NODATA is in the cache but the cache answers clients, not the choice of the next
//! minimised name; under an anchor the unvalidated NODATA is not cached at all.
//!
//! What is kept here only chooses which question to send, never what is answered: a
//! forged or stale entry makes a resolution reveal one label more than it needed, and
//! the zone's servers still refer or answer as the full name requires. Entries live
//! for the TTL of the answer that taught them (capped by the engine's TTL bounds); at
//! most `Limits::max_known_names` are kept, least recently used dropped first.

use core::num::NonZeroUsize;

use hickory_proto::rr::Name;
use lru::LruCache;

use crate::cache::KeyedHasher;
use crate::time::Instant;

/// The table of existing names.
pub(crate) struct KnownNames {
    /// Until when each (lower-cased) name is known to exist.
    table: LruCache<Name, Instant, KeyedHasher>,
    /// The cap (0: nothing is kept).
    cap: usize,
}

impl core::fmt::Debug for KnownNames {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KnownNames")
            .field("len", &self.table.len())
            .field("cap", &self.cap)
            .finish()
    }
}

impl KnownNames {
    /// An empty table of at most `cap` names (0: the table is off).
    pub(crate) fn new(cap: usize, hasher: KeyedHasher) -> Self {
        let size = NonZeroUsize::new(cap.max(1)).unwrap_or(NonZeroUsize::MIN);
        Self {
            table: LruCache::with_hasher(size, hasher),
            cap,
        }
    }

    /// Names held (expired ones included until they are looked at or pushed out).
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    /// `name` exists, for `ttl` seconds from `now`.
    pub(crate) fn learn(&mut self, now: Instant, name: &Name, ttl: u32) {
        if self.cap == 0 || ttl == 0 {
            return;
        }
        let until = now.saturating_add(core::time::Duration::from_secs(u64::from(ttl)));
        // `put` on a full LRU table drops the least recently used name.
        self.table.put(name.to_lowercase(), until);
    }

    /// Whether `name` is known to exist at `now` (an expired entry is dropped).
    pub(crate) fn contains(&mut self, now: Instant, name: &Name) -> bool {
        if self.table.is_empty() {
            return false;
        }
        let key = name.to_lowercase();
        match self.table.get(&key) {
            Some(until) if now < *until => true,
            Some(_) => {
                let _ = self.table.pop(&key);
                false
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    fn n(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    fn t(s: u64) -> Instant {
        Instant::from_nanos(s * 1_000_000_000)
    }

    #[test]
    fn names_expire_with_their_ttl_and_letter_case_does_not_matter() {
        let mut k = KnownNames::new(8, KeyedHasher::new(1, 2));
        k.learn(t(0), &n("Wild.Example."), 30);
        assert!(k.contains(t(29), &n("wild.example.")));
        assert!(!k.contains(t(30), &n("WILD.example.")));
        assert_eq!(k.len(), 0, "an expired name is dropped when looked at");
        k.learn(t(0), &n("zero.example."), 0);
        assert!(!k.contains(t(0), &n("zero.example.")));
    }

    #[test]
    fn the_table_is_capped_and_drops_the_least_recently_used() {
        let mut k = KnownNames::new(3, KeyedHasher::new(1, 2));
        for i in 0..3 {
            k.learn(t(0), &n(&format!("n{i}.example.")), 60);
        }
        // n0 was used last: n1 is the one to go.
        assert!(k.contains(t(1), &n("n0.example.")));
        k.learn(t(1), &n("n3.example."), 60);
        assert_eq!(k.len(), 3);
        assert!(!k.contains(t(1), &n("n1.example.")));
        assert!(k.contains(t(1), &n("n0.example.")));
        for i in 4..100 {
            k.learn(t(1), &n(&format!("n{i}.example.")), 60);
        }
        assert_eq!(k.len(), 3);
    }

    #[test]
    fn a_cap_of_zero_keeps_nothing() {
        let mut k = KnownNames::new(0, KeyedHasher::new(1, 2));
        k.learn(t(0), &n("a.example."), 60);
        assert_eq!(k.len(), 0);
        assert!(!k.contains(t(0), &n("a.example.")));
    }
}

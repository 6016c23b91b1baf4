//! Resolution failures remembered for a while (RFC 9520): a question whose
//! resolution failed is answered SERVFAIL at once, without upstream queries, until
//! its window ends; each failure in a row doubles the window, from
//! `Limits::failure_backoff_min` up to `Limits::failure_backoff_max`. At most
//! `Limits::max_failure_entries` questions are remembered, least recently used
//! dropped first. The same record tells serve-stale (RFC 8767) that a failure was
//! recent (its failure recheck timer).

use core::num::NonZeroUsize;
use core::time::Duration;

use hickory_proto::rr::{Name, RecordType};
use lru::LruCache;

use crate::cache::KeyedHasher;
use crate::config::Limits;
use crate::ede::Ede;
use crate::time::Instant;

/// One question's failure.
#[derive(Clone, Copy, Debug)]
struct Failure {
    /// Why it failed (the answer's EDE).
    ede: Ede,
    /// When it last failed.
    at: Instant,
    /// Until when a retry is answered from here.
    until: Instant,
    /// The window that ended at `until` (doubles at the next failure in a row).
    window: Duration,
}

/// The failure table.
pub(crate) struct Failures {
    /// Failures by question (lower-cased name, type).
    table: LruCache<(Name, u16), Failure, KeyedHasher>,
}

impl core::fmt::Debug for Failures {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Failures")
            .field("len", &self.table.len())
            .finish()
    }
}

/// Whether a failure for this reason says something about the name, not about us:
/// running out of our own tables, ports or patience with one client says nothing,
/// nor does a cancelled lookup.
pub(crate) fn is_cacheable(ede: Ede) -> bool {
    ![
        Ede::WAIT_QUEUE_FULL,
        Ede::NO_PORT,
        Ede::CLIENTS_FULL,
        Ede::WAITERS_FULL,
        Ede::RESOLUTIONS_FULL,
        Ede::INTERNAL,
        Ede::CANCELLED,
    ]
    .contains(&ede)
}

impl Failures {
    /// An empty table of at most `cap` questions (0: failures are not cached).
    pub(crate) fn new(cap: usize, hasher: KeyedHasher) -> Self {
        let cap = NonZeroUsize::new(cap.max(1)).unwrap_or(NonZeroUsize::MIN);
        Self {
            table: LruCache::with_hasher(cap, hasher),
        }
    }

    /// Questions remembered.
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    /// The reason `name`/`qtype` failed, if it did and its window has not ended.
    pub(crate) fn get(&mut self, now: Instant, name: &Name, qtype: RecordType) -> Option<Ede> {
        let f = self.table.get(&key(name, qtype))?;
        (now < f.until).then_some(f.ede)
    }

    /// Whether `name`/`qtype` failed less than `recheck` ago (RFC 8767's failure
    /// recheck timer: stale data is answered at once meanwhile).
    pub(crate) fn failed_within(
        &mut self,
        now: Instant,
        name: &Name,
        qtype: RecordType,
        recheck: Duration,
    ) -> bool {
        self.table
            .get(&key(name, qtype))
            .is_some_and(|f| now < f.at.saturating_add(recheck))
    }

    /// `name`/`qtype` failed for `ede` at `now`: remember it, with a window twice the
    /// last one if the last failure's window ended less than `backoff_max` ago.
    pub(crate) fn record(
        &mut self,
        l: &Limits,
        now: Instant,
        name: &Name,
        qtype: RecordType,
        ede: Ede,
    ) {
        self.record_from(l, l.failure_backoff_min, now, (name, qtype), ede);
    }

    /// A bogus answer for `name`/`qtype` (DNSSEC validation failed for `ede`): kept
    /// like a failure, its first window `Limits::bogus_ttl` capped at 5 minutes (RFC
    /// 9520 §3.2), doubling on repeats up to `failure_backoff_max`.
    pub(crate) fn record_bogus(
        &mut self,
        l: &Limits,
        now: Instant,
        name: &Name,
        qtype: RecordType,
        ede: Ede,
    ) {
        let first = l.bogus_ttl.min(Duration::from_secs(300));
        self.record_from(l, first, now, (name, qtype), ede);
    }

    fn record_from(
        &mut self,
        l: &Limits,
        first: Duration,
        now: Instant,
        (name, qtype): (&Name, RecordType),
        ede: Ede,
    ) {
        if l.max_failure_entries == 0 || !is_cacheable(ede) {
            return;
        }
        let k = key(name, qtype);
        let max = l.failure_backoff_max.max(first);
        let window = match self.table.peek(&k) {
            Some(f) if now < f.until.saturating_add(l.failure_backoff_max) => {
                f.window.saturating_mul(2)
            }
            _ => first,
        };
        let window = window.clamp(first, max);
        let f = Failure {
            ede,
            at: now,
            until: now.saturating_add(window),
            window,
        };
        if self.table.len() >= l.max_failure_entries && !self.table.contains(&k) {
            let _ = self.table.pop_lru();
        }
        self.table.put(k, f);
    }

    /// `name`/`qtype` resolved: forget its failures.
    pub(crate) fn forget(&mut self, name: &Name, qtype: RecordType) {
        if !self.table.is_empty() {
            let _ = self.table.pop(&key(name, qtype));
        }
    }
}

/// The table key of a question.
fn key(name: &Name, qtype: RecordType) -> (Name, u16) {
    (name.to_lowercase(), u16::from(qtype))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_double_to_the_cap_and_the_table_is_capped() {
        let l = Limits {
            max_failure_entries: 2,
            ..Limits::default()
        };
        let mut f = Failures::new(l.max_failure_entries, KeyedHasher::new(1, 2));
        let n = |s: &str| Name::from_ascii(s).unwrap();
        let t = |s: u64| Instant::from_nanos(s * 1_000_000_000);
        let a = n("a.test.");
        f.record(&l, t(0), &a, RecordType::A, Ede::LAME);
        assert_eq!(f.get(t(4), &a, RecordType::A), Some(Ede::LAME));
        assert_eq!(f.get(t(5), &a, RecordType::A), None);
        f.record(&l, t(5), &a, RecordType::A, Ede::LAME);
        assert_eq!(f.get(t(14), &a, RecordType::A), Some(Ede::LAME));
        assert_eq!(f.get(t(15), &a, RecordType::A), None);
        // Each failure in a row doubles the window, up to five minutes.
        let (mut at, mut window) = (15, 20);
        for _ in 0..8 {
            f.record(&l, t(at), &a, RecordType::A, Ede::LAME);
            assert_eq!(
                f.get(t(at + window - 1), &a, RecordType::A),
                Some(Ede::LAME)
            );
            assert_eq!(f.get(t(at + window), &a, RecordType::A), None);
            at += window;
            window = (window * 2).min(300);
        }
        at += 1000;
        // Far past the cap: the window starts again at the minimum.
        f.record(&l, t(at), &a, RecordType::A, Ede::LAME);
        assert_eq!(f.get(t(at + 5), &a, RecordType::A), None);
        assert!(f.failed_within(t(at + 29), &a, RecordType::A, Duration::from_secs(30)));
        // Not for our own overload; capped at two questions.
        f.record(
            &l,
            t(at),
            &n("b.test."),
            RecordType::A,
            Ede::RESOLUTIONS_FULL,
        );
        assert_eq!(f.len(), 1);
        for s in ["b.test.", "c.test.", "d.test."] {
            f.record(&l, t(at), &n(s), RecordType::A, Ede::TIMED_OUT);
        }
        assert_eq!(f.len(), 2);
        assert_eq!(f.get(t(at), &a, RecordType::A), None);
        f.forget(&n("d.test."), RecordType::A);
        assert_eq!(f.len(), 1);
    }
}

//! Timers as data: every deadline the engine has, each held once, by name.
//! `poll_timeout()` is the first of them; `handle_timeout()` pops the expired ones in
//! order (earliest first, ties by name).

use alloc::collections::{BTreeMap, BTreeSet};

use crate::resolve::Id;
use crate::time::Instant;

/// A named deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    /// The upstream query on this local port times out.
    Upstream(u16),
    /// The resolution's total time (`Limits::query_timeout`) runs out.
    Resolution(Id),
    /// Serve-stale's client response timer (`Limits::stale_answer_timeout`): the
    /// resolution's clients get the stale data while it goes on.
    StaleAnswer(Id),
}

/// The deadlines. Each timer is set at most once: its deadline is stored here and
/// nowhere else (the table keeps it indexed both by name and by time).
#[derive(Debug, Default)]
pub(crate) struct TimerTable {
    /// Deadline by timer.
    at: BTreeMap<Timer, Instant>,
    /// The same entries ordered by time, for `next` and `pop_expired`.
    by_time: BTreeSet<(Instant, Timer)>,
}

impl TimerTable {
    /// Set `timer` to fire at `at` (moving it if it was set).
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        if let Some(old) = self.at.insert(timer, at) {
            self.by_time.remove(&(old, timer));
        }
        self.by_time.insert((at, timer));
    }

    /// Cancel `timer` (nothing if it is not set).
    pub(crate) fn cancel(&mut self, timer: Timer) {
        if let Some(old) = self.at.remove(&timer) {
            self.by_time.remove(&(old, timer));
        }
    }

    /// When `timer` fires, if set.
    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.at.get(&timer).copied()
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.by_time.first().map(|(t, _)| *t)
    }

    /// The earliest timer due at `now` (deadline ≤ `now`), removed.
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<Timer> {
        let &(at, timer) = self.by_time.first()?;
        if at > now {
            return None;
        }
        self.by_time.remove(&(at, timer));
        self.at.remove(&timer);
        Some(timer)
    }

    /// Number of timers set.
    pub(crate) fn len(&self) -> usize {
        self.at.len()
    }

    /// Number of timers set of the kind `pred` picks.
    pub(crate) fn count(&self, pred: impl Fn(&Timer) -> bool) -> usize {
        self.at.keys().filter(|t| pred(t)).count()
    }

    /// Whether both indexes agree.
    pub(crate) fn check_invariants(&self) -> bool {
        self.at.len() == self.by_time.len()
            && self.by_time.iter().all(|(t, k)| self.at.get(k) == Some(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_each_held_once() {
        let t = Instant::from_nanos;
        let mut timers = TimerTable::default();
        timers.set(Timer::Resolution(1), t(30));
        timers.set(Timer::Upstream(9), t(20));
        timers.set(Timer::Upstream(9), t(10)); // moved, not added
        assert_eq!((timers.len(), timers.next()), (2, Some(t(10))));
        assert_eq!(timers.pop_expired(t(5)), None);
        assert_eq!(timers.pop_expired(t(30)), Some(Timer::Upstream(9)));
        timers.cancel(Timer::Resolution(1));
        assert_eq!((timers.len(), timers.next()), (0, None));
        assert!(timers.check_invariants());
    }
}

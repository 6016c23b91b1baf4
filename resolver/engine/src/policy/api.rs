//! The policy's public face: building and replacing block lists, and its counters.
//!
//! ```text
//! let mut b = engine.blocklist_builder();          // hashes as the engine does
//! for domain in parsed_list { b.insert(domain); }  // &str, one at a time: 8 bytes each
//! engine.set_blocklist(1, "https://lists.example/ads.txt", b)?; // live at once
//! engine.policy_stats().lists                       // domains, rejected, hits per list
//! ```
//!
//! The list parser (another crate) hands domains over as text; nothing of the list is
//! kept but its keys, so a refresh needs memory for one more copy of one list only
//! while it is built. A failed refresh never calls `set_blocklist`: the old list stays.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use super::name::{Hasher, wire_from_str};
use crate::engine::Engine;

/// The domains of one list under construction. Made by
/// [`Engine::blocklist_builder`]; handed to [`Engine::set_blocklist`].
#[derive(Debug)]
pub struct BlocklistBuilder {
    /// The engine's key.
    hasher: Hasher,
    /// The keys so far.
    pub(super) keys: Vec<u64>,
    /// Domains refused (not a domain, or past the cap).
    pub(super) rejected: u64,
    /// Most keys taken.
    pub(super) cap: usize,
}

impl BlocklistBuilder {
    /// An empty builder taking at most `cap` domains.
    pub(super) fn new(hasher: Hasher, cap: usize) -> Self {
        Self {
            hasher,
            keys: Vec::new(),
            rejected: 0,
            cap,
        }
    }

    /// Add `domain` (text, any case, trailing dot optional) and everything below it.
    /// False (and counted as rejected) if it is not a domain or the list is full
    /// (`PolicyLimits::max_blocked_domains`).
    pub fn insert(&mut self, domain: &str) -> bool {
        let key = wire_from_str(domain).and_then(|w| self.hasher.key(&w));
        match key {
            Some(k) if self.keys.len() < self.cap => {
                self.keys.push(k);
                true
            }
            _ => {
                self.rejected += 1;
                false
            }
        }
    }

    /// Domains taken so far (duplicates included).
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no domain was taken.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Domains refused so far.
    #[must_use]
    pub fn rejected(&self) -> u64 {
        self.rejected
    }
}

/// Why [`Engine::set_blocklist`] refused a list (the previous one stays).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetBlocklistError {
    /// A new list past `PolicyLimits::max_lists`.
    TooManyLists {
        /// The cap.
        max: usize,
    },
    /// All lists together would hold more than `PolicyLimits::max_blocked_domains`.
    TooManyDomains {
        /// The cap.
        max: usize,
    },
}

impl fmt::Display for SetBlocklistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooManyLists { max } => write!(f, "too many block lists (at most {max})"),
            Self::TooManyDomains { max } => {
                write!(f, "too many blocked domains over all lists (at most {max})")
            }
        }
    }
}

/// One list's counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlocklistStats {
    /// Its number (0: `--dns-block`).
    pub id: u16,
    /// Its source: the URL, or `--dns-block`.
    pub source: String,
    /// Distinct domains held.
    pub domains: u64,
    /// Domains refused when it was built.
    pub rejected: u64,
    /// Times it was loaded.
    pub loads: u64,
    /// Questions it blocked (CNAME cloaking included).
    pub hits: u64,
    /// Heap bytes its table takes.
    pub heap_bytes: u64,
}

/// The policy's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyStats {
    /// Questions answered from local data and local zones.
    pub local_answers: u64,
    /// Answers the rebinding filter removed addresses from.
    pub rebind_filtered: u64,
    /// Local names held (host records, PTRs, aliases).
    pub local_names: u64,
    /// Boot entries skipped (not domains, or past a cap).
    pub config_skipped: u64,
    /// Each block list.
    pub lists: Vec<BlocklistStats>,
}

impl Engine {
    /// An empty list to fill and hand to [`Engine::set_blocklist`].
    #[must_use]
    pub fn blocklist_builder(&self) -> BlocklistBuilder {
        self.policy.builder()
    }

    /// Replace list `id` (or add it) with `list`'s domains, named `source` in EDE texts
    /// and stats, at once; returns the distinct domains it holds. Id 0 is the
    /// `--dns-block` list. On error nothing changes.
    pub fn set_blocklist(
        &mut self,
        id: u16,
        source: &str,
        list: BlocklistBuilder,
    ) -> Result<usize, SetBlocklistError> {
        self.policy.set_list(id, source, list)
    }

    /// Drop list `id`; whether it was there.
    pub fn remove_blocklist(&mut self, id: u16) -> bool {
        self.policy.remove_list(id)
    }

    /// The policy's counters, one entry per list.
    #[must_use]
    pub fn policy_stats(&self) -> PolicyStats {
        self.policy.stats()
    }
}

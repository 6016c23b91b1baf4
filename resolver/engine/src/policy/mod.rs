//! The policy stage: what a home network's resolver decides before (and after) the
//! cache — blocked names, local names, locally served zones, per-domain servers and
//! rebinding protection.
//!
//! Consulted at four points, each a small hook:
//!
//! * the fast path ([`crate::answer::fast`]): [`Policy::fast_check`] declines any name
//!   policy answers itself (blocked, local data, a local zone), a CNAME hop into a
//!   blocked name ([`Policy::blocks`], through [`crate::chain::Chain::screen`]) and any
//!   private address where rebinding protection applies, so those go the full path;
//! * admission ([`crate::client`]): [`Policy::on_query`] answers local names, blocked
//!   names and local zones, in that order (below);
//! * the end of every chain that reaches a client, from the cache or upstream
//!   ([`Policy::screen`]): CNAME cloaking (a CNAME into a blocked name blocks the
//!   question) and the rebinding filter;
//! * inside a resolution ([`Policy::cloaks`]): a CNAME into a blocked name is not
//!   followed upstream, so the tracker's servers never see the query.
//!
//! Order at admission, the first that matches answers:
//!
//! 1. local data (`--host-record` names and PTRs, `--cname`, `--address`): AA;
//! 2. blocked (any list, `--dns-block` included, at the name or an ancestor) unless
//!    `--dns-allow` covers it: NXDOMAIN or the null answer, EDE 15 naming the list;
//! 3. a `--server=/DOMAIN/` covers it: resolution forwards it there (not answered here,
//!    and not from a local zone either, so `--server=/168.192.in-addr.arpa/…` wins);
//! 4. a locally served zone covers it: Unbound's answer shapes ([`local`]).
//!
//! Lists are sets of 64-bit keys of lower-cased wire names ([`name`], [`set`]): a
//! lookup hashes each suffix of the question once and probes each list's table.
//! A list is replaced whole and at once by [`crate::Engine::set_blocklist`], so a
//! refreshed list applies the moment it arrives and a failed fetch keeps the old one.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::Cell;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::{A, AAAA};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use crate::answer::{Answer, Waiter};
use crate::config::{BlockAnswer, PolicyConfig, PolicyLimits};
use crate::ede::Ede;

mod api;
pub(crate) mod local;
pub(crate) mod name;
pub(crate) mod set;

pub use api::{BlocklistBuilder, BlocklistStats, PolicyStats, SetBlocklistError};

use local::Local;
use name::{Hasher, wire_from_str, wire_of};
use set::DomainSet;

/// The source name of the boot-time `--dns-block` list (list 0).
pub const BOOT_LIST: &str = "--dns-block";

/// TTL of the null answer (0.0.0.0 / ::) to a blocked name.
const BLOCK_TTL: u32 = 60;

/// What policy says about an alias hop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Follow it.
    Continue,
    /// Do not (a CNAME into a blocked name).
    Stop,
}

/// One block list.
#[derive(Debug)]
struct List {
    /// The caller's number for it (0: `--dns-block`).
    id: u16,
    /// Its name in EDE texts and stats: the URL, or [`BOOT_LIST`].
    source: String,
    /// The domains.
    set: DomainSet,
    /// Lines the builder refused (not domains, over the cap).
    rejected: u64,
    /// Times it was loaded (replaced).
    loads: u64,
    /// Questions it blocked.
    hits: Cell<u64>,
}

/// The policy state: built from [`PolicyConfig`] at start, lists replaced at run time.
#[derive(Debug)]
pub(crate) struct Policy {
    /// The keyed suffix hash of every table.
    hasher: Hasher,
    /// The block lists.
    lists: Vec<List>,
    /// `--dns-allow`.
    allow: DomainSet,
    /// Local data and zones.
    local: Local,
    /// Keys of every name policy answers itself (local data, `--address` domains,
    /// zones): the fast path declines names at or below one.
    answers: DomainSet,
    /// `--server` domains.
    servers: DomainSet,
    /// Names whose answers skip the rebinding filter: `--server` and
    /// `--rebind-domain-ok` domains.
    exempt: DomainSet,
    /// `--block-answer`.
    block_answer: BlockAnswer,
    /// `--stop-dns-rebind`.
    stop_rebind: bool,
    /// The caps.
    limits: PolicyLimits,
    /// Counters.
    local_answers: Cell<u64>,
    /// Answers whose addresses the rebinding filter removed.
    rebind_filtered: Cell<u64>,
    /// Config entries skipped (not domains, or over a cap).
    skipped: u64,
}

/// The keys of `domains` (text), at most `max`; and how many were skipped.
fn keys_of(h: &Hasher, domains: &[String], max: usize) -> (DomainSet, u64) {
    let mut keys = Vec::new();
    let mut skipped = 0u64;
    for d in domains {
        match wire_from_str(d).and_then(|w| h.key(&w)) {
            Some(k) if keys.len() < max => keys.push(k),
            _ => skipped += 1,
        }
    }
    (DomainSet::from_keys(keys), skipped)
}

impl Policy {
    /// The policy of `cfg`, hashing with `hasher`.
    pub(crate) fn new(cfg: &PolicyConfig, hasher: Hasher) -> Self {
        let lim = &cfg.limits;
        let mut answer_keys = Vec::new();
        let (local, sk) = Local::new(cfg, |w| answer_keys.extend(hasher.key(w)));
        let (allow, s1) = keys_of(&hasher, &cfg.allow, lim.max_rules);
        let server_domains: Vec<String> = cfg.servers.iter().map(|s| s.domain.clone()).collect();
        let (servers, s2) = keys_of(&hasher, &server_domains, lim.max_rules);
        let mut exempt_domains = server_domains;
        exempt_domains.extend(cfg.rebind_ok.iter().take(lim.max_rules).cloned());
        let (exempt, _) = keys_of(&hasher, &exempt_domains, 2 * lim.max_rules);
        let mut p = Policy {
            hasher,
            lists: Vec::new(),
            allow,
            local,
            answers: DomainSet::from_keys(answer_keys),
            servers,
            exempt,
            block_answer: cfg.block_answer,
            stop_rebind: cfg.stop_rebind,
            limits: lim.clone(),
            local_answers: Cell::new(0),
            rebind_filtered: Cell::new(0),
            skipped: sk.invalid + sk.over_cap + s1 + s2,
        };
        if !cfg.block.is_empty() {
            let mut b = p.builder();
            b.cap = b.cap.min(lim.max_rules);
            for d in &cfg.block {
                b.insert(d);
            }
            let _ = p.set_list(0, BOOT_LIST, b);
        }
        p
    }

    /// An empty builder for a list, hashing as this policy does.
    pub(crate) fn builder(&self) -> BlocklistBuilder {
        BlocklistBuilder::new(self.hasher, self.limits.max_blocked_domains)
    }

    /// Replace (or add) list `id` with the domains of `b`.
    pub(crate) fn set_list(
        &mut self,
        id: u16,
        source: &str,
        b: BlocklistBuilder,
    ) -> Result<usize, SetBlocklistError> {
        let others: usize = self
            .lists
            .iter()
            .filter(|l| l.id != id)
            .map(|l| l.set.len())
            .sum();
        let at = self.lists.iter().position(|l| l.id == id);
        if at.is_none() && self.lists.len() >= self.limits.max_lists {
            return Err(SetBlocklistError::TooManyLists {
                max: self.limits.max_lists,
            });
        }
        let rejected = b.rejected;
        let set = DomainSet::from_keys(b.keys);
        if others + set.len() > self.limits.max_blocked_domains {
            return Err(SetBlocklistError::TooManyDomains {
                max: self.limits.max_blocked_domains,
            });
        }
        let n = set.len();
        match at.and_then(|i| self.lists.get_mut(i)) {
            Some(l) => {
                l.set = set;
                l.source = String::from(source);
                l.rejected = rejected;
                l.loads += 1;
            }
            None => self.lists.push(List {
                id,
                source: String::from(source),
                set,
                rejected,
                loads: 1,
                hits: Cell::new(0),
            }),
        }
        Ok(n)
    }

    /// Remove list `id`; whether it was there.
    pub(crate) fn remove_list(&mut self, id: u16) -> bool {
        let before = self.lists.len();
        self.lists.retain(|l| l.id != id);
        self.lists.len() != before
    }

    /// Whether `--dns-allow` covers `wire`.
    fn allowed(&self, wire: &[u8]) -> bool {
        !self.allow.is_empty() && self.hasher.suffixes(wire, |_, k| self.allow.contains(k))
    }

    /// The list that blocks `wire` (at the name or an ancestor), unless allowed.
    fn blocking_list(&self, wire: &[u8]) -> Option<&List> {
        if self.lists.is_empty() {
            return None;
        }
        let mut found = None;
        self.hasher.suffixes(wire, |_, k| {
            found = self.lists.iter().find(|l| l.set.contains(k));
            found.is_some()
        });
        found.filter(|_| !self.allowed(wire))
    }

    /// Whether a name (wire, any case) is blocked; the fast path's CNAME check.
    pub(crate) fn blocks(&self, wire: &[u8]) -> bool {
        self.blocking_list(wire).is_some()
    }

    /// The fast path's question: `None` if policy has its own answer for `wire` (the
    /// full path gives it); else whether the rebinding filter applies to its answer.
    #[inline]
    pub(crate) fn fast_check(&self, wire: &[u8]) -> Option<bool> {
        let (mut local, mut blocked, mut allowed, mut exempt) = (false, false, false, false);
        let complete = self.hasher.suffixes(wire, |_, k| {
            if self.answers.contains(k) {
                local = true;
                return true;
            }
            allowed |= self.allow.contains(k);
            blocked |= self.lists.iter().any(|l| l.set.contains(k));
            exempt |= self.exempt.contains(k);
            false
        });
        if complete || local || (blocked && !allowed) {
            return None;
        }
        Some(self.stop_rebind && !exempt)
    }

    /// Whether a resolution for `qname` should not follow a CNAME to `target`: the
    /// target is blocked (and `qname` not allowed). The resolution then ends with the
    /// chain so far, which [`Policy::screen`] turns into the blocked answer.
    pub(crate) fn cloaks(&self, qname: &Name, target: &Name) -> bool {
        match (wire_of(target), wire_of(qname)) {
            (Some(t), Some(q)) => self.blocks(&t) && !self.allowed(&q),
            _ => false,
        }
    }

    /// The blocked answer to `name`/`qtype`, naming `source`.
    fn blocked_answer(&self, name: &Name, qtype: RecordType, text: String) -> Answer {
        let rec = |rd| Record::from_rdata(name.clone(), BLOCK_TTL, rd);
        let mut a = match (self.block_answer, qtype) {
            (BlockAnswer::NxDomain, _) => {
                Answer::negative(ResponseCode::NXDomain, Vec::new(), None)
            }
            (BlockAnswer::Null, RecordType::A) => {
                Answer::records(alloc::vec![rec(RData::A(A(Ipv4Addr::UNSPECIFIED)))])
            }
            (BlockAnswer::Null, RecordType::AAAA) => {
                Answer::records(alloc::vec![rec(RData::AAAA(AAAA(Ipv6Addr::UNSPECIFIED)))])
            }
            (BlockAnswer::Null, _) => Answer::negative(ResponseCode::NoError, Vec::new(), None),
        };
        a.ede = Some(Ede::BLOCKED);
        a.ede_text = Some(text);
        a
    }

    /// Admission: policy's own answer to `w`, or `None` to go on (see the module docs
    /// for the order).
    pub(crate) fn on_query(&self, w: &Waiter) -> Option<Answer> {
        let name = w.query.name();
        let qtype = w.query.query_type();
        let wire = wire_of(name)?;
        if let Some(a) = self.local.answer_data(&wire, name, qtype) {
            self.local_answers.set(self.local_answers.get() + 1);
            return Some(a);
        }
        if let Some(l) = self.blocking_list(&wire) {
            l.hits.set(l.hits.get() + 1);
            let text = format!("blocked by {}", l.source);
            return Some(self.blocked_answer(name, qtype, text));
        }
        if self.hasher.suffixes(&wire, |_, k| self.servers.contains(k)) {
            return None;
        }
        let a = self.local.answer_zone(&wire, name, qtype)?;
        self.local_answers.set(self.local_answers.get() + 1);
        Some(a)
    }

    /// The answer a client gets for `qname`/`qtype`, from the cache or a resolution:
    /// blocked if a CNAME in it leads to a blocked name (and `qname` is not allowed);
    /// without private addresses if rebinding protection applies (NODATA with EDE 15
    /// if none is left).
    pub(crate) fn screen(&self, qname: &Name, qtype: RecordType, mut ans: Answer) -> Answer {
        if ans.answers.is_empty() || ans.aa {
            return ans;
        }
        let Some(wire) = wire_of(qname) else {
            return ans;
        };
        if !self.lists.is_empty() && !self.allowed(&wire) {
            for r in &ans.answers {
                let RData::CNAME(c) = &r.data else { continue };
                let Some(t) = wire_of(&c.0) else { continue };
                if let Some(l) = self.blocking_list(&t) {
                    l.hits.set(l.hits.get() + 1);
                    let text = format!("blocked by {} (CNAME to {})", l.source, c.0);
                    return self.blocked_answer(qname, qtype, text);
                }
            }
        }
        if self.stop_rebind
            && ans
                .answers
                .iter()
                .any(|r| r.data.ip_addr().is_some_and(private))
            && !self.hasher.suffixes(&wire, |_, k| self.exempt.contains(k))
        {
            self.rebind_filtered.set(self.rebind_filtered.get() + 1);
            ans.answers
                .retain(|r| !r.data.ip_addr().is_some_and(private));
            if !ans.answers.iter().any(|r| r.record_type() == qtype) {
                // dnsmasq (forward.c, `--stop-dns-rebind`) logs "possible DNS-rebind
                // attack detected", empties every section and answers NOERROR with EDE
                // 15 Blocked: a NODATA. Do the same: the chain goes too.
                let mut nodata = Answer::negative(ResponseCode::NoError, Vec::new(), None);
                nodata.ede = Some(Ede::REBIND);
                return nodata;
            }
        }
        ans
    }

    /// The counters.
    pub(crate) fn stats(&self) -> PolicyStats {
        PolicyStats {
            local_answers: self.local_answers.get(),
            rebind_filtered: self.rebind_filtered.get(),
            local_names: self.local.names() as u64,
            config_skipped: self.skipped,
            lists: self
                .lists
                .iter()
                .map(|l| BlocklistStats {
                    id: l.id,
                    source: l.source.clone(),
                    domains: l.set.len() as u64,
                    rejected: l.rejected,
                    loads: l.loads,
                    hits: l.hits.get(),
                    heap_bytes: l.set.heap_bytes() as u64,
                })
                .collect(),
        }
    }
}

/// Whether rebinding protection drops `ip`: RFC 1918, CGNAT 100.64/10, loopback,
/// link-local, "this network" 0/8, and IPv6 loopback, unspecified, ULA fc00::/7,
/// link-local fe80::/10 and IPv4-mapped forms of the IPv4 ones.
pub(crate) fn private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            let [o0, o1, ..] = a.octets();
            a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || o0 == 0
                || (o0 == 100 && (64..128).contains(&o1))
        }
        IpAddr::V6(a) => {
            let s0 = a.segments()[0];
            a.is_loopback()
                || a.is_unspecified()
                || (s0 & 0xfe00) == 0xfc00
                || (s0 & 0xffc0) == 0xfe80
                || a.to_ipv4_mapped().is_some_and(|v4| private(IpAddr::V4(v4)))
        }
    }
}

/// Whether a record's RDATA (type `rtype`, as on the wire) is an address that
/// rebinding protection drops.
pub(crate) fn private_rdata(rtype: u16, rdata: &[u8]) -> bool {
    match (rtype, rdata.len()) {
        (1, 4) => <[u8; 4]>::try_from(rdata).is_ok_and(|o| private(IpAddr::from(o))),
        (28, 16) => <[u8; 16]>::try_from(rdata).is_ok_and(|o| private(IpAddr::from(o))),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges() {
        for p in [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "127.0.0.1",
            "169.254.1.1",
            "0.0.0.0",
            "::1",
            "::",
            "fd00::1",
            "fc00::1",
            "fe80::1",
            "::ffff:192.168.1.1",
        ] {
            assert!(private(p.parse().unwrap()), "{p}");
        }
        for p in [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "192.0.2.1",
            "2001:db8::1",
            "fec0::1",
        ] {
            assert!(!private(p.parse().unwrap()), "{p}");
        }
        assert!(private_rdata(1, &[10, 0, 0, 1]));
        assert!(!private_rdata(1, &[8, 8, 8, 8]));
        assert!(!private_rdata(16, &[10, 0, 0, 1]));
    }
}

//! A resolution's current delegation: the zone cut whose servers it asks, their names
//! and addresses (or the state of looking an address up), which addresses it tried,
//! and how the tries failed.

use alloc::vec::Vec;
use core::net::SocketAddr;

use hickory_proto::rr::{Name, RData, Record, RecordType};

use core::num::NonZeroUsize;
use core::time::Duration;

use lru::LruCache;

use super::{Ctx, Id};
use crate::cache::{Cache, Data, Hit, KeyedHasher, Rank};
use crate::config::{EngineConfig, Mode};
use crate::ede::Ede;
use crate::time::Instant;

/// Whether a name server's addresses are known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NsState {
    /// Addresses known (glue, cache, a finished sub-resolution, or configuration).
    Known,
    /// No address yet; none looked up.
    Unresolved,
    /// Resolution `Id` looks its address up; it wakes this one when it ends.
    Resolving(Id),
    /// No address could be found.
    Failed,
}

/// One name server of a delegation.
#[derive(Clone, Debug)]
pub(crate) struct NsSlot {
    /// Its name (the root name for configured servers and root hints).
    pub(crate) name: Name,
    /// Its addresses (port 53, or the configured port), at most `max_addrs_per_ns`.
    pub(crate) addrs: Vec<SocketAddr>,
    /// Whether they are known.
    pub(crate) state: NsState,
    /// The A lookup for this name found nothing; the next one asks AAAA (`use_ipv6`).
    pub(crate) want_aaaa: bool,
    /// The parent zone's glue for it where that differs from `addrs`: tried after
    /// them, so a child that gives its servers wrong addresses (or whose lookup
    /// fails) still leaves the parent's.
    pub(crate) glue: Vec<SocketAddr>,
}

impl NsSlot {
    /// A slot for `name`: known if it has addresses, else still to be resolved.
    pub(crate) fn new(name: Name, addrs: Vec<SocketAddr>) -> NsSlot {
        let state = if addrs.is_empty() {
            NsState::Unresolved
        } else {
            NsState::Known
        };
        NsSlot {
            name,
            addrs,
            state,
            want_aaaa: false,
            glue: Vec::new(),
        }
    }

    /// A slot of servers given by address (configured upstreams, root hints).
    fn known(addrs: Vec<SocketAddr>) -> NsSlot {
        NsSlot {
            name: Name::root(),
            addrs,
            state: NsState::Known,
            want_aaaa: false,
            glue: Vec::new(),
        }
    }
}

/// How an upstream query ended without an answer to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cause {
    /// No answer in time.
    Timeout,
    /// The netstack could not deliver it (connect failed, unreachable).
    Unreachable,
    /// Given up on to ask again at once (0x20 case mismatches); not a failure.
    Retry,
}

/// Counts of the ways a delegation's servers failed.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Failures {
    /// Queries that timed out.
    timeouts: u8,
    /// Queries that could not be delivered.
    unreachable: u8,
    /// Answers that were lame (or SERVFAIL, REFUSED, a referral from a forwarder).
    lame: u8,
}

impl Failures {
    /// Count a query that ended without an answer.
    pub(crate) fn note(&mut self, cause: Cause) {
        match cause {
            Cause::Timeout => self.timeouts = self.timeouts.saturating_add(1),
            Cause::Unreachable => self.unreachable = self.unreachable.saturating_add(1),
            Cause::Retry => {}
        }
    }

    /// The EDE for a delegation none of whose servers gave an answer: any timeout
    /// makes it 22 No Reachable Authority; else network errors 23; else lame answers
    /// 20; with no attempt at all (no address found), 22.
    pub(crate) fn ede(&self) -> Ede {
        if self.timeouts > 0 {
            Ede::TIMED_OUT
        } else if self.unreachable > 0 {
            Ede::UNREACHABLE
        } else if self.lame > 0 {
            Ede::LAME
        } else {
            Ede::TIMED_OUT
        }
    }
}

/// A zone cut and its servers.
#[derive(Clone, Debug)]
pub(crate) struct Delegation {
    /// The zone (the root for forwarding).
    pub(crate) zone: Name,
    /// Its name servers, at most `max_ns_per_delegation`.
    pub(crate) ns: Vec<NsSlot>,
    /// Addresses queried for this delegation and how often (a lame answer counts 2).
    pub(crate) tried: Vec<(SocketAddr, u8)>,
    /// Address lookups for glueless NS names started, at most
    /// `max_ns_resolutions_per_delegation`.
    pub(crate) children_started: u8,
    /// How the queries to this delegation's servers failed, for the EDE when all did.
    pub(crate) failures: Failures,
    /// Forwarders (`--forward`, or a `--server=/zone/` for this zone): asked with
    /// RD=1, the full name, and never replaced by a referral or the parent zone.
    pub(crate) forward: bool,
}

impl Delegation {
    /// A delegation to `zone` served by `ns`.
    fn new(zone: Name, ns: Vec<NsSlot>) -> Self {
        Self {
            zone,
            ns,
            tried: Vec::new(),
            children_started: 0,
            failures: Failures::default(),
            forward: false,
        }
    }

    /// How often `a` was tried.
    pub(crate) fn tries(&self, a: SocketAddr) -> u8 {
        self.tried
            .iter()
            .find(|(s, _)| *s == a)
            .map_or(0, |(_, n)| *n)
    }

    /// Count `by` more tries of `a`.
    pub(crate) fn bump(&mut self, a: SocketAddr, by: u8) {
        if let Some(e) = self.tried.iter_mut().find(|(s, _)| *s == a) {
            e.1 = e.1.saturating_add(by);
        } else {
            self.tried.push((a, by));
        }
    }

    /// `a` answered uselessly (lame, SERVFAIL, REFUSED, a referral from a forwarder):
    /// do not ask it again.
    pub(crate) fn mark_lame(&mut self, a: SocketAddr) {
        self.bump(a, 2);
        self.failures.lame = self.failures.lame.saturating_add(1);
    }

    /// `a` may be asked again as if untried.
    pub(crate) fn forget(&mut self, a: SocketAddr) {
        self.tried.retain(|(s, _)| *s != a);
    }

    /// Every known address with its tries, in slot order; the parent's glue
    /// addresses only once those of their slot have each been tried.
    pub(crate) fn candidates(&self) -> Vec<(SocketAddr, u8)> {
        let mut v: Vec<(SocketAddr, u8)> = self
            .ns
            .iter()
            .flat_map(|s| s.addrs.iter().copied())
            .map(|a| (a, self.tries(a)))
            .collect();
        for s in &self.ns {
            let exhausted = s.addrs.iter().all(|a| self.tries(*a) > 0);
            if exhausted {
                v.extend(s.glue.iter().map(|a| (*a, self.tries(*a))));
            }
        }
        v
    }

    /// Sub-resolution `child` ended with `addrs` (empty: nothing found). With IPv6 on
    /// and no IPv4 address found, the slot asks AAAA next.
    pub(crate) fn resolved(&mut self, child: Id, addrs: &[SocketAddr], v6: bool) {
        for s in &mut self.ns {
            if s.state == NsState::Resolving(child) {
                if addrs.is_empty() && v6 && !s.want_aaaa {
                    s.want_aaaa = true;
                    s.state = NsState::Unresolved;
                } else if addrs.is_empty() {
                    s.state = NsState::Failed;
                } else {
                    s.addrs = addrs.to_vec();
                    s.state = NsState::Known;
                }
            }
        }
    }

    /// The closest delegation for `name` known from configuration and the cache:
    /// the upstreams when forwarding; else the deepest cached NS set above `name`, or
    /// the root hints.
    pub(crate) fn find(ctx: &mut Ctx<'_>, name: &Name) -> Delegation {
        let (cfg, now) = (ctx.cfg, ctx.now);
        let v6 = cfg.use_ipv6;
        let max_ns = cfg.limits.max_ns_per_delegation;
        let forwarders = |zone: Name, upstreams: &[SocketAddr]| {
            let addrs = upstreams
                .iter()
                .filter(|a| v6 || a.is_ipv4())
                .copied()
                .collect();
            let mut d = Delegation::new(zone, alloc::vec![NsSlot::known(addrs)]);
            d.forward = true;
            d
        };
        // `--server=/DOMAIN/IP`: the domain's own servers, whatever the mode.
        if let Some((zone, servers)) = cfg.policy.servers_for(name) {
            return forwarders(zone, servers);
        }
        match &cfg.mode {
            Mode::Forward { upstreams } => forwarders(Name::root(), upstreams),
            Mode::Recursive { root_hints } => {
                let hints: Vec<SocketAddr> = root_hints
                    .iter()
                    .filter(|a| v6 || a.is_ipv4())
                    .map(|a| SocketAddr::new(*a, 53))
                    .collect();
                let mut z = name.clone();
                while !z.is_root() {
                    if let Some(Hit {
                        data: Data::Records(ns),
                        ..
                    }) = ctx
                        .cache
                        .lookup(now, &z, RecordType::NS, Rank::Referral, false)
                    {
                        let mut slots = Vec::new();
                        for r in ns.iter().take(max_ns) {
                            let RData::NS(n) = &r.data else { continue };
                            let addrs = cached_ns_addrs(cfg, ctx.cache, now, &n.0);
                            let mut slot = NsSlot::new(n.0.clone(), addrs);
                            slot.glue = ctx.glue.get(now, &n.0, &slot.addrs);
                            slots.push(slot);
                        }
                        if !slots.is_empty() {
                            return Delegation::new(z, slots);
                        }
                    }
                    z = z.base_name();
                }
                Delegation::new(Name::root(), alloc::vec![NsSlot::known(hints)])
            }
        }
    }

    /// The delegation a referral gives: its NS names with their in-bailiwick glue, or
    /// cached addresses where there is none.
    pub(crate) fn from_referral(
        ctx: &mut Ctx<'_>,
        zone: Name,
        ns: &[Record],
        glue: &[Record],
    ) -> Delegation {
        let (cfg, now) = (ctx.cfg, ctx.now);
        let v6 = cfg.use_ipv6;
        let max_addrs = cfg.limits.max_addrs_per_ns;
        let mut slots = Vec::new();
        for r in ns.iter().take(cfg.limits.max_ns_per_delegation) {
            let RData::NS(n) = &r.data else { continue };
            let mut addrs: Vec<SocketAddr> = glue
                .iter()
                .filter(|g| g.name == n.0)
                .filter_map(|g| g.data.ip_addr())
                .filter(|a| v6 || a.is_ipv4())
                .map(|a| SocketAddr::new(a, 53))
                .take(max_addrs)
                .collect();
            let ttl = glue.iter().filter(|g| g.name == n.0).map(|g| g.ttl).min();
            if let Some(ttl) = ttl.filter(|_| !addrs.is_empty()) {
                ctx.glue.note(cfg, now, &n.0, &addrs, ttl);
            }
            if addrs.is_empty() {
                addrs = cached_ns_addrs(cfg, ctx.cache, now, &n.0);
            }
            let mut slot = NsSlot::new(n.0.clone(), addrs);
            slot.glue = ctx.glue.get(now, &n.0, &slot.addrs);
            slots.push(slot);
        }
        Delegation::new(zone, slots)
    }
}

/// The parent-side glue seen in referrals, by name server name: what a delegation
/// falls back on when the child's own addresses for its servers fail (the cache
/// keeps only the child's, which outrank glue). At most `Limits::max_parent_glue`
/// names, least recently used dropped first; each entry lives as long as its TTL
/// (clamped to `max_ttl`).
pub(crate) struct ParentGlue {
    /// Addresses and expiry by lower-cased name.
    table: LruCache<Name, (Vec<SocketAddr>, Instant), KeyedHasher>,
}

impl core::fmt::Debug for ParentGlue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ParentGlue")
            .field("len", &self.table.len())
            .finish()
    }
}

impl ParentGlue {
    /// An empty table of at most `cap` names.
    pub(crate) fn new(cap: usize, hasher: KeyedHasher) -> Self {
        let cap = NonZeroUsize::new(cap.max(1)).unwrap_or(NonZeroUsize::MIN);
        Self {
            table: LruCache::with_hasher(cap, hasher),
        }
    }

    /// Names held.
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    /// A referral gave `addrs` as glue for `name`, with TTL `ttl`.
    pub(crate) fn note(
        &mut self,
        cfg: &EngineConfig,
        now: Instant,
        name: &Name,
        addrs: &[SocketAddr],
        ttl: u32,
    ) {
        if cfg.limits.max_parent_glue == 0 {
            return;
        }
        let ttl = Duration::from_secs(u64::from(ttl)).min(cfg.max_ttl);
        let until = now.saturating_add(ttl);
        self.table.put(name.to_lowercase(), (addrs.to_vec(), until));
    }

    /// The fresh glue of `name` not among `have`.
    pub(crate) fn get(
        &mut self,
        now: Instant,
        name: &Name,
        have: &[SocketAddr],
    ) -> Vec<SocketAddr> {
        if self.table.is_empty() {
            return Vec::new();
        }
        match self.table.get(&name.to_lowercase()) {
            Some((addrs, until)) if now < *until => addrs
                .iter()
                .filter(|a| !have.contains(a))
                .copied()
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// The cached addresses of name server `name` (port 53), at most `max_addrs_per_ns`,
/// IPv6 only with `use_ipv6`.
fn cached_ns_addrs(
    cfg: &EngineConfig,
    cache: &mut Cache<KeyedHasher>,
    now: Instant,
    name: &Name,
) -> Vec<SocketAddr> {
    cache
        .addresses(now, name, cfg.use_ipv6)
        .into_iter()
        .take(cfg.limits.max_addrs_per_ns)
        .map(|a| SocketAddr::new(a, 53))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_name_the_cause() {
        let mut f = Failures::default();
        assert_eq!(f.ede(), Ede::TIMED_OUT);
        f.lame = 1;
        assert_eq!(f.ede(), Ede::LAME);
        f.note(Cause::Unreachable);
        assert_eq!(f.ede(), Ede::UNREACHABLE);
        f.note(Cause::Retry);
        f.note(Cause::Timeout);
        assert_eq!(f.ede(), Ede::TIMED_OUT);
    }

    #[test]
    fn a_sub_resolution_fills_its_slot() {
        let a: SocketAddr = "192.0.2.1:53".parse().unwrap();
        let mut d = Delegation::new(
            Name::root(),
            alloc::vec![NsSlot::new(
                Name::from_ascii("ns.example.").unwrap(),
                Vec::new()
            )],
        );
        d.ns[0].state = NsState::Resolving(7);
        d.resolved(7, &[], true);
        assert_eq!(
            (d.ns[0].state, d.ns[0].want_aaaa),
            (NsState::Unresolved, true)
        );
        d.ns[0].state = NsState::Resolving(8);
        d.resolved(8, &[a], true);
        assert_eq!(
            (d.ns[0].state, d.candidates()),
            (NsState::Known, alloc::vec![(a, 0)])
        );
    }

    #[test]
    fn parent_glue_is_capped_and_expires() {
        let cfg = EngineConfig {
            limits: crate::config::Limits {
                max_parent_glue: 2,
                ..crate::config::Limits::default()
            },
            ..EngineConfig::default()
        };
        let mut g = ParentGlue::new(cfg.limits.max_parent_glue, KeyedHasher::new(3, 4));
        let a: SocketAddr = "192.0.2.1:53".parse().unwrap();
        let b: SocketAddr = "192.0.2.2:53".parse().unwrap();
        let t = |s: u64| Instant::from_nanos(s * 1_000_000_000);
        let n = |s: &str| Name::from_ascii(s).unwrap();
        for s in ["ns1.a.test.", "ns2.a.test.", "ns3.a.test."] {
            g.note(&cfg, t(0), &n(s), &[a, b], 60);
        }
        assert_eq!(g.len(), 2);
        assert!(g.get(t(1), &n("ns1.a.test."), &[]).is_empty(), "evicted");
        assert_eq!(g.get(t(1), &n("NS3.a.test."), &[a]), alloc::vec![b]);
        assert!(g.get(t(60), &n("ns3.a.test."), &[]).is_empty(), "expired");
    }
}

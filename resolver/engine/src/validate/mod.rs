//! DNSSEC validation (issue 17): the `validate` stage between scrubbing and the cache.
//!
//! A resolution classifies a response ([`crate::scrub::classify`]); when the response
//! ends its question (an answer, a CNAME hop, NXDOMAIN or NODATA) and a trust anchor
//! covers the name, it holds the classified response and asks [`check`] what it proves:
//!
//! * [`Outcome::Need`]: the DNSKEY set of a signer zone, or the DS set of a zone, is not
//!   in the cache yet. The resolution asks for it as a dependency
//!   (`Step::Need(Dependency::Key)`), the way a glueless NS address is asked for, and
//!   checks again when it is woken. Those lookups are ordinary resolutions: their own
//!   answers go through this stage too, so a DNSKEY set is authenticated by the DS set
//!   from the parent (or the anchor), and the DS set by the parent's DNSKEY set, up to
//!   the anchor. Each is cached with its [`Security`], so the next question in the zone
//!   costs one verification (its own RRset) and a cached secure answer none.
//! * [`Outcome::Secure`] / [`Outcome::Insecure`]: cache with that state and react as
//!   before; a secure answer gets AD for clients that set DO or AD (RFC 6840 §5.8).
//! * [`Outcome::Bogus`]: cache nothing; SERVFAIL with the EDE the failure maps to (CD=1
//!   clients get the data unchecked), and the failure table keeps the SERVFAIL briefly
//!   (RFC 9520).
//!
//! Zone cuts: a signer zone below the anchor is settled by its DS set first (proven
//! absent at a delegation, NS in the NSEC/NSEC3 bitmap: insecure, its keys never
//! asked; proven absent where the parent has no cut: bogus). A response from a
//! forwarder says nothing about cuts, so for its unsigned RRsets the zone is found by
//! walking the DS sets from the anchor down; a recursive response's zone is the
//! delegation asked.
//!
//! Proven here: RRset signatures under an authenticated DNSKEY set, DNSKEY sets against
//! DS sets or anchors, NSEC/NSEC3 NXDOMAIN and NODATA proofs (a DS NODATA proof makes
//! the child insecure; NSEC3 opt-out and iterations above the cap are insecure), work
//! budgets per response and per client query (a response stops after a couple of
//! failed verifications: KeyTrap), denial proofs checked before their records are
//! verified and only the NSEC3 records a proof rests on verified ([`denial`]),
//! wildcard expansions proven with the
//! NSEC/NSEC3 records of the response (without any at hand, as for a CNAME chain
//! leaving the server's data, insecure). Not yet: RFC 8198 synthesis.

use alloc::vec::Vec;

use hickory_proto::rr::{Name, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinEncodable};

use crate::cache::{Cache, Data, KeyedHasher, Rank, Security};
use crate::config::{EngineConfig, Limits, Mode, iana_root_hints};
use crate::ede::Ede;
use crate::scrub::{Meaning, rrsig_covers};
use crate::time::Instant;

mod denial;
use denial::{denial, wildcard_outcome};

/// What validation concluded about a classified response (or what it still needs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Every RRset verified from a trust anchor down.
    Secure,
    /// Provably unsigned, or not checkable (unsupported algorithm, clock unset, NTA);
    /// `Some` EDE when one says why (27 for NSEC3 iterations, 1/2 unsupported).
    Insecure(Option<Ede>),
    /// Validation failed: SERVFAIL with this EDE.
    Bogus(Ede),
    /// The DNSKEY (or DS) RRset of this name must be looked up first.
    Need(Name, RecordType),
}

/// The engine's validator state: the anchors in force, the policy, the wall clock.
#[derive(Debug)]
pub(crate) struct Validator {
    /// Validation on.
    on: bool,
    /// The trust anchors in force, with their zones as hickory names (lower case).
    anchors: Vec<(Name, dnssec::TrustAnchor)>,
    /// Negative trust anchors (lower case).
    negative: Vec<Name>,
    /// What the crypto core accepts.
    policy: dnssec::Policy,
    /// Believe a wall clock before `floor`.
    trust_clock: bool,
    /// Seconds since the epoch before which the clock counts as unset.
    floor: u64,
    /// The last wall-clock reading: at this monotonic instant, this many seconds.
    wall: Option<(Instant, u64)>,
}

/// `n` as a dnssec-crate name.
pub(crate) fn dname(n: &Name) -> Option<dnssec::Name> {
    let b = n.to_bytes().ok()?;
    dnssec::Name::from_wire_exact(&b).ok()
}

/// A dnssec-crate name as a hickory name.
fn hname(n: &dnssec::Name) -> Option<Name> {
    Name::from_bytes(n.wire()).ok()
}

impl Validator {
    /// The validator for `cfg`: its anchors, plus the built-in root KSKs unless the
    /// engine recurses from private root hints.
    pub(crate) fn new(cfg: &EngineConfig) -> Self {
        let d = &cfg.dnssec;
        let private_root = match &cfg.mode {
            Mode::Recursive { root_hints } => *root_hints != iana_root_hints(),
            Mode::Forward { .. } => false,
        };
        let mut list = d.trust_anchors.clone();
        if d.builtin_root && !private_root {
            list.extend(dnssec::root_anchors());
        }
        let anchors = list
            .into_iter()
            .filter_map(|a| Some((hname(a.zone())?.to_lowercase(), a)))
            .collect();
        Validator {
            on: d.enabled,
            anchors,
            negative: d
                .negative_anchors
                .iter()
                .filter_map(|z| Name::from_ascii(z).ok())
                .map(|n| {
                    let mut n = n.to_lowercase();
                    n.set_fqdn(true);
                    n
                })
                .collect(),
            policy: dnssec::Policy {
                clock_skew_secs: u32::try_from(d.clock_skew.as_secs()).unwrap_or(u32::MAX),
                ..dnssec::Policy::default()
            },
            trust_clock: d.trust_clock,
            floor: d.clock_floor,
            wall: None,
        }
    }

    /// The wall clock read `secs` (since the epoch) at `now`.
    pub(crate) fn set_wall(&mut self, now: Instant, secs: u64) {
        self.wall = Some((now, secs));
    }

    /// The wall clock at `now`; `None` when it is unset (never given, or before the
    /// build date without `trust_clock`).
    pub(crate) fn wall(&self, now: Instant) -> Option<u64> {
        let (at, secs) = self.wall?;
        let t = secs.saturating_add(now.saturating_duration_since(at).as_secs());
        (self.trust_clock || t >= self.floor).then_some(t)
    }

    /// The zone of the deepest trust anchor at or above `name`, unless validation is
    /// off or a negative trust anchor at or below that zone covers `name`.
    pub(crate) fn anchor_for(&self, name: &Name) -> Option<&Name> {
        if !self.on {
            return None;
        }
        let best = self
            .anchors
            .iter()
            .map(|(z, _)| z)
            .filter(|z| z.zone_of(name))
            .max_by_key(|z| z.num_labels())?;
        let nta = self
            .negative
            .iter()
            .any(|n| n.zone_of(name) && best.zone_of(n));
        (!nta).then_some(best)
    }

    /// Whether `zone` is the zone of a trust anchor.
    fn anchors_of(&self, zone: &Name) -> impl Iterator<Item = &dnssec::TrustAnchor> {
        self.anchors
            .iter()
            .filter(move |(z, _)| z == zone)
            .map(|(_, a)| a)
    }
}

/// What one check may spend: the per-response budget, cut to what the client query's
/// tree has left.
pub(crate) fn budget(l: &Limits, tree_left: u32) -> dnssec::Budget {
    dnssec::Budget::new(
        l.dnssec_verifications_per_response.min(tree_left),
        l.dnssec_keys_per_rrsig,
        l.dnssec_rrsigs_per_rrset,
        l.dnssec_nsec3_hashes_per_response,
        l.dnssec_ds_digests_per_response,
    )
    .with_failed_verifications(l.dnssec_failed_verifications_per_response)
}

/// The records a check reads, as the dnssec crate wants them (names and RDATA as
/// received; records it cannot take are left out, which at worst fails the check).
fn convert(recs: &[Record]) -> Vec<dnssec::Record<'_>> {
    recs.iter()
        .filter_map(|r| dnssec::Record::from_hickory(r).ok())
        .collect()
}

/// The cache's view of a key RRset (DNSKEY or DS) for the validator.
enum Keys {
    /// Validated secure: these records.
    Secure(Vec<Record>),
    /// Validated secure as absent (a proven NODATA / NXDOMAIN); `cut`: for a DS set,
    /// the proof shows a delegation there without DS (an unsigned child).
    SecureAbsent { cut: bool },
    /// Insecure, with the EDE that says why when one does (1, 2, 27).
    Insecure(Option<Ede>),
    /// Not cached (or cached unchecked).
    Missing,
}

fn keys(cache: &mut Cache<KeyedHasher>, now: Instant, name: &Name, t: RecordType) -> Keys {
    let Some(hit) = cache.lookup(now, name, t, Rank::NonAuthAnswer, false) else {
        return Keys::Missing;
    };
    match (hit.attached.security, hit.data) {
        (Security::Secure, Data::Records(r)) => Keys::Secure(r),
        (Security::Secure, _) => Keys::SecureAbsent {
            cut: t == RecordType::DS && unsigned_cut(name, &hit.attached.proof),
        },
        (Security::Insecure, _) => Keys::Insecure(hit.attached.insecure_ede),
        (Security::Unchecked, _) => Keys::Missing,
    }
}

/// The DS set at `name` as [`keys`] finds it; when none has been validated, the copy a
/// parent's referral left in the cache (with its RRSIGs, `Rank::Referral`) is
/// validated now under the parent's keys, instead of asking the parent again for what
/// it already sent (RFC 4035 §3.1.4: a signed referral carries the DS set). Secure:
/// cached as such; bogus or a key lookup needed: that outcome.
fn ds_set(c: &mut Check<'_>, name: &Name) -> Result<Keys, Outcome> {
    let found = keys(c.cache, c.now, name, RecordType::DS);
    if !matches!(found, Keys::Missing) {
        return Ok(found);
    }
    let Some(hit) = c
        .cache
        .lookup(c.now, name, RecordType::DS, Rank::Referral, false)
        .filter(|h| h.attached.security == Security::Unchecked)
    else {
        return Ok(Keys::Missing);
    };
    let Data::Records(set) = hit.data else {
        return Ok(Keys::Missing);
    };
    let sigs: Vec<Record> = hit
        .attached
        .sigs
        .into_iter()
        .filter(|r| r.name == *name && rrsig_covers(r) == Some(RecordType::DS))
        .collect();
    let Some(wall) = c.val.wall(c.now) else {
        return Ok(Keys::Missing);
    };
    if set.is_empty() || sigs.is_empty() {
        return Ok(Keys::Missing);
    }
    match rrset_outcome(c, wall, name, RecordType::DS, &set, &sigs) {
        Outcome::Secure => {
            let attached = crate::cache::Attached {
                sigs,
                security: Security::Secure,
                ..crate::cache::Attached::default()
            };
            let ttl = set.iter().map(|r| r.ttl).min().unwrap_or(0);
            if ttl > 0 {
                c.cache.insert_rrset_with(
                    c.now,
                    name,
                    RecordType::DS,
                    set.clone(),
                    attached,
                    Rank::NonAuthAnswer,
                );
            }
            Ok(Keys::Secure(set))
        }
        // Signed by nothing we can check (above the anchor): ask as before.
        Outcome::Insecure(_) => Ok(Keys::Missing),
        o => Err(o),
    }
}

/// Whether the (validated) denial `proof` for DS at `name` shows a delegation
/// there: the NSEC or NSEC3 matching `name` has NS and neither SOA nor DS (RFC 4035
/// §5.2, RFC 5155 §8.9). Without NS the name is no cut: the parent's own data.
fn unsigned_cut(name: &Name, proof: &[Record]) -> bool {
    let Some(dn) = dname(name) else {
        return false;
    };
    let (ns, soa, ds) = (
        u16::from(RecordType::NS),
        u16::from(RecordType::SOA),
        u16::from(RecordType::DS),
    );
    let cut = |b: &dnssec::TypeBitmap<'_>| b.contains(ns) && !b.contains(soa) && !b.contains(ds);
    convert(proof).iter().any(|r| {
        if let Ok(nsec) = r.nsec() {
            return r.owner == dn && cut(&nsec.types);
        }
        let Ok(n3) = r.nsec3() else {
            return false;
        };
        // Its own parameters; the iteration cap was enforced when it was validated.
        let h = dnssec::nsec3_hash(&dn, n3.salt, n3.iterations);
        let label = dnssec::base32hex_encode(&h);
        let first = r.owner.labels().next().unwrap_or_default();
        first.eq_ignore_ascii_case(label.as_bytes()) && cut(&n3.types)
    })
}

/// The worse of two outcomes (bogus and need win over insecure over secure).
fn worse(a: Outcome, b: Outcome) -> Outcome {
    let rank = |o: &Outcome| match o {
        Outcome::Secure => 0,
        Outcome::Insecure(_) => 1,
        Outcome::Need(..) => 2,
        Outcome::Bogus(_) => 3,
    };
    if rank(&b) > rank(&a) { b } else { a }
}

/// A failure from the crypto core as an outcome.
fn failed(f: &dnssec::Failure) -> Outcome {
    if f.is_insecure() {
        Outcome::Insecure(Some(Ede::dnssec(f)))
    } else {
        Outcome::Bogus(Ede::dnssec(f))
    }
}

/// Everything one check needs besides the records.
pub(crate) struct Check<'a> {
    /// The cache (key RRsets and their states).
    pub(crate) cache: &'a mut Cache<KeyedHasher>,
    /// Monotonic time of the check.
    pub(crate) now: Instant,
    /// The validator.
    pub(crate) val: &'a Validator,
    /// What it may spend.
    pub(crate) budget: &'a mut dnssec::Budget,
    /// The zone the response came from (the delegation asked).
    pub(crate) zone: &'a Name,
    /// The response came from a forwarder: `zone` is no zone cut.
    pub(crate) forwarded: bool,
    /// The key lookups this resolution already made: not asked again.
    pub(crate) asked: &'a [(Name, RecordType)],
    /// Recent failures, where a bogus key lookup left the reason it failed.
    pub(crate) failures: &'a mut crate::resolve::failures::Failures,
    /// Set when a forwarder's answer for an anchor's DNSKEY set had no RRSIG.
    pub(crate) forwarder_unsigned: bool,
    /// The NSEC/NSEC3 records (and RRSIGs) a wildcard expansion is proven with: the
    /// answer's authority section ([`check`] fills it).
    pub(crate) wild: Vec<Record>,
}

/// What `m` (the answer to `qname`/`qtype`) proves. See the module docs.
pub(crate) fn check(c: &mut Check<'_>, qtype: RecordType, m: &Meaning) -> Outcome {
    let out = check_inner(c, qtype, m);
    // What this response cost (the torture run's KeyTrap item reads these lines).
    log::debug!(
        "dnssec: checked a {qtype} response from {}: {}, verifications {} (failed {}), nsec3 hashes {}",
        c.zone,
        match &out {
            Outcome::Secure => "secure",
            Outcome::Insecure(_) => "insecure",
            Outcome::Bogus(_) => "bogus",
            Outcome::Need(..) => "needs keys",
        },
        c.budget.verifications_done(),
        c.budget.failed_verifications_done(),
        c.budget.nsec3_hashes_done(),
    );
    out
}

fn check_inner(c: &mut Check<'_>, qtype: RecordType, m: &Meaning) -> Outcome {
    let (groups, negative) = match m {
        Meaning::Answer {
            chain,
            answer,
            proof,
        } => {
            let mut all = chain.clone();
            all.extend(answer.iter().cloned());
            c.wild.clone_from(proof);
            (all, None)
        }
        Meaning::Cname { chain, .. } => (chain.clone(), None),
        Meaning::NxDomain {
            chain,
            name,
            soa,
            proof,
        } => (
            {
                c.wild.clone_from(proof);
                chain.clone()
            },
            Some((name, None, soa.clone(), proof.as_slice())),
        ),
        Meaning::NoData {
            chain,
            name,
            soa,
            proof,
        } => (
            {
                c.wild.clone_from(proof);
                chain.clone()
            },
            Some((name, Some(qtype), soa.clone(), proof.as_slice())),
        ),
        Meaning::Referral { .. } | Meaning::Lame => return Outcome::Insecure(None),
    };
    if let Some((name, _, _, proof)) = negative
        && c.forwarded
        && qtype == RecordType::DNSKEY
        && groups.is_empty()
        && c.val.anchors_of(name).next().is_some()
        && !proof.iter().any(|r| {
            matches!(
                r.record_type(),
                RecordType::RRSIG | RecordType::NSEC | RecordType::NSEC3
            )
        })
    {
        // A trust anchor's key set denied without a signature or proof: a forwarder
        // that ignores DO (or knows no root at all, as the smallest ones do). As for
        // an unsigned key set: insecure below the anchor, said loudly.
        log::warn!(
            "dnssec: forwarder denied {name} DNSKEY without signatures (DO ignored): answers below it are insecure"
        );
        c.forwarder_unsigned = true;
        return Outcome::Insecure(None);
    }
    let Some(wall) = c.val.wall(c.now) else {
        log::warn!("dnssec: wall clock unset, answers are insecure (--dnssec-clock=trust)");
        return Outcome::Insecure(None);
    };
    let mut out = Outcome::Secure;
    // The positive RRsets, one by one.
    let mut sets: Vec<(Name, RecordType)> = Vec::new();
    for r in &groups {
        let k = (r.name.clone(), r.record_type());
        if k.1 != RecordType::RRSIG && !sets.contains(&k) {
            sets.push(k);
        }
    }
    for (owner, t) in &sets {
        let rrset: Vec<Record> = groups
            .iter()
            .filter(|r| r.name == *owner && r.record_type() == *t)
            .cloned()
            .collect();
        let sigs: Vec<Record> = groups
            .iter()
            .filter(|r| r.name == *owner && rrsig_covers(r) == Some(*t))
            .cloned()
            .collect();
        out = worse(out, rrset_outcome(c, wall, owner, *t, &rrset, &sigs));
        if matches!(out, Outcome::Bogus(_) | Outcome::Need(..)) {
            return out;
        }
    }
    if let Some((name, qt, soa, proof)) = negative {
        out = worse(out, denial(c, wall, name, qt, soa, proof));
    }
    out
}

/// The signer an RRset's signatures name (the first that is an ancestor of the
/// owner).
fn signer_of(owner: &Name, sigs: &[Record]) -> Option<Name> {
    sigs.iter()
        .filter_map(|s| {
            let d = dnssec::Record::from_hickory(s).ok()?;
            let sig = d.rrsig().ok()?;
            hname(&sig.signer)
        })
        .map(|n| n.to_lowercase())
        .find(|n| n.zone_of(owner))
}

/// The outcome for one RRset.
fn rrset_outcome(
    c: &mut Check<'_>,
    wall: u64,
    owner: &Name,
    t: RecordType,
    rrset: &[Record],
    sigs: &[Record],
) -> Outcome {
    let Some(anchor) = c.val.anchor_for(owner).cloned() else {
        return Outcome::Insecure(None);
    };
    if c.forwarded
        && t == RecordType::DNSKEY
        && sigs.is_empty()
        && c.val.anchors_of(owner).next().is_some()
    {
        // The anchor's own key set without a single signature: the forwarder ignores
        // DO, so nothing below can be proven either way. Bogus would be every name
        // (signed or not) SERVFAIL for a home network behind such a forwarder; the
        // answers are insecure instead, said loudly. Anything else (a signature that
        // fails, a key that does not match) stays bogus.
        log::warn!(
            "dnssec: forwarder sent {owner} DNSKEY without RRSIGs (DO ignored): answers below it are insecure"
        );
        c.forwarder_unsigned = true;
        return Outcome::Insecure(None);
    }
    let signer = match signer_of(owner, sigs) {
        Some(s) => s,
        // A DNSKEY set is its own zone's, signed or not: checked against the DS set
        // (or anchor) of that zone, so an unsigned one whose key the DS names is
        // RRSIGs Missing (EDE 10), not DNSKEY Missing (RFC 8914 §4.10, §4.11).
        None if t == RecordType::DNSKEY => owner.clone(),
        None => {
            // Unsigned. A forwarder's response names no cut: start at the anchor. A
            // server's may come from a zone below the one asked (parent and child on
            // the same servers, no referral between): start at the zone asked, and
            // look below it only when that zone is signed.
            let base = if c.forwarded || !anchor.zone_of(c.zone) {
                anchor.clone()
            } else {
                c.zone.clone()
            };
            if let Err(o) = zone_keys(c, &base) {
                return o;
            }
            // A DS set is the parent's: the walk stops above it.
            match cut_above(c, &base, owner, t == RecordType::DS) {
                Ok(z) => z,
                Err(o) => return o,
            }
        }
    };
    if !anchor.zone_of(&signer) {
        // Signed by (or asked of) a zone above the anchor: nothing to check it with.
        return Outcome::Insecure(None);
    }
    // A DS set belongs to the parent: its signer is a proper ancestor.
    if t == RecordType::DS && signer == *owner {
        return Outcome::Bogus(Ede::dnssec(&dnssec::Failure::Bogus(
            dnssec::BogusReason::WrongZone,
        )));
    }
    let (drr, dsig) = (convert(rrset), convert(sigs));
    if t == RecordType::DNSKEY && signer == *owner {
        return dnskey_outcome(c, wall, owner, &drr, &dsig);
    }
    let zone_keys = match zone_keys(c, &signer) {
        Ok(k) => k,
        Err(o) => return o,
    };
    let dk = convert(&zone_keys);
    match dnssec::verify_rrset(&drr, &dsig, &dk, wall, &c.val.policy, c.budget) {
        // A wildcard expansion: the name itself must be proven absent.
        Ok(dnssec::Verified {
            expanded_from: Some(ce),
            ..
        }) => wildcard_outcome(c, wall, owner, &signer, &ce),
        Ok(_) => Outcome::Secure,
        Err(f) => failed(&f),
    }
}

/// The authenticated DNSKEY set of `zone`, or the outcome that stands instead
/// (insecure zone, a lookup to make, bogus).
///
/// Below the anchor the parent's DS set is settled first: absent at a proven cut, the
/// zone is insecure without asking for its keys (an unsigned zone has none to ask
/// for); proven absent where the parent shows no cut, `zone` is not a zone and the
/// signatures naming it are bogus (not a downgrade to insecure).
fn zone_keys(c: &mut Check<'_>, zone: &Name) -> Result<Vec<Record>, Outcome> {
    if c.val.anchors_of(zone).next().is_none() {
        match ds_set(c, zone)? {
            Keys::Secure(_) => {}
            Keys::Insecure(why) => return Err(Outcome::Insecure(why)),
            Keys::SecureAbsent { cut: true } => return Err(Outcome::Insecure(None)),
            Keys::SecureAbsent { cut: false } => {
                return Err(Outcome::Bogus(Ede::dnssec(&dnssec::Failure::Bogus(
                    dnssec::BogusReason::WrongZone,
                ))));
            }
            Keys::Missing => return Err(need(c, zone, RecordType::DS)),
        }
    }
    match keys(c.cache, c.now, zone, RecordType::DNSKEY) {
        Keys::Secure(k) => Ok(k),
        Keys::Insecure(why) => Err(Outcome::Insecure(why)),
        Keys::SecureAbsent { .. } => {
            Err(Outcome::Bogus(Ede::dnssec(&dnssec::Failure::DnskeyMissing)))
        }
        Keys::Missing => Err(need(c, zone, RecordType::DNSKEY)),
    }
}

/// The zone an unsigned RRset at `owner` belongs to, below the signed zone `anchor`
/// (a trust anchor, or the signed zone asked): walk the DS sets from below it down
/// to `owner`. `Err(Insecure)` at the first proven unsigned cut; otherwise the
/// deepest signed cut (whose keys then fail the RRset: RRSIGs missing), asking for
/// each DS set not yet cached.
fn cut_above(c: &mut Check<'_>, anchor: &Name, owner: &Name, ds: bool) -> Result<Name, Outcome> {
    let mut zone = anchor.clone();
    let below = owner
        .num_labels()
        .saturating_sub(anchor.num_labels())
        .saturating_sub(u8::from(ds));
    for i in 1..=below {
        let n = owner.trim_to(usize::from(anchor.num_labels() + i));
        match ds_set(c, &n)? {
            Keys::Secure(_) => zone = n,
            Keys::Insecure(why) => return Err(Outcome::Insecure(why)),
            Keys::SecureAbsent { cut: true } => return Err(Outcome::Insecure(None)),
            Keys::SecureAbsent { cut: false } => {}
            Keys::Missing => return Err(need(c, &n, RecordType::DS)),
        }
    }
    Ok(zone)
}

/// Ask for `name`/`t`, unless this resolution asked already (then it could not be
/// had: the keys are missing).
///
/// A lookup that was made and came back bogus reports the key set's own reason (an
/// expired DNSKEY signature is EDE 7, a DS without its NSEC EDE 12), which the
/// failure table keeps for the lookup's question.
fn need(c: &mut Check<'_>, name: &Name, t: RecordType) -> Outcome {
    if c.asked.iter().any(|(n, q)| n == name && *q == t) {
        let why = c.failures.get(c.now, name, t).filter(|e| e.is_dnssec());
        Outcome::Bogus(why.unwrap_or(Ede::dnssec(&dnssec::Failure::DnskeyMissing)))
    } else {
        Outcome::Need(name.clone(), t)
    }
}

/// A zone's own DNSKEY set: authenticated against the anchor at the zone, or the DS
/// set from the parent (which must be secure; proven absent, the zone is insecure).
fn dnskey_outcome(
    c: &mut Check<'_>,
    wall: u64,
    zone: &Name,
    drr: &[dnssec::Record<'_>],
    dsig: &[dnssec::Record<'_>],
) -> Outcome {
    let Some(dz) = dname(zone) else {
        return Outcome::Bogus(Ede::dnssec(&dnssec::Failure::Bogus(
            dnssec::BogusReason::Malformed,
        )));
    };
    let anchors: Vec<dnssec::TrustAnchor> = c.val.anchors_of(zone).cloned().collect();
    let policy = c.val.policy;
    let res = if anchors.is_empty() {
        let ds = match ds_set(c, zone) {
            Err(o) => return o,
            Ok(Keys::Secure(ds)) => ds,
            Ok(Keys::Insecure(why)) => return Outcome::Insecure(why),
            Ok(Keys::SecureAbsent { cut: true }) => return Outcome::Insecure(None),
            // The parent proves no cut here: a key set at a name that is no zone.
            Ok(Keys::SecureAbsent { cut: false }) => {
                return Outcome::Bogus(Ede::dnssec(&dnssec::Failure::Bogus(
                    dnssec::BogusReason::WrongZone,
                )));
            }
            Ok(Keys::Missing) => return need(c, zone, RecordType::DS),
        };
        let ds_recs = convert(&ds);
        let views: Vec<dnssec::Ds<'_>> = ds_recs.iter().filter_map(|r| r.ds().ok()).collect();
        dnssec::verify_dnskeys(
            &dz,
            drr,
            dsig,
            dnssec::Trust::Ds(&views),
            wall,
            &policy,
            c.budget,
        )
    } else {
        let ds: Vec<dnssec::Ds<'_>> = anchors.iter().filter_map(|a| a.ds()).collect();
        let keys: Vec<dnssec::Dnskey<'_>> = anchors.iter().filter_map(|a| a.dnskey()).collect();
        // DNSKEY and DS anchors at one zone (a lab's key beside the built-in root
        // KSKs): either may authenticate the set.
        let by_keys = (!keys.is_empty()).then(|| {
            dnssec::verify_dnskeys(
                &dz,
                drr,
                dsig,
                dnssec::Trust::Keys(&keys),
                wall,
                &policy,
                c.budget,
            )
        });
        match by_keys {
            Some(Ok(v)) => Ok(v),
            Some(Err(f)) if ds.is_empty() => Err(f),
            _ => dnssec::verify_dnskeys(
                &dz,
                drr,
                dsig,
                dnssec::Trust::Ds(&ds),
                wall,
                &policy,
                c.budget,
            ),
        }
    };
    match res {
        Ok(_) => Outcome::Secure,
        Err(f) => failed(&f),
    }
}

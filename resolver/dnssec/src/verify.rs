//! RRset verification (RFC 4035 §5.3) and DNSKEY RRset authentication from DS records or
//! trust-anchor keys (RFC 4035 §5.2), within a [`Budget`].

use alloc::vec::Vec;

use crate::canonical::signed_data;
use crate::crypto::{CryptoError, algorithm_supported, verify};
use crate::ds::{ds_digest, select_ds};
use crate::name::Name;
use crate::rdata::{Dnskey, Ds, Rrsig, rtype};
use crate::record::Record;
use crate::time::check_validity;
use crate::{BogusReason, Budget, BudgetKind, Failure, Policy};

/// What a successful verification established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// Key tag of the DNSKEY whose signature verified.
    pub key_tag: u16,
    /// Its algorithm.
    pub algorithm: u8,
    /// The signer (zone) name.
    pub signer: Name,
    /// The TTL the validated RRset may be cached for: the smallest of the records' TTLs,
    /// the RRSIG's original TTL and the seconds until the RRSIG expires (RFC 4035
    /// §5.3.3).
    pub ttl: u32,
    /// `Some(closest encloser)` when the RRset was synthesised from the wildcard
    /// `*.closest-encloser`: the caller must then prove that the query name itself
    /// does not exist ([`nsec_wildcard_answer`](crate::nsec_wildcard_answer),
    /// [`nsec3_wildcard_answer`](crate::nsec3_wildcard_answer)).
    pub expanded_from: Option<Name>,
}

/// A DNSKEY with its owner, as a candidate signer.
struct Key<'a> {
    owner: &'a Name,
    key: Dnskey<'a>,
}

/// The best reason seen so far for not validating; a later, more telling one replaces it.
#[derive(Default)]
struct Worst(Option<Failure>);

impl Worst {
    fn rank(f: &Failure) -> u8 {
        match f {
            Failure::Budget(_) => 6,
            Failure::Bogus(_) => 5,
            Failure::SignatureExpired | Failure::SignatureNotYetValid => 4,
            Failure::DnskeyMissing => 3,
            Failure::RrsigsMissing => 2,
            _ => 1,
        }
    }
    fn note(&mut self, f: Failure) {
        if self
            .0
            .as_ref()
            .is_none_or(|w| Self::rank(&f) > Self::rank(w))
        {
            self.0 = Some(f);
        }
    }
}

/// Verifies one RRset against its RRSIGs with the zone's (already authenticated)
/// DNSKEY records.
///
/// * `rrset`: the records of one owner, type and class (not empty).
/// * `rrsigs`: records of the same section; those of type RRSIG with the RRset's owner
///   and class covering its type are used, the rest ignored.
/// * `dnskeys`: the DNSKEY RRset of the signer zone, trusted by the caller (validated by
///   [`verify_dnskeys`] earlier, or from the cache).
/// * `now`: wall-clock seconds since the Unix epoch.
///
/// Tries at most `budget.rrsigs_per_rrset` RRSIGs and, for each, at most
/// `budget.keys_per_rrsig` DNSKEYs whose key tag and algorithm match; each try takes one
/// from `budget.verifications_left`. Expired or not-yet-valid RRSIGs cost no
/// verification. The first signature that verifies wins.
///
/// When none verifies the failure is the most telling one seen: budget exhaustion,
/// then bogus, then expired/not yet valid, then DNSKEY missing. When no RRSIG is of an
/// algorithm we implement the result is [`Failure::UnsupportedAlgorithm`] (insecure)
/// only if the DNSKEY set has no zone key of a supported algorithm either; otherwise an
/// attacker could strip the real signatures and add one of algorithm 253 to downgrade
/// the answer, so it is [`Failure::RrsigsMissing`].
pub fn verify_rrset(
    rrset: &[Record<'_>],
    rrsigs: &[Record<'_>],
    dnskeys: &[Record<'_>],
    now: u64,
    policy: &Policy,
    budget: &mut Budget,
) -> Result<Verified, Failure> {
    let keys: Vec<Key<'_>> = dnskeys
        .iter()
        .filter(|r| r.rtype == rtype::DNSKEY)
        .filter_map(|r| {
            Some(Key {
                owner: &r.owner,
                key: r.dnskey().ok()?,
            })
        })
        .collect();
    verify_with(rrset, rrsigs, &keys, now, policy, budget)
}

fn verify_with(
    rrset: &[Record<'_>],
    rrsigs: &[Record<'_>],
    keys: &[Key<'_>],
    now: u64,
    policy: &Policy,
    budget: &mut Budget,
) -> Result<Verified, Failure> {
    let first = rrset
        .first()
        .ok_or(Failure::Bogus(BogusReason::NotAnRrset))?;
    let (owner, rt, class) = (&first.owner, first.rtype, first.class);
    if rrset
        .iter()
        .any(|r| r.owner != *owner || r.rtype != rt || r.class != class)
        || rt == rtype::RRSIG
    {
        return Err(Failure::Bogus(BogusReason::NotAnRrset));
    }
    let min_ttl = rrset.iter().map(|r| r.ttl).min().unwrap_or(0);
    let rdatas: Vec<&[u8]> = rrset.iter().map(|r| &*r.rdata).collect();

    let sigs = rrsigs
        .iter()
        .filter(|r| r.rtype == rtype::RRSIG && r.owner == *owner && r.class == class)
        .filter_map(|r| r.rrsig().ok())
        .filter(|s| s.type_covered == rt);

    let mut worst = Worst::default();
    let mut any_sig = false;
    let mut supported_sig = false;
    for (i, sig) in sigs.enumerate() {
        any_sig = true;
        if i as u64 >= budget.rrsigs_per_rrset as u64 {
            worst.note(Failure::Budget(BudgetKind::RrsigsPerRrset));
            break;
        }
        if !algorithm_supported(sig.algorithm, policy) {
            worst.note(Failure::UnsupportedAlgorithm(sig.algorithm));
            continue;
        }
        supported_sig = true;
        match try_rrsig(&sig, owner, rt, class, &rdatas, keys, now, policy, budget) {
            Ok((secs_left, expanded_from)) => {
                return Ok(Verified {
                    key_tag: sig.key_tag,
                    algorithm: sig.algorithm,
                    signer: sig.signer.clone(),
                    ttl: min_ttl.min(sig.original_ttl).min(secs_left),
                    expanded_from,
                });
            }
            Err(f @ Failure::Budget(BudgetKind::Verifications)) => return Err(f),
            Err(f) => worst.note(f),
        }
    }
    if !any_sig {
        return Err(Failure::RrsigsMissing);
    }
    let zone_has_supported_key = keys
        .iter()
        .any(|k| k.key.is_zone_key() && algorithm_supported(k.key.algorithm, policy));
    match worst.0 {
        Some(Failure::UnsupportedAlgorithm(_)) if !supported_sig && zone_has_supported_key => {
            Err(Failure::RrsigsMissing)
        }
        Some(f) => Err(f),
        None => Err(Failure::RrsigsMissing),
    }
}

/// One RRSIG: checks, candidate keys, verification. Returns the seconds left on the
/// signature and the wildcard's closest encloser, if any.
#[allow(clippy::too_many_arguments)]
fn try_rrsig(
    sig: &Rrsig<'_>,
    owner: &Name,
    rt: u16,
    class: u16,
    rdatas: &[&[u8]],
    keys: &[Key<'_>],
    now: u64,
    policy: &Policy,
    budget: &mut Budget,
) -> Result<(u32, Option<Name>), Failure> {
    // RFC 4035 §5.3.1: the signer is the zone holding the RRset.
    if !owner.is_subdomain_of(&sig.signer) || sig.labels as usize > owner.label_count() {
        return Err(Failure::Bogus(BogusReason::RrsigMismatch));
    }
    let secs_left = check_validity(sig.inception, sig.expiration, now, policy.clock_skew_secs)?;
    let mut candidates = keys.iter().filter(|k| {
        *k.owner == sig.signer
            && k.key.algorithm == sig.algorithm
            && k.key.protocol == 3
            && k.key.is_zone_key()
            && !k.key.is_revoked()
            && k.key.key_tag() == sig.key_tag
    });
    let Some(firstkey) = candidates.next() else {
        return Err(Failure::DnskeyMissing);
    };
    let sd = signed_data(sig, owner, rt, class, rdatas)?;
    let mut worst = Worst::default();
    for (i, k) in core::iter::once(firstkey).chain(candidates).enumerate() {
        if i as u64 >= budget.keys_per_rrsig as u64 {
            worst.note(Failure::Budget(BudgetKind::KeysPerRrsig));
            break;
        }
        budget.take_verification()?;
        match verify(
            sig.algorithm,
            k.key.public_key,
            &sd.data,
            sig.signature,
            policy,
        ) {
            Ok(()) => return Ok((secs_left, sd.expanded_from)),
            Err(CryptoError::BadSignature) => worst.note(Failure::Bogus(BogusReason::BadSignature)),
            Err(CryptoError::BadKey) => worst.note(Failure::Bogus(BogusReason::BadKey)),
            Err(CryptoError::Unsupported) => {
                worst.note(Failure::UnsupportedAlgorithm(sig.algorithm))
            }
        }
    }
    Err(worst.0.unwrap_or(Failure::DnskeyMissing))
}

/// What a zone's DNSKEY RRset is authenticated against.
#[derive(Clone, Copy, Debug)]
pub enum Trust<'a> {
    /// The DS RRset from the parent (already validated) or DS trust anchors.
    Ds(&'a [Ds<'a>]),
    /// DNSKEY trust anchors: the RRset must hold one of them and be signed by it.
    Keys(&'a [Dnskey<'a>]),
}

/// Authenticates the DNSKEY RRset of `zone` (RFC 4035 §5.2): finds the DNSKEYs the DS
/// records (or anchor keys) point to, then requires the RRset to be signed by one of
/// them. On success the whole RRset is trusted for [`verify_rrset`].
///
/// DS records go through [`select_ds`] first (supported algorithms and digests only,
/// SHA-1 only when nothing stronger is offered); none usable → insecure
/// ([`Failure::UnsupportedAlgorithm`] / [`Failure::UnsupportedDigest`]). No DNSKEY
/// matching a usable DS → [`Failure::DnskeyMissing`] (EDE 9). At most
/// `budget.keys_per_rrsig` DNSKEYs are digested per DS, each taking one of
/// `budget.ds_digests_left`.
pub fn verify_dnskeys(
    zone: &Name,
    dnskeys: &[Record<'_>],
    rrsigs: &[Record<'_>],
    trust: Trust<'_>,
    now: u64,
    policy: &Policy,
    budget: &mut Budget,
) -> Result<Verified, Failure> {
    let rrset: Vec<Record<'_>> = dnskeys
        .iter()
        .filter(|r| r.rtype == rtype::DNSKEY && r.owner == *zone)
        .cloned()
        .collect();
    if rrset.is_empty() {
        return Err(Failure::DnskeyMissing);
    }
    let parsed: Vec<Dnskey<'_>> = rrset.iter().filter_map(|r| r.dnskey().ok()).collect();
    let mut trusted: Vec<Key<'_>> = Vec::new();
    match trust {
        Trust::Ds(ds_set) => {
            if ds_set.is_empty() {
                return Err(Failure::Bogus(BogusReason::DsMismatch));
            }
            let usable = select_ds(ds_set, policy)?;
            for ds in &usable {
                let matching = parsed.iter().filter(|k| {
                    k.key_tag() == ds.key_tag
                        && k.algorithm == ds.algorithm
                        && k.protocol == 3
                        && k.is_zone_key()
                });
                for (i, k) in matching.enumerate() {
                    if i as u64 >= budget.keys_per_rrsig as u64 {
                        break;
                    }
                    budget.take_ds_digest()?;
                    if ds_digest(zone, k.rdata, ds.digest_type).is_some_and(|d| d == ds.digest)
                        && !trusted.iter().any(|t| t.key.rdata == k.rdata)
                    {
                        trusted.push(Key {
                            owner: zone,
                            key: *k,
                        });
                    }
                }
            }
        }
        Trust::Keys(anchors) => {
            if !anchors
                .iter()
                .any(|a| algorithm_supported(a.algorithm, policy))
            {
                return Err(Failure::UnsupportedAlgorithm(
                    anchors.first().map_or(0, |a| a.algorithm),
                ));
            }
            for k in &parsed {
                if anchors.iter().any(|a| a.rdata == k.rdata) {
                    trusted.push(Key {
                        owner: zone,
                        key: *k,
                    });
                }
            }
        }
    }
    if trusted.is_empty() {
        return Err(Failure::DnskeyMissing);
    }
    // The DNSKEY RRset must be signed by a trusted key (they are zone keys of a
    // supported algorithm, so an unsupported-algorithm outcome cannot occur here).
    verify_with(&rrset, rrsigs, &trusted, now, policy, budget)
}

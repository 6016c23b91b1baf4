//! RRset verification (RFC 4035 §5.3) and DNSKEY RRset authentication from DS records or
//! trust-anchor keys (RFC 4035 §5.2), within a [`Budget`].

use alloc::vec::Vec;

use crate::canonical::signed_data;
use crate::crypto::{CryptoError, algorithm_supported, key_usable, verify};
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
/// then bogus, then expired/not yet valid, then DNSKEY missing. When every RRSIG is of
/// an algorithm (or by a key, e.g. RSA below [`Policy::rsa_min_bits`]) we do not
/// verify, the result is [`Failure::UnsupportedAlgorithm`] (insecure) only if the
/// DNSKEY set has no zone key we could use either; otherwise an attacker could strip
/// the usable signatures and leave (or add) one of algorithm 253 to downgrade the
/// answer, so it is [`Failure::RrsigsMissing`].
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
            Err(
                f @ Failure::Budget(BudgetKind::Verifications | BudgetKind::FailedVerifications),
            ) => return Err(f),
            Err(f) => worst.note(f),
        }
    }
    if !any_sig {
        return Err(Failure::RrsigsMissing);
    }
    // Only "unsupported" seen: insecure if the zone has no key we could use at all;
    // otherwise the usable signatures were stripped.
    let zone_has_usable_key = keys.iter().any(|k| {
        k.key.is_zone_key()
            && !k.key.is_revoked()
            && key_usable(k.key.algorithm, k.key.public_key, policy)
    });
    match worst.0 {
        Some(Failure::UnsupportedAlgorithm(_)) if zone_has_usable_key => {
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
            Err(CryptoError::BadSignature) => {
                budget.note_failed_verification();
                worst.note(Failure::Bogus(BogusReason::BadSignature))
            }
            Err(CryptoError::BadKey) => {
                budget.note_failed_verification();
                worst.note(Failure::Bogus(BogusReason::BadKey))
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::tests::attempts;
    use alloc::vec;

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    /// A deterministic byte stream (xorshift), so the test needs no RNG crate.
    fn bytes(seed: &mut u64, n: usize) -> Vec<u8> {
        (0..n)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                (*seed >> 24) as u8
            })
            .collect()
    }

    /// An RSASHA256 DNSKEY with a random 2048-bit modulus whose key tag is `tag`: the
    /// KeyTrap attacker's keys (any odd modulus passes as an RSA public key, so each
    /// costs a real modular exponentiation). One 16-bit word of the modulus is chosen
    /// to hit the tag.
    fn colliding_key(seed: &mut u64, tag: u16) -> Vec<u8> {
        let mut rd = vec![1, 1, 3, 8, 3, 1, 0, 1];
        let mut n = bytes(seed, 256);
        n[0] |= 0x80;
        n[255] |= 1;
        rd.extend_from_slice(&n);
        // rd[100..102] is word-aligned; search its value.
        for w in 0..=u16::MAX {
            rd[100..102].copy_from_slice(&w.to_be_bytes());
            if crate::key_tag(&rd) == tag {
                return rd;
            }
        }
        unreachable!("every tag is reachable by one word")
    }

    fn rrsig(tag: u16, sig: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 1, 8, 3, 0, 0, 0, 60];
        v.extend_from_slice(&2_000_000_000u32.to_be_bytes());
        v.extend_from_slice(&1_000_000_000u32.to_be_bytes());
        v.extend_from_slice(&tag.to_be_bytes());
        v.extend_from_slice(name("example.com").wire());
        v.extend_from_slice(sig);
        v
    }

    struct KeyTrap {
        rrset: Vec<Record<'static>>,
        sigs: Vec<Record<'static>>,
        keys: Vec<Record<'static>>,
    }

    fn keytrap(n_keys: usize, n_sigs: usize) -> KeyTrap {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let tag = 4711;
        let owner = name("www.example.com");
        let keys = (0..n_keys)
            .map(|_| {
                Record::new(
                    name("example.com"),
                    rtype::DNSKEY,
                    1,
                    60,
                    colliding_key(&mut seed, tag),
                )
            })
            .collect();
        let sigs = (0..n_sigs)
            .map(|_| {
                Record::new(
                    owner.clone(),
                    rtype::RRSIG,
                    1,
                    60,
                    rrsig(tag, &bytes(&mut seed, 256)),
                )
            })
            .collect();
        let rrset = vec![Record::new(owner, rtype::A, 1, 60, vec![192, 0, 2, 1])];
        KeyTrap { rrset, sigs, keys }
    }

    /// KeyTrap (CVE-2023-50387): 64 DNSKEYs sharing one key tag, 64 RRSIGs naming it.
    /// Unbounded that is 4096 RSA verifications; the budget stops it at 16, counted
    /// independently of the budget by `crypto::verify` itself.
    #[test]
    fn keytrap_is_bounded_by_the_budget() {
        let t = keytrap(64, 64);
        for k in &t.keys {
            assert_eq!(k.dnskey().unwrap().key_tag(), 4711);
        }
        let policy = Policy::default();
        let mut budget = Budget::PER_RESPONSE;
        let before = attempts();
        let start = std::time::Instant::now();
        let e = verify_rrset(
            &t.rrset,
            &t.sigs,
            &t.keys,
            1_500_000_000,
            &policy,
            &mut budget,
        )
        .unwrap_err();
        let took = start.elapsed();
        let tried = attempts() - before;
        assert_eq!(e, Failure::Budget(BudgetKind::Verifications));
        assert!(
            tried <= Budget::PER_RESPONSE.verifications_left as u64,
            "{tried} verifications"
        );
        assert_eq!(tried, 16);
        assert_eq!(budget.verifications_done(), 16);
        std::eprintln!("KeyTrap 64x64, RSA-2048: {tried} verifications, {took:?}");
    }

    /// The same KeyTrap set with a budget of two failed verifications: the third try is
    /// never made, whatever is left of the verifications, and the failure is bogus.
    #[test]
    fn keytrap_stops_after_the_failed_verifications_allowed() {
        let t = keytrap(64, 64);
        let mut budget = Budget::PER_RESPONSE.with_failed_verifications(2);
        let before = attempts();
        let e = verify_rrset(
            &t.rrset,
            &t.sigs,
            &t.keys,
            1_500_000_000,
            &Policy::default(),
            &mut budget,
        )
        .unwrap_err();
        assert_eq!(e, Failure::Budget(BudgetKind::FailedVerifications));
        assert_eq!(e.ede_code(), 6);
        assert_eq!(attempts() - before, 2);
        assert_eq!(budget.failed_verifications_done(), 2);
        assert_eq!(budget.verifications_done(), 2);
    }

    /// One RRSIG, 64 colliding keys, plenty of verifications: at most `keys_per_rrsig`
    /// keys are tried, and running out of them is its own failure.
    #[test]
    fn colliding_keys_per_rrsig() {
        let t = keytrap(64, 1);
        let mut budget = Budget::new(100, 4, 8, 0, 0);
        let before = attempts();
        let e = verify_rrset(
            &t.rrset,
            &t.sigs,
            &t.keys,
            1_500_000_000,
            &Policy::default(),
            &mut budget,
        )
        .unwrap_err();
        assert_eq!(e, Failure::Budget(BudgetKind::KeysPerRrsig));
        assert_eq!(attempts() - before, 4);
    }

    /// Many RRSIGs that name no key: no verification at all, and only
    /// `rrsigs_per_rrset` of them are looked at.
    #[test]
    fn rrsigs_per_rrset() {
        let mut t = keytrap(1, 40);
        for s in &mut t.sigs {
            s.rdata.to_mut()[16] ^= 0xff; // another key tag
        }
        let before = attempts();
        let e = verify_rrset(
            &t.rrset,
            &t.sigs,
            &t.keys,
            1_500_000_000,
            &Policy::default(),
            &mut Budget::default(),
        )
        .unwrap_err();
        assert_eq!(e, Failure::Budget(BudgetKind::RrsigsPerRrset));
        assert_eq!(attempts() - before, 0);
    }

    /// A DS set against colliding keys: digests are bounded too.
    #[test]
    fn ds_digests_bounded() {
        let t = keytrap(64, 1);
        let ds = [Ds {
            key_tag: 4711,
            algorithm: 8,
            digest_type: 2,
            digest: &[0; 32],
        }; 3];
        let mut budget = Budget::new(16, 64, 8, 0, 10);
        let e = verify_dnskeys(
            &name("example.com"),
            &t.keys,
            &t.sigs,
            Trust::Ds(&ds),
            1_500_000_000,
            &Policy::default(),
            &mut budget,
        )
        .unwrap_err();
        assert_eq!(e, Failure::Budget(BudgetKind::DsDigests));
        assert_eq!(budget.ds_digests_done(), 10);
    }
}

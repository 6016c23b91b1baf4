//! What the validator accepts ([`Policy`]) and how much work one response may cost
//! ([`Budget`]).

use crate::{BudgetKind, Failure};

/// Validation policy: fixed per configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Smallest RSA modulus accepted, in bits; smaller keys are unsupported (insecure,
    /// not bogus). Default 1024: RFC 8624 §3.1 still has RSASHA256 keys of 1024 bits in
    /// use, and validating them beats treating those zones as unsigned.
    pub rsa_min_bits: usize,
    /// Largest RSA modulus accepted, in bits (RFC 3110 allows 4096). Larger keys are
    /// unsupported: they cost more per verification than the budget assumes.
    pub rsa_max_bits: usize,
    /// Seconds of clock error allowed on either side of a signature's validity window.
    pub clock_skew_secs: u32,
    /// Highest NSEC3 iteration count validated; above it a proof is treated as insecure
    /// with EDE 27 (RFC 9276 §3.2). Default 150.
    pub nsec3_max_iterations: u16,
    /// Verify RSASHA1 (5) and RSASHA1-NSEC3-SHA1 (7) signatures. On by default: RFC 8624
    /// §3.1 says validators MUST still support them.
    pub sha1_signatures: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            rsa_min_bits: 1024,
            rsa_max_bits: 4096,
            clock_skew_secs: 300,
            nsec3_max_iterations: 150,
            sha1_signatures: true,
        }
    }
}

/// Work left for one response (or one client query: the caller decides the scope by how
/// long it keeps one `Budget`). Every expensive step takes from it first and fails with
/// [`Failure::Budget`] when it is empty, so no input can cost more than the budget
/// allows: a KeyTrap DNSKEY set (many keys with one key tag) against many RRSIGs costs
/// at most `verifications` public-key operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Signature verifications (public-key operations) left.
    pub verifications_left: u32,
    /// Candidate DNSKEYs (same owner, algorithm and key tag) tried for one RRSIG, and
    /// DNSKEYs digested for one DS.
    pub keys_per_rrsig: u32,
    /// RRSIGs considered for one RRset.
    pub rrsigs_per_rrset: u32,
    /// NSEC3 owner-name hashes left (each costs iterations + 1 SHA-1 runs; the
    /// iteration cap bounds that).
    pub nsec3_hashes_left: u32,
    /// DS digests (one hash of a DNSKEY each) left.
    pub ds_digests_left: u32,
    verifications_done: u32,
    nsec3_hashes_done: u32,
    ds_digests_done: u32,
}

impl Budget {
    /// Limits for one upstream response: a few keys, a couple of algorithms, denial
    /// proofs with their own signatures. Generous for real zones; a KeyTrap response
    /// costs at most 16 verifications.
    pub const PER_RESPONSE: Budget = Budget::new(16, 4, 8, 32, 8);

    /// A budget with the given limits.
    pub const fn new(
        verifications: u32,
        keys_per_rrsig: u32,
        rrsigs_per_rrset: u32,
        nsec3_hashes: u32,
        ds_digests: u32,
    ) -> Budget {
        Budget {
            verifications_left: verifications,
            keys_per_rrsig,
            rrsigs_per_rrset,
            nsec3_hashes_left: nsec3_hashes,
            ds_digests_left: ds_digests,
            verifications_done: 0,
            nsec3_hashes_done: 0,
            ds_digests_done: 0,
        }
    }

    /// Signature verifications done so far.
    pub fn verifications_done(&self) -> u32 {
        self.verifications_done
    }
    /// NSEC3 hashes computed so far.
    pub fn nsec3_hashes_done(&self) -> u32 {
        self.nsec3_hashes_done
    }
    /// DS digests computed so far.
    pub fn ds_digests_done(&self) -> u32 {
        self.ds_digests_done
    }

    pub(crate) fn take_verification(&mut self) -> Result<(), Failure> {
        self.verifications_left = self
            .verifications_left
            .checked_sub(1)
            .ok_or(Failure::Budget(BudgetKind::Verifications))?;
        self.verifications_done = self.verifications_done.saturating_add(1);
        Ok(())
    }
    pub(crate) fn take_nsec3_hash(&mut self) -> Result<(), Failure> {
        self.nsec3_hashes_left = self
            .nsec3_hashes_left
            .checked_sub(1)
            .ok_or(Failure::Budget(BudgetKind::Nsec3Hashes))?;
        self.nsec3_hashes_done = self.nsec3_hashes_done.saturating_add(1);
        Ok(())
    }
    pub(crate) fn take_ds_digest(&mut self) -> Result<(), Failure> {
        self.ds_digests_left = self
            .ds_digests_left
            .checked_sub(1)
            .ok_or(Failure::Budget(BudgetKind::DsDigests))?;
        self.ds_digests_done = self.ds_digests_done.saturating_add(1);
        Ok(())
    }
}

impl Default for Budget {
    fn default() -> Self {
        Budget::PER_RESPONSE
    }
}

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
    /// Verifications that may still fail (a signature that does not verify, a key that
    /// does not parse) before the work stops: an honest response fails none, or one at
    /// a key-tag collision; a KeyTrap response fails every one. Unlimited unless set
    /// with [`Budget::with_failed_verifications`].
    pub failed_verifications_left: u32,
    verifications_done: u32,
    failed_verifications_done: u32,
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
            failed_verifications_left: u32::MAX,
            verifications_done: 0,
            failed_verifications_done: 0,
            nsec3_hashes_done: 0,
            ds_digests_done: 0,
        }
    }

    /// This budget, allowing at most `n` failed verifications.
    #[must_use]
    pub const fn with_failed_verifications(mut self, n: u32) -> Budget {
        self.failed_verifications_left = n;
        self
    }

    /// Verifications that failed so far.
    pub fn failed_verifications_done(&self) -> u32 {
        self.failed_verifications_done
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
        if self.failed_verifications_left == 0 {
            return Err(Failure::Budget(BudgetKind::FailedVerifications));
        }
        self.verifications_left = self
            .verifications_left
            .checked_sub(1)
            .ok_or(Failure::Budget(BudgetKind::Verifications))?;
        self.verifications_done = self.verifications_done.saturating_add(1);
        Ok(())
    }
    /// The verification just taken failed.
    pub(crate) fn note_failed_verification(&mut self) {
        self.failed_verifications_left = self.failed_verifications_left.saturating_sub(1);
        self.failed_verifications_done = self.failed_verifications_done.saturating_add(1);
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

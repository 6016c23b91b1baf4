//! What can go wrong, and the RFC 8914 Extended DNS Error each outcome maps to.

use core::fmt;

/// Why RDATA (or a name in it) could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParseError {
    /// The data ends before the field does.
    Truncated,
    /// Octets follow where the field should end.
    TrailingData,
    /// A name is compressed, too long, or has a bad label.
    BadName,
    /// A type bitmap's windows are out of order or have a bad length.
    BadBitmap,
    /// A field has a value the format forbids (an empty signature, key, digest or hash).
    BadValue,
    /// The record is not of the type the caller expected.
    WrongType,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseError::Truncated => "truncated",
            ParseError::TrailingData => "trailing data",
            ParseError::BadName => "bad name",
            ParseError::BadBitmap => "bad type bitmap",
            ParseError::BadValue => "bad field value",
            ParseError::WrongType => "unexpected record type",
        })
    }
}

/// The detail of a [`Failure::Bogus`]: all map to EDE 6 (DNSSEC Bogus).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BogusReason {
    /// A signature did not verify with the key it names.
    BadSignature,
    /// A DNSKEY's public key is malformed for its algorithm.
    BadKey,
    /// A DNSSEC record's RDATA did not parse.
    Malformed,
    /// The RRSIG does not fit the RRset: labels field larger than the owner's, signer
    /// not an ancestor of the owner, class mismatch, or inception after expiration.
    RrsigMismatch,
    /// The records handed in are not one RRset (mixed owner, type or class) or empty.
    NotAnRrset,
    /// A DS digest matched no DNSKEY, or the matching DNSKEY did not sign its RRset.
    DsMismatch,
    /// A denial-of-existence record shows that the denied data exists.
    DenialContradicted,
    /// A proof used a record from the wrong side of a delegation or below a DNAME.
    WrongZone,
}

/// Which [`Budget`](crate::Budget) ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BudgetKind {
    /// Signature verifications (each costs a public-key operation).
    Verifications,
    /// Candidate DNSKEYs for one RRSIG (key-tag collisions, KeyTrap).
    KeysPerRrsig,
    /// RRSIGs considered for one RRset.
    RrsigsPerRrset,
    /// NSEC3 owner-name hashes.
    Nsec3Hashes,
    /// DS digest computations.
    DsDigests,
    /// Verifications that failed: the signatures tried so far were bad, and trying the
    /// rest (more keys of one tag, more RRSIGs) is what KeyTrap makes expensive.
    FailedVerifications,
}

/// Every way validation can end other than secure. Each variant maps to exactly one
/// RFC 8914 EDE code ([`Failure::ede_code`]); [`Failure::is_insecure`] says whether the
/// caller treats the data as insecure (served without AD, RFC 4035 §5.2) rather than
/// bogus (SERVFAIL).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Failure {
    /// EDE 1: no DNSKEY/RRSIG/DS of an algorithm we implement. Insecure.
    UnsupportedAlgorithm(u8),
    /// EDE 2: no DS of a digest type we implement. Insecure.
    UnsupportedDigest(u8),
    /// EDE 6: the data is provably wrong.
    Bogus(BogusReason),
    /// EDE 7: every usable signature has expired.
    SignatureExpired,
    /// EDE 8: every usable signature is not valid yet.
    SignatureNotYetValid,
    /// EDE 9: no DNSKEY matches the DS set (or the RRSIG's key tag and algorithm).
    DnskeyMissing,
    /// EDE 10: the RRset has no RRSIG we could use.
    RrsigsMissing,
    /// EDE 12: denial of existence without the NSEC/NSEC3 records to prove it.
    NsecMissing,
    /// EDE 27: NSEC3 iterations above the policy's cap (RFC 9276 §3.2). Insecure.
    Nsec3Iterations(u16),
    /// A work budget ran out before an answer was reached. Not proof of anything, but
    /// the caller must stop: answered as SERVFAIL with EDE 0 (Other).
    Budget(BudgetKind),
}

impl Failure {
    /// The RFC 8914 INFO-CODE.
    pub fn ede_code(&self) -> u16 {
        match self {
            Failure::UnsupportedAlgorithm(_) => 1,
            Failure::UnsupportedDigest(_) => 2,
            Failure::Bogus(_) => 6,
            Failure::SignatureExpired => 7,
            Failure::SignatureNotYetValid => 8,
            Failure::DnskeyMissing => 9,
            Failure::RrsigsMissing => 10,
            Failure::NsecMissing => 12,
            Failure::Nsec3Iterations(_) => 27,
            // The signatures tried did not verify: bogus, not merely unfinished.
            Failure::Budget(BudgetKind::FailedVerifications) => 6,
            Failure::Budget(_) => 0,
        }
    }

    /// A short EXTRA-TEXT for the EDE option.
    pub fn extra_text(&self) -> &'static str {
        match self {
            Failure::UnsupportedAlgorithm(_) => "unsupported DNSKEY algorithm",
            Failure::UnsupportedDigest(_) => "unsupported DS digest type",
            Failure::Bogus(r) => match r {
                BogusReason::BadSignature => "signature does not verify",
                BogusReason::BadKey => "malformed DNSKEY",
                BogusReason::Malformed => "malformed DNSSEC record",
                BogusReason::RrsigMismatch => "RRSIG does not match the RRset",
                BogusReason::NotAnRrset => "records are not one RRset",
                BogusReason::DsMismatch => "no DNSKEY matches the DS",
                BogusReason::DenialContradicted => "denial of existence contradicted",
                BogusReason::WrongZone => "proof from the wrong zone",
            },
            Failure::SignatureExpired => "signature expired",
            Failure::SignatureNotYetValid => "signature not yet valid",
            Failure::DnskeyMissing => "no DNSKEY matches",
            Failure::RrsigsMissing => "RRSIGs missing",
            Failure::NsecMissing => "denial of existence not proven",
            Failure::Nsec3Iterations(_) => "NSEC3 iterations above limit",
            Failure::Budget(k) => match k {
                BudgetKind::Verifications => "validation budget: signature verifications",
                BudgetKind::KeysPerRrsig => "validation budget: keys per RRSIG",
                BudgetKind::RrsigsPerRrset => "validation budget: RRSIGs per RRset",
                BudgetKind::Nsec3Hashes => "validation budget: NSEC3 hashes",
                BudgetKind::DsDigests => "validation budget: DS digests",
                BudgetKind::FailedVerifications => {
                    "validation budget: failed signature verifications"
                }
            },
        }
    }

    /// Insecure (serve without AD) rather than bogus (SERVFAIL)? True for an unsupported
    /// algorithm or digest (RFC 4035 §5.2, RFC 6840 §5.2) and for NSEC3 iterations above
    /// the cap (RFC 9276 §3.2).
    pub fn is_insecure(&self) -> bool {
        matches!(
            self,
            Failure::UnsupportedAlgorithm(_)
                | Failure::UnsupportedDigest(_)
                | Failure::Nsec3Iterations(_)
        )
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::UnsupportedAlgorithm(a) => write!(f, "{} ({a})", self.extra_text()),
            Failure::UnsupportedDigest(d) => write!(f, "{} ({d})", self.extra_text()),
            Failure::Nsec3Iterations(i) => write!(f, "{} ({i})", self.extra_text()),
            _ => f.write_str(self.extra_text()),
        }
    }
}

impl From<ParseError> for Failure {
    fn from(_: ParseError) -> Failure {
        Failure::Bogus(BogusReason::Malformed)
    }
}

//! The DNSSEC validator's core does no I/O and reads no clock: pure functions over
//! records, with the wall-clock time and a work [`Budget`] passed in.
//!
//! The engine's `validate` stage calls these functions; everything about fetching
//! (which DS or DNSKEY to ask for next, caching the results, CD/DO/AD handling) stays in
//! the engine. What this crate decides is whether given records prove what they claim.
//!
//! # What goes in
//!
//! [`Record`]s: owner [`Name`], type, class, TTL and uncompressed RDATA.
//! [`Record::from_hickory`] (feature `hickory`, on by default) takes the engine's decoded
//! `hickory_proto::rr::Record`s. hickory-proto 0.26 built without its `dnssec` feature
//! (which needs std and ring/aws-lc) hands RRSIG, DNSKEY, DS, NSEC, NSEC3, NSEC3PARAM,
//! DNAME and every other type it does not know as `RData::Unknown { code, rdata: NULL }`
//! with the wire octets; the adapter borrows those and re-emits the types hickory parsed.
//! The DNSSEC RDATA views ([`Rrsig`], [`Dnskey`], [`Ds`], [`Nsec`], [`Nsec3`],
//! [`Nsec3Param`], [`TypeBitmap`]) parse from octets and borrow from them.
//!
//! Names are this crate's own [`Name`] (wire form, case kept, canonical comparisons),
//! not hickory's: see [`name`] for why.
//!
//! Time is `now: u64`, seconds since the Unix epoch from the caller's wall clock;
//! [`Policy::clock_skew_secs`] allows for clock error.
//!
//! # The chain of trust, as the engine walks it
//!
//! 1. Start from a trust anchor ([`root_anchors`], or [`parse_trust_anchor`] for
//!    `--trust-anchor=` values).
//! 2. For each zone from the anchor down: authenticate its DNSKEY RRset with
//!    [`verify_dnskeys`] against the DS RRset that the parent signed ([`Trust::Ds`]) or
//!    the anchor itself ([`Trust::Ds`] / [`Trust::Keys`]). The DS RRset is an ordinary
//!    RRset of the parent: validate it with [`verify_rrset`] under the parent's keys.
//! 3. Validate each answer RRset with [`verify_rrset`] under the signer zone's
//!    authenticated DNSKEY RRset. A [`Verified`] with `expanded_from` set was
//!    synthesised from a wildcard: prove the query name absent with
//!    [`nsec_wildcard_answer`] / [`nsec3_wildcard_answer`].
//! 4. Negative answers: validate the NSEC/NSEC3 RRsets with [`verify_rrset`], then prove
//!    the denial with [`nsec_nxdomain`] / [`nsec_nodata`] or [`nsec3_nxdomain`] /
//!    [`nsec3_nodata`]. A delegation without DS is proven unsigned by a NODATA proof for
//!    DS at the child name (for NSEC3 possibly [`Denial::OptOut`]), which makes the child
//!    insecure.
//!
//! # What comes out
//!
//! `Ok` values say what was proven ([`Verified`], [`Denial`]). Every failure is a
//! [`Failure`] that maps to one RFC 8914 EDE code ([`Failure::ede_code`], with a short
//! [`Failure::extra_text`]):
//!
//! | failure | EDE | the caller's answer |
//! |---|---|---|
//! | [`Failure::UnsupportedAlgorithm`] | 1 Unsupported DNSKEY Algorithm | insecure |
//! | [`Failure::UnsupportedDigest`] | 2 Unsupported DS Digest Type | insecure |
//! | [`Failure::Bogus`] (with a [`BogusReason`]) | 6 DNSSEC Bogus | SERVFAIL |
//! | [`Failure::SignatureExpired`] | 7 Signature Expired | SERVFAIL |
//! | [`Failure::SignatureNotYetValid`] | 8 Signature Not Yet Valid | SERVFAIL |
//! | [`Failure::DnskeyMissing`] | 9 DNSKEY Missing | SERVFAIL |
//! | [`Failure::RrsigsMissing`] | 10 RRSIGs Missing | SERVFAIL |
//! | [`Failure::NsecMissing`] | 12 NSEC Missing | SERVFAIL |
//! | [`Failure::Nsec3Iterations`] | 27 Unsupported NSEC3 Iterations Value | insecure |
//! | [`Failure::Budget`] | 0 Other Error | SERVFAIL |
//!
//! [`Failure::is_insecure`] tells the two kinds apart. Unknown algorithms and digests are
//! insecure, never bogus (RFC 4035 §5.2), but an RRset whose zone has keys of a
//! supported algorithm and that carries only signatures of unknown algorithms is
//! [`Failure::RrsigsMissing`]: otherwise stripping signatures would downgrade it.
//!
//! # Budgets
//!
//! A [`Budget`] is passed by `&mut` to everything that costs CPU and is decremented as
//! work is done: signature verifications, DNSKEYs tried per RRSIG (key-tag collisions),
//! RRSIGs per RRset, DS digests and NSEC3 hashes. The caller picks the scope (one per
//! upstream response, [`Budget::PER_RESPONSE`]; or one shared by all responses of one
//! client query). Running out is [`Failure::Budget`]: the KeyTrap (CVE-2023-50387) and
//! NSEC3-hash (CVE-2023-50868) inputs cost at most the budget. NSEC3 iterations above
//! [`Policy::nsec3_max_iterations`] (150) are refused before any hashing (RFC 9276).
//!
//! # Algorithms
//!
//! 5 RSASHA1, 7 RSASHA1-NSEC3-SHA1, 8 RSASHA256, 10 RSASHA512 (RSA keys of
//! [`Policy::rsa_min_bits`]..=[`Policy::rsa_max_bits`] bits, exponent 3..2^32, odd),
//! 13 ECDSAP256SHA256, 14 ECDSAP384SHA384, 15 Ed25519; DS digests 1 SHA-1, 2 SHA-256,
//! 4 SHA-384. 16 Ed448 is unsupported: the only pure-Rust no_std implementation
//! (RustCrypto's `ed448-goldilocks`) has been pre-release only (0.14.0-pre) for years.
//!
//! # Safety
//!
//! No input makes a function here panic: parsers return [`ParseError`], arithmetic on
//! input is checked, slices are read with `get`. The fuzz targets under `fuzz/` and
//! the proptests check it.
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(test)]
extern crate std;
#[cfg(test)]
use critical_section as _;

mod anchor;
mod canonical;
mod crypto;
mod ds;
mod encoding;
mod error;
pub mod name;
mod nsec;
mod nsec3;
mod policy;
pub mod rdata;
mod record;
mod time;
mod verify;

pub use anchor::{AnchorError, ROOT_ANCHORS, TrustAnchor, parse_trust_anchor, root_anchors};
pub use canonical::{SignedData, canonical_rdata, signed_data};
pub use crypto::{
    CryptoError, algorithm, algorithm_supported, key_usable, verify as verify_signature,
};
pub use ds::{digest_supported, digest_type, ds_digest, ds_matches, make_ds, select_ds};
pub use encoding::{base32hex_decode, base32hex_encode, base64_decode, hex_decode};
pub use error::{BogusReason, BudgetKind, Failure, ParseError};
pub use name::Name;
pub use nsec::{Denial, nsec_covers, nsec_nodata, nsec_nxdomain, nsec_wildcard_answer};
pub use nsec3::{
    nsec3_hash, nsec3_nodata, nsec3_nodata_proof, nsec3_nxdomain, nsec3_nxdomain_proof,
    nsec3_wildcard_answer,
};
pub use policy::{Budget, Policy};
pub use rdata::{Dnskey, Ds, Nsec, Nsec3, Nsec3Param, Rrsig, TypeBitmap, key_tag};
pub use record::Record;
pub use time::{check_validity, serial_lt};
pub use verify::{Trust, Verified, verify_dnskeys, verify_rrset};

//! DS digests (RFC 4034 §5.1.4, RFC 4509, RFC 6605 §2) and which DS records to trust.

use alloc::vec::Vec;

use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384};

use crate::name::Name;
use crate::rdata::{Dnskey, Ds};
use crate::{Failure, Policy, algorithm_supported};

/// DS digest type numbers.
pub mod digest_type {
    /// SHA-1 (RFC 4034).
    pub const SHA1: u8 = 1;
    /// SHA-256 (RFC 4509).
    pub const SHA256: u8 = 2;
    /// GOST R 34.11-94 (RFC 5933): not supported (RFC 8624 says MUST NOT).
    pub const GOST: u8 = 3;
    /// SHA-384 (RFC 6605).
    pub const SHA384: u8 = 4;
}

/// Do we compute DS digests of this type?
pub fn digest_supported(t: u8) -> bool {
    matches!(
        t,
        digest_type::SHA1 | digest_type::SHA256 | digest_type::SHA384
    )
}

/// The DS digest of a DNSKEY: `hash(owner in canonical form | DNSKEY RDATA)`; `None`
/// for a digest type we do not implement.
pub fn ds_digest(owner: &Name, dnskey_rdata: &[u8], digest: u8) -> Option<Vec<u8>> {
    let mut buf = Vec::with_capacity(owner.wire().len() + dnskey_rdata.len());
    owner.write_lowercase(&mut buf);
    buf.extend_from_slice(dnskey_rdata);
    Some(match digest {
        digest_type::SHA1 => Sha1::digest(&buf).to_vec(),
        digest_type::SHA256 => Sha256::digest(&buf).to_vec(),
        digest_type::SHA384 => Sha384::digest(&buf).to_vec(),
        _ => return None,
    })
}

/// The DS RDATA for a DNSKEY (what a parent would publish).
pub fn make_ds(owner: &Name, key: &Dnskey<'_>, digest: u8) -> Option<Vec<u8>> {
    let d = ds_digest(owner, key.rdata, digest)?;
    Some(
        Ds {
            key_tag: key.key_tag(),
            algorithm: key.algorithm,
            digest_type: digest,
            digest: &d,
        }
        .to_rdata(),
    )
}

/// Does `ds` refer to `key` (owned by `owner`)? Compares key tag and algorithm first,
/// then the digest; a digest type we do not implement never matches.
pub fn ds_matches(ds: &Ds<'_>, owner: &Name, key: &Dnskey<'_>) -> bool {
    ds.key_tag == key.key_tag()
        && ds.algorithm == key.algorithm
        && ds_digest(owner, key.rdata, ds.digest_type).is_some_and(|d| d == ds.digest)
}

/// The DS records worth checking: supported algorithm and digest type, and SHA-1 only
/// when nothing stronger is offered (RFC 4509 §3; RFC 6605 §2 puts SHA-384 beside
/// SHA-256). When none is usable the delegation is insecure (RFC 4035 §5.2, RFC 6840
/// §5.2): [`Failure::UnsupportedDigest`] if some DS has a supported algorithm but an
/// unsupported digest, else [`Failure::UnsupportedAlgorithm`].
pub fn select_ds<'a>(ds_set: &[Ds<'a>], policy: &Policy) -> Result<Vec<Ds<'a>>, Failure> {
    let usable: Vec<Ds<'a>> = ds_set
        .iter()
        .filter(|d| algorithm_supported(d.algorithm, policy) && digest_supported(d.digest_type))
        .copied()
        .collect();
    if usable.is_empty() {
        if let Some(d) = ds_set
            .iter()
            .find(|d| algorithm_supported(d.algorithm, policy))
        {
            return Err(Failure::UnsupportedDigest(d.digest_type));
        }
        return Err(Failure::UnsupportedAlgorithm(
            ds_set.first().map_or(0, |d| d.algorithm),
        ));
    }
    let strong = usable.iter().any(|d| d.digest_type != digest_type::SHA1);
    Ok(usable
        .into_iter()
        .filter(|d| !strong || d.digest_type != digest_type::SHA1)
        .collect())
}

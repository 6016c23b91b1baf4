//! Signature verification per DNSSEC algorithm, over RustCrypto.

use rsa::{BigUint, Pkcs1v15Sign, RsaPublicKey};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

use crate::Policy;

/// DNSSEC algorithm numbers (IANA "DNS Security Algorithm Numbers").
pub mod algorithm {
    /// RSA/SHA-1.
    pub const RSASHA1: u8 = 5;
    /// RSA/SHA-1, NSEC3 zones.
    pub const RSASHA1_NSEC3_SHA1: u8 = 7;
    /// RSA/SHA-256 (RFC 5702).
    pub const RSASHA256: u8 = 8;
    /// RSA/SHA-512 (RFC 5702).
    pub const RSASHA512: u8 = 10;
    /// ECDSA P-256 with SHA-256 (RFC 6605).
    pub const ECDSAP256SHA256: u8 = 13;
    /// ECDSA P-384 with SHA-384 (RFC 6605).
    pub const ECDSAP384SHA384: u8 = 14;
    /// Ed25519 (RFC 8080).
    pub const ED25519: u8 = 15;
    /// Ed448 (RFC 8080): not supported (no stable no_std crate; see the crate docs).
    pub const ED448: u8 = 16;
}

/// Can this crate verify signatures of `alg` under `policy`?
pub fn algorithm_supported(alg: u8, policy: &Policy) -> bool {
    use algorithm::*;
    match alg {
        RSASHA1 | RSASHA1_NSEC3_SHA1 => policy.sha1_signatures,
        RSASHA256 | RSASHA512 | ECDSAP256SHA256 | ECDSAP384SHA384 | ED25519 => true,
        _ => false,
    }
}

/// Would `verify` accept this DNSKEY public key at all (supported algorithm, right
/// length, RSA size and exponent within policy)? Cheap: no curve or bignum arithmetic.
pub fn key_usable(alg: u8, key: &[u8], policy: &Policy) -> bool {
    use algorithm::*;
    if !algorithm_supported(alg, policy) {
        return false;
    }
    match alg {
        RSASHA1 | RSASHA1_NSEC3_SHA1 | RSASHA256 | RSASHA512 => rsa_parts(key, policy).is_ok(),
        ECDSAP256SHA256 => key.len() == 64,
        ECDSAP384SHA384 => key.len() == 96,
        ED25519 => key.len() == 32,
        _ => false,
    }
}

/// Why a signature was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CryptoError {
    /// Algorithm, or this key's size or exponent, is outside what we verify.
    Unsupported,
    /// The public key is malformed for its algorithm.
    BadKey,
    /// The signature does not verify (or is malformed).
    BadSignature,
}

/// Verifies `sig` over `data` with the DNSKEY public key `key` of algorithm `alg`.
pub fn verify(
    alg: u8,
    key: &[u8],
    data: &[u8],
    sig: &[u8],
    policy: &Policy,
) -> Result<(), CryptoError> {
    use algorithm::*;
    #[cfg(test)]
    tests::count_attempt();
    if !algorithm_supported(alg, policy) {
        return Err(CryptoError::Unsupported);
    }
    match alg {
        RSASHA1 | RSASHA1_NSEC3_SHA1 => {
            let k = rsa_key(key, policy)?;
            let h = Sha1::digest(data);
            rsa_verify(&k, Pkcs1v15Sign::new::<Sha1>(), &h, sig)
        }
        RSASHA256 => {
            let k = rsa_key(key, policy)?;
            let h = Sha256::digest(data);
            rsa_verify(&k, Pkcs1v15Sign::new::<Sha256>(), &h, sig)
        }
        RSASHA512 => {
            let k = rsa_key(key, policy)?;
            let h = Sha512::digest(data);
            rsa_verify(&k, Pkcs1v15Sign::new::<Sha512>(), &h, sig)
        }
        ECDSAP256SHA256 => {
            use p256::ecdsa::signature::Verifier;
            let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&uncompressed_point::<65>(key)?)
                .map_err(|_| CryptoError::BadKey)?;
            let s =
                p256::ecdsa::Signature::from_slice(sig).map_err(|_| CryptoError::BadSignature)?;
            vk.verify(data, &s).map_err(|_| CryptoError::BadSignature)
        }
        ECDSAP384SHA384 => {
            use p384::ecdsa::signature::Verifier;
            let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(&uncompressed_point::<97>(key)?)
                .map_err(|_| CryptoError::BadKey)?;
            let s =
                p384::ecdsa::Signature::from_slice(sig).map_err(|_| CryptoError::BadSignature)?;
            vk.verify(data, &s).map_err(|_| CryptoError::BadSignature)
        }
        ED25519 => {
            let k: [u8; 32] = key.try_into().map_err(|_| CryptoError::BadKey)?;
            let vk =
                ed25519_dalek::VerifyingKey::from_bytes(&k).map_err(|_| CryptoError::BadKey)?;
            let s: [u8; 64] = sig.try_into().map_err(|_| CryptoError::BadSignature)?;
            let s = ed25519_dalek::Signature::from_bytes(&s);
            // Strict: refuses small-order keys and non-canonical encodings, which no
            // honest signer produces (RFC 8032 §5.1.7 allows either).
            vk.verify_strict(data, &s)
                .map_err(|_| CryptoError::BadSignature)
        }
        _ => Err(CryptoError::Unsupported),
    }
}

/// `0x04 | x | y` from the DNSKEY's `x | y` (RFC 6605 §4).
fn uncompressed_point<const N: usize>(key: &[u8]) -> Result<[u8; N], CryptoError> {
    let mut p = [0u8; N];
    let (tag, xy) = p.split_first_mut().ok_or(CryptoError::BadKey)?;
    if key.len() != xy.len() {
        return Err(CryptoError::BadKey);
    }
    *tag = 4;
    xy.copy_from_slice(key);
    Ok(p)
}

/// An RSA public key from its DNSKEY form (RFC 3110 §2): exponent length (one octet, or
/// zero and two octets), exponent, modulus.
fn rsa_key(key: &[u8], policy: &Policy) -> Result<RsaPublicKey, CryptoError> {
    let (e, n, bits) = rsa_parts(key, policy)?;
    RsaPublicKey::new_with_max_size(
        BigUint::from_bytes_be(n),
        BigUint::from(e),
        policy.rsa_max_bits.max(bits),
    )
    .map_err(|_| CryptoError::BadKey)
}

/// Exponent, modulus octets and modulus bits, checked against the policy.
fn rsa_parts<'k>(key: &'k [u8], policy: &Policy) -> Result<(u32, &'k [u8], usize), CryptoError> {
    let (&first, rest) = key.split_first().ok_or(CryptoError::BadKey)?;
    let (elen, rest) = if first == 0 {
        let (len, rest) = rest.split_at_checked(2).ok_or(CryptoError::BadKey)?;
        let len: [u8; 2] = len.try_into().map_err(|_| CryptoError::BadKey)?;
        (u16::from_be_bytes(len) as usize, rest)
    } else {
        (first as usize, rest)
    };
    let (e, n) = rest.split_at_checked(elen).ok_or(CryptoError::BadKey)?;
    let e = strip_zeros(e);
    let n = strip_zeros(n);
    if e.is_empty() || n.is_empty() {
        return Err(CryptoError::BadKey);
    }
    // Exponent sanity: odd, at least 3, at most 32 bits. Larger exponents are legal but
    // make verification cost like signing; nobody uses them.
    if e.len() > 4 {
        return Err(CryptoError::Unsupported);
    }
    let mut ev: u32 = 0;
    for &b in e {
        ev = (ev << 8) | b as u32;
    }
    if ev < 3 || ev & 1 == 0 || n.last().is_some_and(|b| b & 1 == 0) {
        return Err(CryptoError::BadKey);
    }
    let bits = n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
    if bits < policy.rsa_min_bits || bits > policy.rsa_max_bits {
        return Err(CryptoError::Unsupported);
    }
    Ok((ev, n, bits))
}

fn rsa_verify(
    k: &RsaPublicKey,
    scheme: Pkcs1v15Sign,
    hashed: &[u8],
    sig: &[u8],
) -> Result<(), CryptoError> {
    k.verify(scheme, hashed, sig)
        .map_err(|_| CryptoError::BadSignature)
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let z = b.iter().take_while(|&&x| x == 0).count();
    b.get(z..).unwrap_or(&[])
}

#[cfg(test)]
pub(crate) mod tests {
    use core::cell::Cell;
    std::thread_local! {
        static ATTEMPTS: Cell<u64> = const { Cell::new(0) };
    }
    /// Counts calls of `verify` on this thread, independently of the budget, so the
    /// KeyTrap test can check the budget really bounds the work.
    pub(crate) fn count_attempt() {
        ATTEMPTS.with(|a| a.set(a.get() + 1));
    }
    pub(crate) fn attempts() -> u64 {
        ATTEMPTS.with(|a| a.get())
    }
}

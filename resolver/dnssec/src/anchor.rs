//! Trust anchors: the root's built in, and the boot-argument forms for others.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::encoding::{base64_decode, hex_decode};
use crate::name::Name;
use crate::rdata::{Dnskey, Ds};

/// A trust anchor: a DS or a DNSKEY for a zone, owning its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrustAnchor {
    /// `ZONE:DS:KEYTAG:ALGORITHM:DIGESTTYPE:HEXDIGEST`.
    Ds {
        /// The zone the DNSKEY belongs to.
        zone: Name,
        /// DS RDATA.
        rdata: Vec<u8>,
    },
    /// `ZONE:DNSKEY:FLAGS:PROTOCOL:ALGORITHM:BASE64KEY`.
    Dnskey {
        /// The zone.
        zone: Name,
        /// DNSKEY RDATA.
        rdata: Vec<u8>,
    },
}

impl TrustAnchor {
    /// The zone it anchors.
    pub fn zone(&self) -> &Name {
        match self {
            TrustAnchor::Ds { zone, .. } | TrustAnchor::Dnskey { zone, .. } => zone,
        }
    }
    /// The DS view, if this is a DS anchor.
    pub fn ds(&self) -> Option<Ds<'_>> {
        match self {
            TrustAnchor::Ds { rdata, .. } => Ds::parse(rdata).ok(),
            TrustAnchor::Dnskey { .. } => None,
        }
    }
    /// The DNSKEY view, if this is a DNSKEY anchor.
    pub fn dnskey(&self) -> Option<Dnskey<'_>> {
        match self {
            TrustAnchor::Dnskey { rdata, .. } => Dnskey::parse(rdata).ok(),
            TrustAnchor::Ds { .. } => None,
        }
    }
}

/// The root zone's KSK-2017 (key tag 20326) and KSK-2024 (key tag 38696), both
/// RSASHA256, as DS records with SHA-256 digests, as IANA publishes them in
/// root-anchors.xml. A test derives both digests from the published public keys.
pub const ROOT_ANCHORS: [(u16, u8, u8, [u8; 32]); 2] = [
    (
        20326,
        8,
        2,
        [
            0xE0, 0x6D, 0x44, 0xB8, 0x0B, 0x8F, 0x1D, 0x39, 0xA9, 0x5C, 0x0B, 0x0D, 0x7C, 0x65,
            0xD0, 0x84, 0x58, 0xE8, 0x80, 0x40, 0x9B, 0xBC, 0x68, 0x34, 0x57, 0x10, 0x42, 0x37,
            0xC7, 0xF8, 0xEC, 0x8D,
        ],
    ),
    (
        38696,
        8,
        2,
        [
            0x68, 0x3D, 0x2D, 0x0A, 0xCB, 0x8C, 0x9B, 0x71, 0x2A, 0x19, 0x48, 0xB2, 0x7F, 0x74,
            0x12, 0x19, 0x29, 0x8D, 0x0A, 0x45, 0x0D, 0x61, 0x2C, 0x48, 0x3A, 0xF4, 0x44, 0xA4,
            0xC0, 0xFB, 0x2B, 0x16,
        ],
    ),
];

/// The built-in root trust anchors as [`TrustAnchor`]s.
pub fn root_anchors() -> Vec<TrustAnchor> {
    ROOT_ANCHORS
        .iter()
        .map(|(tag, alg, dt, digest)| TrustAnchor::Ds {
            zone: Name::root(),
            rdata: Ds {
                key_tag: *tag,
                algorithm: *alg,
                digest_type: *dt,
                digest,
            }
            .to_rdata(),
        })
        .collect()
}

/// Why a `--trust-anchor` value was refused; `Display` is one line naming the part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnchorError {
    /// The whole value given.
    pub input: String,
    /// What was wrong.
    pub reason: String,
}

impl fmt::Display for AnchorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "trust anchor {:?}: {}", self.input, self.reason)
    }
}

/// Parses `ZONE:DS:KEYTAG:ALGORITHM:DIGESTTYPE:HEXDIGEST` or
/// `ZONE:DNSKEY:FLAGS:PROTOCOL:ALGORITHM:BASE64KEY` (colons because a boot argument
/// cannot hold spaces; `.` is the root). The digest length must fit its type when the
/// type is one we know (20, 32, 48 octets); the protocol must be 3.
pub fn parse_trust_anchor(s: &str) -> Result<TrustAnchor, AnchorError> {
    let err = |reason: String| AnchorError {
        input: String::from(s),
        reason,
    };
    let parts: Vec<&str> = s.split(':').collect();
    let [zone, kind, a, b, c, data] = parts.as_slice() else {
        return Err(err(alloc::format!(
            "expected ZONE:DS:KEYTAG:ALGORITHM:DIGESTTYPE:HEXDIGEST or ZONE:DNSKEY:FLAGS:PROTOCOL:ALGORITHM:BASE64KEY, got {} field(s)",
            parts.len()
        )));
    };
    let zone = Name::from_ascii(zone)
        .map_err(|_| err(alloc::format!("zone {zone:?} is not a domain name")))?;
    let num = |what: &str, v: &str, max: u32| -> Result<u32, AnchorError> {
        match v.parse::<u32>() {
            Ok(n) if n <= max && !v.starts_with('+') => Ok(n),
            _ => Err(err(alloc::format!(
                "{what} {v:?} is not a number 0..={max}"
            ))),
        }
    };
    if kind.eq_ignore_ascii_case("DS") {
        let key_tag = num("key tag", a, 65535)? as u16;
        let algorithm = num("algorithm", b, 255)? as u8;
        let digest_type = num("digest type", c, 255)? as u8;
        let digest = hex_decode(data.as_bytes())
            .filter(|d| !d.is_empty())
            .ok_or_else(|| err(alloc::format!("digest {data:?} is not hex")))?;
        let want = match digest_type {
            1 => Some(20),
            2 => Some(32),
            4 => Some(48),
            _ => None,
        };
        if let Some(w) = want.filter(|&w| w != digest.len()) {
            return Err(err(alloc::format!(
                "digest is {} octets, digest type {digest_type} needs {w}",
                digest.len()
            )));
        }
        let rdata = Ds {
            key_tag,
            algorithm,
            digest_type,
            digest: &digest,
        }
        .to_rdata();
        Ok(TrustAnchor::Ds { zone, rdata })
    } else if kind.eq_ignore_ascii_case("DNSKEY") {
        let flags = num("flags", a, 65535)? as u16;
        let protocol = num("protocol", b, 255)? as u8;
        if protocol != 3 {
            return Err(err(alloc::format!("protocol {protocol} is not 3")));
        }
        let algorithm = num("algorithm", c, 255)? as u8;
        let key = base64_decode(data.as_bytes())
            .filter(|k| !k.is_empty())
            .ok_or_else(|| err(alloc::format!("key {data:?} is not base64")))?;
        let mut rdata = Vec::with_capacity(4 + key.len());
        rdata.extend_from_slice(&flags.to_be_bytes());
        rdata.push(protocol);
        rdata.push(algorithm);
        rdata.extend_from_slice(&key);
        Ok(TrustAnchor::Dnskey { zone, rdata })
    } else {
        Err(err(alloc::format!(
            "record type {kind:?} is neither DS nor DNSKEY"
        )))
    }
}

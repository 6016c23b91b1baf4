//! Views over the RDATA of the DNSSEC record types (RFC 4034, RFC 5155).
//!
//! Each `parse` takes the RDATA octets exactly (no RDLENGTH) and either returns a view
//! that borrows from them or a [`ParseError`]; no input makes one panic (the fuzz target
//! `rdata` and the proptests check it). Names inside are read uncompressed, as these
//! types require.

use alloc::vec::Vec;

use crate::ParseError;
use crate::name::Name;

/// Record type numbers this crate needs by name.
pub mod rtype {
    #![allow(missing_docs)]
    pub const A: u16 = 1;
    pub const NS: u16 = 2;
    pub const MD: u16 = 3;
    pub const MF: u16 = 4;
    pub const CNAME: u16 = 5;
    pub const SOA: u16 = 6;
    pub const MB: u16 = 7;
    pub const MG: u16 = 8;
    pub const MR: u16 = 9;
    pub const PTR: u16 = 12;
    pub const HINFO: u16 = 13;
    pub const MINFO: u16 = 14;
    pub const MX: u16 = 15;
    pub const TXT: u16 = 16;
    pub const RP: u16 = 17;
    pub const AFSDB: u16 = 18;
    pub const RT: u16 = 21;
    pub const SIG: u16 = 24;
    pub const PX: u16 = 26;
    pub const AAAA: u16 = 28;
    pub const NXT: u16 = 30;
    pub const SRV: u16 = 33;
    pub const NAPTR: u16 = 35;
    pub const KX: u16 = 36;
    pub const A6: u16 = 38;
    pub const DNAME: u16 = 39;
    pub const DS: u16 = 43;
    pub const RRSIG: u16 = 46;
    pub const NSEC: u16 = 47;
    pub const DNSKEY: u16 = 48;
    pub const NSEC3: u16 = 50;
    pub const NSEC3PARAM: u16 = 51;
    pub const CDS: u16 = 59;
    pub const CDNSKEY: u16 = 60;
}

/// The class every record here is expected to have.
pub const CLASS_IN: u16 = 1;

/// A bounds-checked cursor over RDATA.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    pub(crate) fn u8(&mut self) -> Result<u8, ParseError> {
        let v = *self.buf.get(self.pos).ok_or(ParseError::Truncated)?;
        self.pos += 1;
        Ok(v)
    }
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], ParseError> {
        self.bytes(N)?.try_into().map_err(|_| ParseError::Truncated)
    }
    pub(crate) fn u16(&mut self) -> Result<u16, ParseError> {
        Ok(u16::from_be_bytes(self.array()?))
    }
    pub(crate) fn u32(&mut self) -> Result<u32, ParseError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], ParseError> {
        let end = self.pos.checked_add(n).ok_or(ParseError::Truncated)?;
        let b = self.buf.get(self.pos..end).ok_or(ParseError::Truncated)?;
        self.pos = end;
        Ok(b)
    }
    pub(crate) fn name(&mut self) -> Result<Name, ParseError> {
        let rest = self.buf.get(self.pos..).ok_or(ParseError::Truncated)?;
        let (n, used) = Name::from_wire(rest)?;
        self.pos += used;
        Ok(n)
    }
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let r = self.buf.get(self.pos..).unwrap_or(&[]);
        self.pos = self.buf.len();
        r
    }
    pub(crate) fn position(&self) -> usize {
        self.pos
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }
}

/// RRSIG RDATA (RFC 4034 §3.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rrsig<'a> {
    /// The type of the RRset this signature covers.
    pub type_covered: u16,
    /// DNSSEC algorithm number.
    pub algorithm: u8,
    /// Labels of the original owner name, root and a leading `*` not counted.
    pub labels: u8,
    /// TTL of the RRset as the zone holds it.
    pub original_ttl: u32,
    /// Signature expiration, seconds since the epoch modulo 2^32.
    pub expiration: u32,
    /// Signature inception, seconds since the epoch modulo 2^32.
    pub inception: u32,
    /// Key tag of the signing DNSKEY.
    pub key_tag: u16,
    /// The zone that signed (owner of the DNSKEY), case as received.
    pub signer: Name,
    /// The signature octets.
    pub signature: &'a [u8],
}

impl<'a> Rrsig<'a> {
    /// Parses RRSIG RDATA.
    pub fn parse(rdata: &'a [u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(rdata);
        let type_covered = r.u16()?;
        let algorithm = r.u8()?;
        let labels = r.u8()?;
        let original_ttl = r.u32()?;
        let expiration = r.u32()?;
        let inception = r.u32()?;
        let key_tag = r.u16()?;
        let signer = r.name()?;
        let signature = r.rest();
        if signature.is_empty() {
            return Err(ParseError::BadValue);
        }
        Ok(Rrsig {
            type_covered,
            algorithm,
            labels,
            original_ttl,
            expiration,
            inception,
            key_tag,
            signer,
            signature,
        })
    }

    /// Appends the RRSIG RDATA without the signature, signer name lowercased: the
    /// first part of the signed data (RFC 4034 §3.1.8.1, RFC 6840 §5.1).
    pub fn write_signed_prefix(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.type_covered.to_be_bytes());
        out.push(self.algorithm);
        out.push(self.labels);
        out.extend_from_slice(&self.original_ttl.to_be_bytes());
        out.extend_from_slice(&self.expiration.to_be_bytes());
        out.extend_from_slice(&self.inception.to_be_bytes());
        out.extend_from_slice(&self.key_tag.to_be_bytes());
        self.signer.write_lowercase(out);
    }
}

/// DNSKEY RDATA (RFC 4034 §2.1); the same layout serves CDNSKEY.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dnskey<'a> {
    /// Flags: bit 7 (0x0100) zone key, bit 15 (0x0001) SEP, bit 8 (0x0080) REVOKE.
    pub flags: u16,
    /// Must be 3.
    pub protocol: u8,
    /// DNSSEC algorithm number.
    pub algorithm: u8,
    /// The key in the algorithm's DNSKEY format.
    pub public_key: &'a [u8],
    /// The whole RDATA (for the key tag and DS digests).
    pub rdata: &'a [u8],
}

/// DNSKEY flag: the key is a zone key (RFC 4034 §2.1.1).
pub const FLAG_ZONE: u16 = 0x0100;
/// DNSKEY flag: secure entry point.
pub const FLAG_SEP: u16 = 0x0001;
/// DNSKEY flag: revoked (RFC 5011 §3).
pub const FLAG_REVOKE: u16 = 0x0080;

impl<'a> Dnskey<'a> {
    /// Parses DNSKEY RDATA.
    pub fn parse(rdata: &'a [u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(rdata);
        let flags = r.u16()?;
        let protocol = r.u8()?;
        let algorithm = r.u8()?;
        let public_key = r.rest();
        if public_key.is_empty() {
            return Err(ParseError::BadValue);
        }
        Ok(Dnskey {
            flags,
            protocol,
            algorithm,
            public_key,
            rdata,
        })
    }

    /// Zone key flag set?
    pub fn is_zone_key(&self) -> bool {
        self.flags & FLAG_ZONE != 0
    }
    /// SEP flag set?
    pub fn is_sep(&self) -> bool {
        self.flags & FLAG_SEP != 0
    }
    /// REVOKE flag set?
    pub fn is_revoked(&self) -> bool {
        self.flags & FLAG_REVOKE != 0
    }

    /// The key tag (RFC 4034 Appendix B).
    pub fn key_tag(&self) -> u16 {
        key_tag(self.rdata)
    }
}

/// The key tag of DNSKEY RDATA (RFC 4034 Appendix B): a ones'-complement-style sum of
/// the RDATA as 16-bit words; for algorithm 1 (RSA/MD5) the middle of the modulus' last
/// three octets instead (Appendix B.1).
pub fn key_tag(rdata: &[u8]) -> u16 {
    if rdata.get(3) == Some(&1) {
        let n = rdata.len();
        return match (rdata.get(n.wrapping_sub(3)), rdata.get(n.wrapping_sub(2))) {
            (Some(&hi), Some(&lo)) if n >= 7 => u16::from_be_bytes([hi, lo]),
            _ => 0,
        };
    }
    let mut ac: u32 = 0;
    for (i, &b) in rdata.iter().enumerate() {
        ac = ac.wrapping_add(if i & 1 == 1 {
            b as u32
        } else {
            (b as u32) << 8
        });
    }
    ac = ac.wrapping_add((ac >> 16) & 0xFFFF);
    (ac & 0xFFFF) as u16
}

/// DS RDATA (RFC 4034 §5.1); the same layout serves CDS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ds<'a> {
    /// Key tag of the DNSKEY it refers to.
    pub key_tag: u16,
    /// Algorithm of that DNSKEY.
    pub algorithm: u8,
    /// Digest type (1 SHA-1, 2 SHA-256, 4 SHA-384).
    pub digest_type: u8,
    /// The digest.
    pub digest: &'a [u8],
}

impl<'a> Ds<'a> {
    /// Parses DS RDATA.
    pub fn parse(rdata: &'a [u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(rdata);
        let key_tag = r.u16()?;
        let algorithm = r.u8()?;
        let digest_type = r.u8()?;
        let digest = r.rest();
        if digest.is_empty() {
            return Err(ParseError::BadValue);
        }
        Ok(Ds {
            key_tag,
            algorithm,
            digest_type,
            digest,
        })
    }

    /// The RDATA of this DS.
    pub fn to_rdata(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(4 + self.digest.len());
        v.extend_from_slice(&self.key_tag.to_be_bytes());
        v.push(self.algorithm);
        v.push(self.digest_type);
        v.extend_from_slice(self.digest);
        v
    }
}

/// A type bitmap (RFC 4034 §4.1.2), checked: windows in increasing order, each 1 to 32
/// octets long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TypeBitmap<'a>(&'a [u8]);

impl<'a> TypeBitmap<'a> {
    /// Checks and wraps the bitmap octets (the rest of an NSEC or NSEC3 RDATA). An empty
    /// bitmap is allowed: NSEC3 for an empty non-terminal has no types.
    pub fn parse(b: &'a [u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(b);
        let mut last: Option<u8> = None;
        while !r.is_empty() {
            let window = r.u8()?;
            let len = r.u8()?;
            if len == 0 || len > 32 || last.is_some_and(|l| window <= l) {
                return Err(ParseError::BadBitmap);
            }
            r.bytes(len as usize)?;
            last = Some(window);
        }
        Ok(TypeBitmap(b))
    }

    /// The octets.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// Is `rtype` in the bitmap?
    pub fn contains(&self, rtype: u16) -> bool {
        let [window, low] = rtype.to_be_bytes();
        let mut r = Reader::new(self.0);
        while let (Ok(w), Ok(len)) = (r.u8(), r.u8()) {
            let Ok(bits) = r.bytes(len as usize) else {
                return false;
            };
            if w == window {
                return bits
                    .get(low as usize / 8)
                    .is_some_and(|b| b & (0x80 >> (low % 8)) != 0);
            }
        }
        false
    }

    /// The types, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = u16> + 'a {
        let mut out = Vec::new();
        let mut r = Reader::new(self.0);
        while let (Ok(w), Ok(len)) = (r.u8(), r.u8()) {
            let Ok(bits) = r.bytes(len as usize) else {
                break;
            };
            for (i, &byte) in bits.iter().enumerate() {
                for bit in 0..8u16 {
                    if byte & (0x80 >> bit) != 0 {
                        out.push(((w as u16) << 8) | (i as u16 * 8 + bit));
                    }
                }
            }
        }
        out.into_iter()
    }

    /// Builds a bitmap holding `types` (any order, duplicates allowed).
    pub fn build(types: &[u16]) -> Vec<u8> {
        let mut sorted: Vec<u16> = types.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let mut out = Vec::new();
        let mut i = 0;
        while let Some(&t) = sorted.get(i) {
            let window = (t >> 8) as u8;
            let mut bits = [0u8; 32];
            let mut max = 0usize;
            while let Some(&t) = sorted.get(i) {
                if (t >> 8) as u8 != window {
                    break;
                }
                let low = (t & 0xFF) as usize;
                bits[low / 8] |= 0x80 >> (low % 8);
                max = max.max(low / 8 + 1);
                i += 1;
            }
            out.push(window);
            out.push(max as u8);
            out.extend_from_slice(&bits[..max]);
        }
        out
    }
}

/// NSEC RDATA (RFC 4034 §4.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nsec<'a> {
    /// The next owner name in canonical order, case as signed (RFC 6840 §5.1).
    pub next: Name,
    /// Types present at the owner name.
    pub types: TypeBitmap<'a>,
}

impl<'a> Nsec<'a> {
    /// Parses NSEC RDATA.
    pub fn parse(rdata: &'a [u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(rdata);
        let next = r.name()?;
        let types = TypeBitmap::parse(r.rest())?;
        Ok(Nsec { next, types })
    }
}

/// NSEC3 flag: opt-out (RFC 5155 §3.1.2.1).
pub const NSEC3_FLAG_OPT_OUT: u8 = 0x01;
/// The one NSEC3 hash algorithm defined: SHA-1.
pub const NSEC3_HASH_SHA1: u8 = 1;

/// NSEC3 RDATA (RFC 5155 §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nsec3<'a> {
    /// Hash algorithm (1 = SHA-1).
    pub hash_algorithm: u8,
    /// Flags (bit 0 opt-out).
    pub flags: u8,
    /// Additional hash iterations.
    pub iterations: u16,
    /// Salt.
    pub salt: &'a [u8],
    /// Next hashed owner name, raw hash octets.
    pub next_hashed: &'a [u8],
    /// Types present at the original owner name.
    pub types: TypeBitmap<'a>,
}

impl<'a> Nsec3<'a> {
    /// Parses NSEC3 RDATA.
    pub fn parse(rdata: &'a [u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(rdata);
        let hash_algorithm = r.u8()?;
        let flags = r.u8()?;
        let iterations = r.u16()?;
        let salt_len = r.u8()? as usize;
        let salt = r.bytes(salt_len)?;
        let hash_len = r.u8()? as usize;
        if hash_len == 0 {
            return Err(ParseError::BadValue);
        }
        let next_hashed = r.bytes(hash_len)?;
        let types = TypeBitmap::parse(r.rest())?;
        Ok(Nsec3 {
            hash_algorithm,
            flags,
            iterations,
            salt,
            next_hashed,
            types,
        })
    }

    /// Opt-out flag set?
    pub fn opt_out(&self) -> bool {
        self.flags & NSEC3_FLAG_OPT_OUT != 0
    }
}

/// NSEC3PARAM RDATA (RFC 5155 §4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nsec3Param<'a> {
    /// Hash algorithm.
    pub hash_algorithm: u8,
    /// Flags (must be 0 in zones; validators ignore them).
    pub flags: u8,
    /// Additional hash iterations.
    pub iterations: u16,
    /// Salt.
    pub salt: &'a [u8],
}

impl<'a> Nsec3Param<'a> {
    /// Parses NSEC3PARAM RDATA.
    pub fn parse(rdata: &'a [u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(rdata);
        let hash_algorithm = r.u8()?;
        let flags = r.u8()?;
        let iterations = r.u16()?;
        let salt_len = r.u8()? as usize;
        let salt = r.bytes(salt_len)?;
        if !r.is_empty() {
            return Err(ParseError::TrailingData);
        }
        Ok(Nsec3Param {
            hash_algorithm,
            flags,
            iterations,
            salt,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitmap_round_trip() {
        // RFC 4034 §4.3: "A MX RRSIG NSEC TYPE1234".
        let b = TypeBitmap::build(&[rtype::A, rtype::MX, rtype::RRSIG, rtype::NSEC, 1234]);
        // RFC 4034 §4.3's bitmap: window 0 (6 octets), window 4 (27 octets, bit 210).
        let mut expected = alloc::vec![0x00, 0x06, 0x40, 0x01, 0x00, 0x00, 0x00, 0x03, 0x04, 0x1b];
        expected.extend_from_slice(&[0; 26]);
        expected.push(0x20);
        assert_eq!(b, expected);
        let t = TypeBitmap::parse(&b).unwrap();
        assert!(t.contains(rtype::MX) && t.contains(1234) && !t.contains(rtype::NS));
        assert_eq!(
            t.iter().collect::<Vec<_>>(),
            [rtype::A, rtype::MX, rtype::RRSIG, rtype::NSEC, 1234]
        );
    }

    #[test]
    fn bitmap_rejects_disorder_and_bad_lengths() {
        assert_eq!(TypeBitmap::parse(&[0, 0]), Err(ParseError::BadBitmap));
        assert_eq!(TypeBitmap::parse(&[0, 33]), Err(ParseError::BadBitmap));
        assert_eq!(
            TypeBitmap::parse(&[1, 1, 0x40, 0, 1, 0x40]),
            Err(ParseError::BadBitmap)
        );
        assert_eq!(TypeBitmap::parse(&[0, 2, 0x40]), Err(ParseError::Truncated));
    }

    #[test]
    fn rrsig_and_dnskey_parse() {
        let mut rd = alloc::vec![0, 1, 8, 3, 0, 0, 14, 16];
        rd.extend_from_slice(&[0x70, 0, 0, 0, 0x38, 0, 0, 0, 0x23, 0x49]);
        rd.extend_from_slice(b"\x07example\x03net\x00\x01\x02");
        let s = Rrsig::parse(&rd).unwrap();
        assert_eq!(
            (s.type_covered, s.algorithm, s.labels, s.original_ttl),
            (1, 8, 3, 3600)
        );
        assert_eq!(s.key_tag, 0x2349);
        assert_eq!(s.signature, &[1, 2]);
        assert_eq!(Rrsig::parse(&rd[..rd.len() - 2]), Err(ParseError::BadValue));
        assert_eq!(Dnskey::parse(&[1, 0, 3]), Err(ParseError::Truncated));
    }
}

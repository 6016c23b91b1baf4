//! One resource record as this crate sees it, and the adapter from hickory-proto.

use alloc::borrow::Cow;

use crate::ParseError;
use crate::name::Name;
use crate::rdata::{Dnskey, Ds, Nsec, Nsec3, Nsec3Param, Rrsig, rtype};

/// A resource record: owner, type, class, TTL and RDATA in uncompressed wire form (case
/// as received; [`canonical_rdata`](crate::canonical_rdata) lowercases what RFC 4034
/// §6.2 says to). The RDATA is borrowed when the caller already holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// Owner name.
    pub owner: Name,
    /// Type.
    pub rtype: u16,
    /// Class.
    pub class: u16,
    /// TTL as received.
    pub ttl: u32,
    /// RDATA, uncompressed.
    pub rdata: Cow<'a, [u8]>,
}

impl<'a> Record<'a> {
    /// A record from its parts.
    pub fn new(
        owner: Name,
        rtype: u16,
        class: u16,
        ttl: u32,
        rdata: impl Into<Cow<'a, [u8]>>,
    ) -> Self {
        Record {
            owner,
            rtype,
            class,
            ttl,
            rdata: rdata.into(),
        }
    }

    fn want(&self, t: u16) -> Result<&[u8], ParseError> {
        if self.rtype == t {
            Ok(&self.rdata)
        } else {
            Err(ParseError::WrongType)
        }
    }

    /// The RDATA as an RRSIG.
    pub fn rrsig(&self) -> Result<Rrsig<'_>, ParseError> {
        Rrsig::parse(self.want(rtype::RRSIG)?)
    }
    /// The RDATA as a DNSKEY.
    pub fn dnskey(&self) -> Result<Dnskey<'_>, ParseError> {
        Dnskey::parse(self.want(rtype::DNSKEY)?)
    }
    /// The RDATA as a DS.
    pub fn ds(&self) -> Result<Ds<'_>, ParseError> {
        Ds::parse(self.want(rtype::DS)?)
    }
    /// The RDATA as an NSEC.
    pub fn nsec(&self) -> Result<Nsec<'_>, ParseError> {
        Nsec::parse(self.want(rtype::NSEC)?)
    }
    /// The RDATA as an NSEC3.
    pub fn nsec3(&self) -> Result<Nsec3<'_>, ParseError> {
        Nsec3::parse(self.want(rtype::NSEC3)?)
    }
    /// The RDATA as an NSEC3PARAM.
    pub fn nsec3param(&self) -> Result<Nsec3Param<'_>, ParseError> {
        Nsec3Param::parse(self.want(rtype::NSEC3PARAM)?)
    }

    /// The same record owning its RDATA.
    pub fn into_owned(self) -> Record<'static> {
        Record {
            owner: self.owner,
            rtype: self.rtype,
            class: self.class,
            ttl: self.ttl,
            rdata: Cow::Owned(self.rdata.into_owned()),
        }
    }
}

#[cfg(feature = "hickory")]
mod hickory {
    use super::*;
    use alloc::vec::Vec;
    use hickory_proto::rr::RData;
    use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};

    impl<'a> Record<'a> {
        /// Takes a record hickory-proto decoded. Without hickory's `dnssec` feature the
        /// DNSSEC types (and every type hickory does not know, DNAME among them) arrive
        /// as `RData::Unknown { code, rdata: NULL }` holding the RDATA octets as they
        /// were on the wire: those are borrowed, not copied. Types hickory parsed are
        /// emitted again, uncompressed; that is only as exact as hickory's round trip
        /// for the type (fine for A, AAAA, NS, CNAME, PTR, MX, SOA, SRV, TXT, CAA as
        /// tested here).
        pub fn from_hickory(r: &'a hickory_proto::rr::Record) -> Result<Record<'a>, ParseError> {
            let owner = Name::from_labels(r.name.iter())?;
            let rtype = u16::from(r.record_type());
            let class = u16::from(r.dns_class);
            let rdata: Cow<'a, [u8]> = match &r.data {
                RData::Unknown { rdata, .. } => Cow::Borrowed(rdata.anything.as_slice()),
                RData::NULL(null) => Cow::Borrowed(null.anything.as_slice()),
                RData::Update0(_) => Cow::Borrowed(&[]),
                other => {
                    let mut buf = Vec::new();
                    let mut enc = BinEncoder::new(&mut buf);
                    // Canonical form turns name compression off; the names hickory
                    // lowercases in that mode are the ones RFC 4034 §6.2 lowercases.
                    enc.set_canonical_form(true);
                    other.emit(&mut enc).map_err(|_| ParseError::BadValue)?;
                    Cow::Owned(buf)
                }
            };
            Ok(Record {
                owner,
                rtype,
                class,
                ttl: r.ttl,
                rdata,
            })
        }
    }
}

//! Canonical form and ordering (RFC 4034 §6, RFC 6840 §5.1) and the data an RRSIG signs
//! (RFC 4034 §3.1.8.1, RFC 4035 §5.3.2).

use alloc::borrow::Cow;
use alloc::vec::Vec;

use crate::name::Name;
use crate::rdata::{Reader, Rrsig, rtype};
use crate::{BogusReason, Failure, ParseError};

/// How names sit in the RDATA of a type whose names RFC 4034 §6.2 lowercases.
enum Layout {
    /// `skip` fixed octets, then `names` names, then anything.
    Names { skip: usize, names: usize },
    /// NAPTR: 4 octets, three character-strings, one name.
    Naptr,
    /// A6: prefix length, address suffix, a name when the prefix length is not 0.
    A6,
}

/// RFC 4034 §6.2 item 3 as corrected by RFC 6840 §5.1 (NSEC's next name is not
/// lowercased; RRSIG's signer name is). HINFO is on the RFC's list but holds no names.
fn layout(t: u16) -> Option<Layout> {
    use rtype::*;
    Some(match t {
        NS | MD | MF | CNAME | MB | MG | MR | PTR | DNAME | NXT => {
            Layout::Names { skip: 0, names: 1 }
        }
        SOA | MINFO | RP => Layout::Names { skip: 0, names: 2 },
        MX | AFSDB | RT | KX => Layout::Names { skip: 2, names: 1 },
        PX => Layout::Names { skip: 2, names: 2 },
        SRV => Layout::Names { skip: 6, names: 1 },
        SIG | RRSIG => Layout::Names { skip: 18, names: 1 },
        NAPTR => Layout::Naptr,
        A6 => Layout::A6,
        _ => return None,
    })
}

/// The canonical RDATA of a record of type `rtype`: names lowercased for the types
/// RFC 4034 §6.2 lists. Borrowed when nothing changes. The names must be uncompressed
/// already (hickory decompresses the types it knows; the others may not be compressed).
pub fn canonical_rdata(rtype: u16, rdata: &[u8]) -> Result<Cow<'_, [u8]>, ParseError> {
    let Some(layout) = layout(rtype) else {
        return Ok(Cow::Borrowed(rdata));
    };
    let mut r = Reader::new(rdata);
    let mut spans: [(usize, usize); 2] = [(0, 0); 2];
    let mut n = 0;
    let name_span = |r: &mut Reader<'_>,
                     spans: &mut [(usize, usize); 2],
                     n: &mut usize|
     -> Result<(), ParseError> {
        let start = r.position();
        r.name()?;
        if let Some(s) = spans.get_mut(*n) {
            *s = (start, r.position());
            *n += 1;
        }
        Ok(())
    };
    match layout {
        Layout::Names { skip, names } => {
            r.bytes(skip)?;
            for _ in 0..names {
                name_span(&mut r, &mut spans, &mut n)?;
            }
        }
        Layout::Naptr => {
            r.bytes(4)?;
            for _ in 0..3 {
                let len = r.u8()? as usize;
                r.bytes(len)?;
            }
            name_span(&mut r, &mut spans, &mut n)?;
        }
        Layout::A6 => {
            let prefix = r.u8()? as usize;
            if prefix > 128 {
                return Err(ParseError::BadValue);
            }
            r.bytes((128 - prefix).div_ceil(8))?;
            if prefix > 0 {
                name_span(&mut r, &mut spans, &mut n)?;
            }
        }
    }
    let spans = spans.get(..n).unwrap_or(&[]);
    let needs_change = spans.iter().any(|&(a, b)| {
        rdata
            .get(a..b)
            .is_some_and(|s| s.iter().any(u8::is_ascii_uppercase))
    });
    if !needs_change {
        return Ok(Cow::Borrowed(rdata));
    }
    let mut out = rdata.to_vec();
    for &(a, b) in spans {
        if let Some(s) = out.get_mut(a..b) {
            s.make_ascii_lowercase();
        }
    }
    Ok(Cow::Owned(out))
}

/// What [`signed_data`] found besides the octets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedData {
    /// RRSIG RDATA prefix followed by the RRset in canonical form and order.
    pub data: Vec<u8>,
    /// When the RRSIG's Labels field is smaller than the owner's label count, the
    /// answer was synthesised from a wildcard: this is the closest encloser (the
    /// wildcard's parent), whose non-existing children the caller must still prove
    /// (RFC 4035 §5.3.4, RFC 5155 §8.8).
    pub expanded_from: Option<Name>,
}

/// The octets `rrsig` signs over the RRset `owner`/`rtype`/`class` with the given RDATAs
/// (RFC 4034 §3.1.8.1): the RRSIG RDATA without the signature (signer lowercased), then
/// each RR as `owner | type | class | original TTL | RDLENGTH | RDATA` with the owner
/// lowercased (and replaced by `*.` + the rightmost Labels labels when the RRSIG says
/// the owner came from a wildcard, RFC 4035 §5.3.2), canonical RDATA, sorted by RDATA,
/// duplicates removed (RFC 4034 §6.3).
pub fn signed_data(
    rrsig: &Rrsig<'_>,
    owner: &Name,
    rtype: u16,
    class: u16,
    rdatas: &[&[u8]],
) -> Result<SignedData, Failure> {
    let fqdn_labels = owner.label_count();
    let labels = rrsig.labels as usize;
    if labels > fqdn_labels {
        return Err(Failure::Bogus(BogusReason::RrsigMismatch));
    }
    let (name, expanded_from) = if labels < owner.rrsig_labels() {
        let ce = owner.suffix(labels);
        (ce.wildcard().map_err(Failure::from)?, Some(ce))
    } else {
        (owner.clone(), None)
    };
    let mut canon: Vec<Cow<'_, [u8]>> = Vec::with_capacity(rdatas.len());
    for rd in rdatas {
        canon.push(canonical_rdata(rtype, rd)?);
    }
    canon.sort_unstable();
    canon.dedup();
    let mut head = Vec::with_capacity(name.wire().len() + 8);
    name.write_lowercase(&mut head);
    head.extend_from_slice(&rtype.to_be_bytes());
    head.extend_from_slice(&class.to_be_bytes());
    head.extend_from_slice(&rrsig.original_ttl.to_be_bytes());
    let total: usize = canon.iter().map(|c| head.len() + 2 + c.len()).sum();
    let mut data = Vec::with_capacity(18 + rrsig.signer.wire().len() + total);
    rrsig.write_signed_prefix(&mut data);
    for rd in &canon {
        let len = u16::try_from(rd.len()).map_err(|_| Failure::Bogus(BogusReason::Malformed))?;
        data.extend_from_slice(&head);
        data.extend_from_slice(&len.to_be_bytes());
        data.extend_from_slice(rd);
    }
    Ok(SignedData {
        data,
        expanded_from,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercases_listed_types_only() {
        let mx = b"\x00\x0a\x04MAIL\x07Example\x03com\x00";
        assert_eq!(
            &*canonical_rdata(rtype::MX, mx).unwrap(),
            b"\x00\x0a\x04mail\x07example\x03com\x00"
        );
        // NSEC keeps its next name as signed (RFC 6840 §5.1).
        let nsec = b"\x04HOST\x07example\x03com\x00\x00\x01\x40";
        assert!(matches!(
            canonical_rdata(rtype::NSEC, nsec).unwrap(),
            Cow::Borrowed(_)
        ));
        // SOA: two names, then the counters untouched even if they look like letters.
        let soa = b"\x02NS\x00\x02ME\x00AAAABBBBCCCCDDDDEEEE";
        assert_eq!(
            &*canonical_rdata(rtype::SOA, soa).unwrap(),
            b"\x02ns\x00\x02me\x00AAAABBBBCCCCDDDDEEEE"
        );
        // TXT is not on the list.
        assert_eq!(&*canonical_rdata(rtype::TXT, b"\x02AB").unwrap(), b"\x02AB");
        // NAPTR: the name after three strings; the strings keep their case.
        let naptr = b"\x00\x01\x00\x02\x01U\x03E2U\x00\x03FOO\x00";
        assert_eq!(
            &*canonical_rdata(rtype::NAPTR, naptr).unwrap(),
            b"\x00\x01\x00\x02\x01U\x03E2U\x00\x03foo\x00"
        );
        assert_eq!(
            canonical_rdata(rtype::CNAME, b"\x03ab").unwrap_err(),
            ParseError::Truncated
        );
    }

    #[test]
    fn wildcard_owner_and_order() {
        let mut rd = alloc::vec![0, 1, 8, 2, 0, 0, 0, 60, 0, 0, 0, 9, 0, 0, 0, 1, 0, 7];
        rd.extend_from_slice(b"\x07example\x00\xff");
        let sig = Rrsig::parse(&rd).unwrap();
        let owner = Name::from_ascii("A.B.Example.").unwrap();
        let sd = signed_data(
            &sig,
            &owner,
            1,
            1,
            &[&[10, 0, 0, 2], &[10, 0, 0, 1], &[10, 0, 0, 2]],
        )
        .unwrap();
        assert_eq!(
            sd.expanded_from,
            Some(Name::from_ascii("b.example").unwrap())
        );
        let mut want = rd[..18].to_vec();
        want.extend_from_slice(b"\x07example\x00");
        for last in [1u8, 2] {
            want.extend_from_slice(
                b"\x01*\x01b\x07example\x00\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x0a\x00\x00",
            );
            want.push(last);
        }
        assert_eq!(sd.data, want);
        let deep = Name::from_ascii("example").unwrap();
        assert_eq!(
            signed_data(&sig, &deep, 1, 1, &[&[1, 2, 3, 4]]).unwrap_err(),
            Failure::Bogus(BogusReason::RrsigMismatch)
        );
    }
}

//! Domain names in uncompressed wire form, case preserved, compared canonically.
//!
//! Why our own type and not hickory's `Name`: every name this crate looks at either comes
//! out of RDATA (RRSIG signer, NSEC next name), where it must be read from bytes, or is
//! turned back into bytes (canonical form, NSEC3 hashing, DS digests). Keeping the wire
//! form means no conversion on those paths and no dependency on hickory for the core
//! (the fuzz targets and the trust-anchor parser build without it). The case of the
//! original is kept because RFC 6840 §5.1 says an NSEC's next name is signed as it was
//! sent; everything else asks for [`Name::to_lowercase`] or compares with
//! [`Name::canonical_cmp`], which ignores ASCII case as RFC 4034 §6.1 orders names.

use alloc::vec::Vec;
use core::cmp::Ordering;
use core::fmt;
use core::hash::{Hash, Hasher};

use crate::ParseError;

/// Longest name on the wire, in octets (RFC 1035 §2.3.4).
pub const MAX_NAME_LEN: usize = 255;
/// Longest label, in octets.
pub const MAX_LABEL_LEN: usize = 63;
/// Most labels a name of 255 octets can have, the root label included.
const MAX_LABELS: usize = 128;

/// A domain name: uncompressed wire form (length-prefixed labels ending with the root
/// label), at most 255 octets, case as received.
///
/// `Eq`, `Ord` and `Hash` are canonical: ASCII case does not matter and the order is
/// RFC 4034 §6.1's (by labels from the right).
#[derive(Clone)]
pub struct Name {
    wire: Vec<u8>,
}

impl Name {
    /// The root name `.`.
    pub fn root() -> Name {
        Name {
            wire: alloc::vec![0],
        }
    }

    /// Reads one uncompressed name from the start of `buf`; returns it and the octets
    /// it took. Compression pointers are refused: names in DNSSEC RDATA are never
    /// compressed (RFC 4034 §3.1.7, §4.1.1).
    pub fn from_wire(buf: &[u8]) -> Result<(Name, usize), ParseError> {
        let mut pos = 0usize;
        loop {
            let len = *buf.get(pos).ok_or(ParseError::Truncated)? as usize;
            if len & 0xC0 != 0 {
                return Err(ParseError::BadName);
            }
            let next = pos + 1 + len;
            if next > MAX_NAME_LEN {
                return Err(ParseError::BadName);
            }
            if next > buf.len() {
                return Err(ParseError::Truncated);
            }
            pos = next;
            if len == 0 {
                break;
            }
        }
        let wire = buf.get(..pos).ok_or(ParseError::Truncated)?.to_vec();
        Ok((Name { wire }, pos))
    }

    /// Builds a name from wire octets that must be exactly one uncompressed name.
    pub fn from_wire_exact(buf: &[u8]) -> Result<Name, ParseError> {
        let (n, used) = Name::from_wire(buf)?;
        if used != buf.len() {
            return Err(ParseError::TrailingData);
        }
        Ok(n)
    }

    /// Parses presentation form without escapes: `example.com.`, `example.com` or `.`.
    /// Labels may hold any printable ASCII but `.`, `\`, space and `"`; meant for
    /// configuration (trust anchors) and tests, not for arbitrary master files.
    pub fn from_ascii(s: &str) -> Result<Name, ParseError> {
        let s = s.strip_suffix('.').unwrap_or(s);
        let mut wire = Vec::with_capacity(s.len() + 2);
        if !s.is_empty() {
            for label in s.split('.') {
                let b = label.as_bytes();
                if b.is_empty() || b.len() > MAX_LABEL_LEN {
                    return Err(ParseError::BadName);
                }
                if b.iter()
                    .any(|&c| !(0x21..0x7f).contains(&c) || c == b'\\' || c == b'"')
                {
                    return Err(ParseError::BadName);
                }
                wire.push(b.len() as u8);
                wire.extend_from_slice(b);
            }
        }
        wire.push(0);
        if wire.len() > MAX_NAME_LEN {
            return Err(ParseError::BadName);
        }
        Ok(Name { wire })
    }

    /// Builds a name from labels, leftmost first (the root label is implied).
    pub fn from_labels<'a, I: IntoIterator<Item = &'a [u8]>>(
        labels: I,
    ) -> Result<Name, ParseError> {
        let mut wire = Vec::new();
        for l in labels {
            if l.is_empty() || l.len() > MAX_LABEL_LEN {
                return Err(ParseError::BadName);
            }
            wire.push(l.len() as u8);
            wire.extend_from_slice(l);
            if wire.len() >= MAX_NAME_LEN {
                return Err(ParseError::BadName);
            }
        }
        wire.push(0);
        Ok(Name { wire })
    }

    /// The uncompressed wire form, case as received.
    pub fn wire(&self) -> &[u8] {
        &self.wire
    }

    /// Appends the wire form with ASCII letters lowercased (RFC 4034 §6.2).
    pub fn write_lowercase(&self, out: &mut Vec<u8>) {
        out.extend(self.wire.iter().map(u8::to_ascii_lowercase));
    }

    /// The same name with ASCII letters lowercased. Length octets are below 64, so
    /// lowercasing the whole wire form never touches them.
    pub fn to_lowercase(&self) -> Name {
        Name {
            wire: self.wire.iter().map(u8::to_ascii_lowercase).collect(),
        }
    }

    /// Labels, leftmost first, without the root label.
    pub fn labels(&self) -> Labels<'_> {
        Labels {
            wire: &self.wire,
            pos: 0,
        }
    }

    /// Number of labels without the root label (the RRSIG Labels field counts this way,
    /// RFC 4034 §3.1.3, except that it also leaves out a leading `*`).
    pub fn label_count(&self) -> usize {
        self.labels().count()
    }

    /// Is the leftmost label `*`?
    pub fn is_wildcard(&self) -> bool {
        self.wire.get(..2) == Some(&[1, b'*'])
    }

    /// Is this the root name?
    pub fn is_root(&self) -> bool {
        self.wire.len() == 1
    }

    /// The RRSIG Labels value for this owner: labels without the root and without a
    /// leading `*`.
    pub fn rrsig_labels(&self) -> usize {
        let n = self.label_count();
        if self.is_wildcard() { n - 1 } else { n }
    }

    /// The rightmost `n` labels (`n` ≥ the label count gives the name itself).
    pub fn suffix(&self, n: usize) -> Name {
        let total = self.label_count();
        let skip = total.saturating_sub(n);
        let mut pos = 0usize;
        for _ in 0..skip {
            let len = self.wire.get(pos).copied().unwrap_or(0) as usize;
            pos += 1 + len;
        }
        Name {
            wire: self.wire.get(pos..).unwrap_or(&[0]).to_vec(),
        }
    }

    /// The parent (this name without its leftmost label); `None` for the root.
    pub fn parent(&self) -> Option<Name> {
        if self.is_root() {
            None
        } else {
            Some(self.suffix(self.label_count() - 1))
        }
    }

    /// `label` prepended to this name; fails if the result would be too long.
    pub fn prepend(&self, label: &[u8]) -> Result<Name, ParseError> {
        if label.is_empty() || label.len() > MAX_LABEL_LEN {
            return Err(ParseError::BadName);
        }
        let len = 1 + label.len() + self.wire.len();
        if len > MAX_NAME_LEN {
            return Err(ParseError::BadName);
        }
        let mut wire = Vec::with_capacity(len);
        wire.push(label.len() as u8);
        wire.extend_from_slice(label);
        wire.extend_from_slice(&self.wire);
        Ok(Name { wire })
    }

    /// `*.` + this name (the wildcard that could have synthesised names below it).
    pub fn wildcard(&self) -> Result<Name, ParseError> {
        self.prepend(b"*")
    }

    /// Is `self` equal to `zone` or below it (ASCII case ignored)?
    pub fn is_subdomain_of(&self, zone: &Name) -> bool {
        let (a, b) = (self.label_count(), zone.label_count());
        a >= b && self.suffix(b) == *zone
    }

    /// The longest common ancestor of two names (at least the root).
    pub fn common_ancestor(&self, other: &Name) -> Name {
        let (a, b) = (self.label_count(), other.label_count());
        let mut n = a.min(b);
        while n > 0 && self.suffix(n) != other.suffix(n) {
            n -= 1;
        }
        self.suffix(n)
    }

    /// RFC 4034 §6.1 canonical order: compare labels from the rightmost, each as
    /// lowercased octet strings, a missing label sorting first.
    pub fn canonical_cmp(&self, other: &Name) -> Ordering {
        let mut a = [0u8; MAX_LABELS];
        let mut b = [0u8; MAX_LABELS];
        let na = label_offsets(&self.wire, &mut a);
        let nb = label_offsets(&other.wire, &mut b);
        let mut i = na;
        let mut j = nb;
        while i > 0 && j > 0 {
            i -= 1;
            j -= 1;
            let la = label_at(&self.wire, a[i]);
            let lb = label_at(&other.wire, b[j]);
            let ord = la
                .iter()
                .map(u8::to_ascii_lowercase)
                .cmp(lb.iter().map(u8::to_ascii_lowercase));
            if ord != Ordering::Equal {
                return ord;
            }
        }
        na.cmp(&nb)
    }
}

/// Fills `out` with the offset of every non-root label; returns how many.
fn label_offsets(wire: &[u8], out: &mut [u8; MAX_LABELS]) -> usize {
    let mut pos = 0usize;
    let mut n = 0usize;
    while let Some(&len) = wire.get(pos) {
        if len == 0 || n >= MAX_LABELS {
            break;
        }
        // Offsets fit a u8: a name is at most 255 octets.
        out[n] = pos as u8;
        n += 1;
        pos += 1 + len as usize;
    }
    n
}

fn label_at(wire: &[u8], off: u8) -> &[u8] {
    let off = off as usize;
    let len = wire.get(off).copied().unwrap_or(0) as usize;
    wire.get(off + 1..off + 1 + len).unwrap_or(&[])
}

/// Iterator over a name's labels, leftmost first.
pub struct Labels<'a> {
    wire: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let len = *self.wire.get(self.pos)? as usize;
        if len == 0 {
            return None;
        }
        let l = self.wire.get(self.pos + 1..self.pos + 1 + len)?;
        self.pos += 1 + len;
        Some(l)
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        self.wire.eq_ignore_ascii_case(&other.wire)
    }
}
impl Eq for Name {}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Name) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Name {
    fn cmp(&self, other: &Name) -> Ordering {
        self.canonical_cmp(other)
    }
}

impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for b in &self.wire {
            state.write_u8(b.to_ascii_lowercase());
        }
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_root() {
            return f.write_str(".");
        }
        for l in self.labels() {
            for &c in l {
                if c == b'.' || c == b'\\' {
                    write!(f, "\\{}", c as char)?;
                } else if (0x21..0x7f).contains(&c) {
                    write!(f, "{}", c as char)?;
                } else {
                    write!(f, "\\{c:03}")?;
                }
            }
            f.write_str(".")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn n(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    /// RFC 4034 §6.1's example list, in canonical order.
    #[test]
    fn rfc4034_canonical_order() {
        let wires: [&[u8]; 9] = [
            b"\x07example\x00",
            b"\x01a\x07example\x00",
            b"\x08yljkjljk\x01a\x07example\x00",
            b"\x01Z\x01a\x07example\x00",
            b"\x04zABC\x01a\x07EXAMPLE\x00",
            b"\x01z\x07example\x00",
            b"\x01\x01\x01z\x07example\x00",
            b"\x01*\x01z\x07example\x00",
            b"\x01\x80\x01z\x07example\x00",
        ];
        let names: Vec<Name> = wires
            .iter()
            .map(|w| Name::from_wire_exact(w).unwrap())
            .collect();
        for w in names.windows(2) {
            assert_eq!(
                w[0].canonical_cmp(&w[1]),
                Ordering::Less,
                "{} < {}",
                w[0],
                w[1]
            );
        }
        let mut shuffled = names.clone();
        shuffled.reverse();
        shuffled.sort();
        assert!(
            shuffled
                .iter()
                .zip(&names)
                .all(|(a, b)| a.wire() == b.wire())
        );
    }

    #[test]
    fn labels_suffix_ancestor() {
        let a = n("x.y.w.Example.");
        assert_eq!(a.label_count(), 4);
        assert_eq!(a.suffix(2), n("w.example"));
        assert_eq!(a.parent().unwrap(), n("y.w.example"));
        assert!(a.is_subdomain_of(&n("EXAMPLE")));
        assert!(!n("example").is_subdomain_of(&a));
        assert_eq!(a.common_ancestor(&n("z.w.example")), n("w.example"));
        assert_eq!(n("*.w.example").rrsig_labels(), 2);
        assert!(Name::root().parent().is_none());
        assert_eq!(n(".").label_count(), 0);
    }

    #[test]
    fn refuses_bad_wire() {
        assert_eq!(
            Name::from_wire(&[3, b'a']).unwrap_err(),
            ParseError::Truncated
        );
        assert_eq!(
            Name::from_wire(&[0xc0, 0]).unwrap_err(),
            ParseError::BadName
        );
        let mut long = Vec::new();
        for _ in 0..5 {
            long.push(63);
            long.extend_from_slice(&[b'a'; 63]);
        }
        long.push(0);
        assert_eq!(Name::from_wire(&long).unwrap_err(), ParseError::BadName);
        assert!(Name::from_ascii("a..b").is_err());
        assert!(Name::from_ascii("a b").is_err());
    }
}

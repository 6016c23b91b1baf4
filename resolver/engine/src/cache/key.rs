//! Cache keys: an owner name as lower-cased wire labels plus a kind tag, built on the
//! stack, and the seeded hasher of the cache's table.

use core::hash::{BuildHasher, Hash};

use hickory_proto::rr::{Name, RecordType};

/// What a cache entry is keyed by: which type, or "the whole name" for NXDOMAIN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// Data of one type at the name (an RRset or NODATA).
    Type(RecordType),
    /// NXDOMAIN: the name does not exist, whatever the type.
    NxDomain,
}

impl Kind {
    /// The three bytes that follow the name in a key.
    pub(super) fn tag(self) -> [u8; 3] {
        match self {
            Kind::Type(t) => {
                let [hi, lo] = u16::from(t).to_be_bytes();
                [0, hi, lo]
            }
            Kind::NxDomain => [1, 0, 0],
        }
    }
}

/// The longest uncompressed wire name (RFC 1035 §3.1).
pub(crate) const MAX_NAME: usize = 255;

/// A key under construction, on the stack: a name, then any kind.
///
/// A key is bytes: the owner name as lower-cased, uncompressed wire labels, then the
/// [`Kind`] tag. A wire name ends at its root label, so no two keys run into each other.
/// Stored keys are bytes at the start of the entry's one allocation (with its
/// pre-encoded records) and are found by a `&[u8]` built here, from a `Name` or straight
/// from a query's bytes: a lookup allocates nothing, and the hash is one `write` of a
/// few dozen bytes. (Keys used to be `Name`s, cloned per lookup and hashed label by
/// label; profiled with callgrind for issue 7.) Equal names in any letter case give
/// equal keys.
#[derive(Clone)]
pub(crate) struct KeyBuf {
    /// The name's lower-cased wire labels, then room for the kind tag.
    buf: [u8; MAX_NAME + 3],
    /// Length of the name in `buf`, root label included.
    pub(super) name_len: usize,
}

impl KeyBuf {
    /// The key name of `name`; `None` if its wire form is longer than 255 bytes.
    pub(crate) fn from_name(name: &Name) -> Option<Self> {
        let mut k = KeyBuf {
            buf: [0; MAX_NAME + 3],
            name_len: 0,
        };
        let mut n = 0;
        for label in name.iter() {
            let len = u8::try_from(label.len()).ok()?;
            let dst = k.buf.get_mut(n..n + 1 + label.len())?;
            let (head, rest) = dst.split_first_mut()?;
            *head = len;
            for (d, s) in rest.iter_mut().zip(label) {
                *d = s.to_ascii_lowercase();
            }
            n += 1 + label.len();
        }
        // The root label.
        *k.buf.get_mut(n)? = 0;
        n += 1;
        if n > MAX_NAME {
            return None;
        }
        k.name_len = n;
        Some(k)
    }

    /// The key name of an uncompressed wire name (labels up to the root label, no
    /// pointers; `wire` may go on past the root). `None` if it is not one, or too long.
    pub(crate) fn from_wire(wire: &[u8]) -> Option<Self> {
        let mut k = KeyBuf {
            buf: [0; MAX_NAME + 3],
            name_len: 0,
        };
        let n = name_len(wire)?;
        for (d, s) in k.buf.iter_mut().zip(wire.get(..n)?) {
            *d = s.to_ascii_lowercase();
        }
        k.name_len = n;
        Some(k)
    }

    /// The name: lower-cased wire labels, root label included.
    pub(crate) fn name(&self) -> &[u8] {
        self.buf.get(..self.name_len).unwrap_or_default()
    }

    /// The whole key for `kind`.
    pub(super) fn with(&mut self, kind: Kind) -> &[u8] {
        let n = self.name_len;
        if let Some(tag) = self.buf.get_mut(n..n + 3) {
            tag.copy_from_slice(&kind.tag());
        }
        self.buf.get(..n + 3).unwrap_or_default()
    }
}

/// The length of the uncompressed wire name at the start of `wire`, root label included:
/// `None` if a label is a pointer (or reserved), runs past the end, or the name is
/// longer than 255 bytes.
pub(crate) fn name_len(wire: &[u8]) -> Option<usize> {
    let mut i = 0;
    loop {
        let len = usize::from(*wire.get(i)?);
        if len & 0xc0 != 0 {
            return None;
        }
        i += 1 + len;
        if i > MAX_NAME {
            return None;
        }
        if len == 0 {
            return Some(i);
        }
    }
}

/// Keys for hashing: SipHash keyed from the engine's seed.
#[derive(Clone, Copy, Debug)]
pub struct KeyedHasher {
    /// SipHash key, first half.
    k0: u64,
    /// SipHash key, second half.
    k1: u64,
}

impl KeyedHasher {
    /// A hasher builder with these keys.
    #[must_use]
    pub const fn new(k0: u64, k1: u64) -> Self {
        Self { k0, k1 }
    }
}

impl BuildHasher for KeyedHasher {
    #[allow(deprecated)] // core's SipHasher is deprecated only in favour of std's wrappers.
    type Hasher = core::hash::SipHasher;

    #[allow(deprecated)]
    fn build_hasher(&self) -> Self::Hasher {
        core::hash::SipHasher::new_with_keys(self.k0, self.k1)
    }
}

/// Hash a value with a keyed hasher (used by tests).
#[must_use]
pub fn hash_one<T: Hash>(h: &KeyedHasher, v: &T) -> u64 {
    h.hash_one(v)
}

//! Guest memory: one anonymous, zero-filled mapping, and the single bounds-checked way to
//! reach it from a guest-physical address.
//!
//! Every guest pointer the tender follows goes through [`GuestMem::slice`] or
//! [`GuestMem::slice_mut`], which enforce Solo5's rule `gpa + len < mem_size` (strictly
//! less, as `HVT_CHECKED_GPA_P`). Writes are also refused into ranges the loader made
//! read-only on the host (text, rodata): `solo5-hvt` would take SIGSEGV there, we print
//! a clear error instead.

use std::fmt;
use std::io;
use std::ptr::NonNull;

/// A guest pointer the tender refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestAccess {
    pub gpa: u64,
    pub len: u64,
    pub kind: AccessKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessKind {
    /// Not inside `[0, mem_size)` with `gpa + len < mem_size`.
    OutOfBounds,
    /// A host write into a segment the guest image marks read-only.
    ReadOnly,
    /// A host read of a segment the guest image marks inaccessible.
    NoAccess,
}

impl fmt::Display for GuestAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Invalid guest access: gpa=0x{:x}, sz={}",
            self.gpa, self.len
        )?;
        match self.kind {
            AccessKind::OutOfBounds => Ok(()),
            AccessKind::ReadOnly => write!(f, " (write into a read-only segment)"),
            AccessKind::NoAccess => write!(f, " (segment without read permission)"),
        }
    }
}

impl std::error::Error for GuestAccess {}

/// Host-side protection the loader gave to `[start, end)`.
#[derive(Debug, Clone, Copy)]
struct Protected {
    start: u64,
    end: u64,
    readable: bool,
    writable: bool,
}

/// Guest RAM, mapped at guest-physical 0.
pub struct GuestMem {
    base: NonNull<u8>,
    size: u64,
    protected: Vec<Protected>,
}

impl fmt::Debug for GuestMem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuestMem")
            .field("size", &self.size)
            .finish()
    }
}

impl GuestMem {
    /// Maps `size` bytes of zeroed anonymous memory.
    pub fn new(size: u64) -> io::Result<GuestMem> {
        let len =
            usize::try_from(size).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        if len == 0 {
            return Err(io::Error::from(io::ErrorKind::InvalidInput));
        }
        // SAFETY: a fresh anonymous mapping; no existing memory is affected. The result is
        // checked against MAP_FAILED before use.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = NonNull::new(p.cast::<u8>()).ok_or_else(io::Error::last_os_error)?;
        Ok(GuestMem {
            base,
            size,
            protected: Vec::new(),
        })
    }

    /// Guest memory size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Host address of guest-physical 0 (for `KVM_SET_USER_MEMORY_REGION`).
    pub fn host_addr(&self) -> u64 {
        self.base.as_ptr() as u64
    }

    /// Checks `[gpa, gpa + len)` with Solo5's strict rule and returns the offset.
    pub fn check(&self, gpa: u64, len: u64) -> Result<usize, GuestAccess> {
        let oob = GuestAccess {
            gpa,
            len,
            kind: AccessKind::OutOfBounds,
        };
        match gpa.checked_add(len) {
            Some(end) if gpa < self.size && end < self.size => {
                usize::try_from(gpa).map_err(|_| oob)
            }
            _ => Err(oob),
        }
    }

    fn overlapping(&self, gpa: u64, len: u64) -> impl Iterator<Item = &Protected> {
        let end = gpa.saturating_add(len);
        self.protected
            .iter()
            .filter(move |p| len > 0 && gpa < p.end && p.start < end)
    }

    /// The guest bytes `[gpa, gpa + len)`, or why not.
    pub fn slice(&self, gpa: u64, len: u64) -> Result<&[u8], GuestAccess> {
        let off = self.check(gpa, len)?;
        if self.overlapping(gpa, len).any(|p| !p.readable) {
            return Err(GuestAccess {
                gpa,
                len,
                kind: AccessKind::NoAccess,
            });
        }
        // SAFETY: `check` proved off + len < size, so the range lies inside the mapping,
        // which lives as long as `self`, and it is host-readable (checked above). The
        // guest only changes this memory while its single vCPU runs, and the vCPU is
        // stopped whenever the tender holds a borrow of `self` (exits are handled
        // synchronously on the vCPU thread).
        Ok(unsafe { std::slice::from_raw_parts(self.base.as_ptr().add(off), len as usize) })
    }

    /// The guest bytes `[gpa, gpa + len)` for writing, or why not.
    pub fn slice_mut(&mut self, gpa: u64, len: u64) -> Result<&mut [u8], GuestAccess> {
        let off = self.check(gpa, len)?;
        if self.overlapping(gpa, len).any(|p| !p.writable) {
            return Err(GuestAccess {
                gpa,
                len,
                kind: AccessKind::ReadOnly,
            });
        }
        // SAFETY: as in `slice`; in addition `&mut self` makes this the only live borrow,
        // and the range is host-writable (checked above).
        Ok(unsafe { std::slice::from_raw_parts_mut(self.base.as_ptr().add(off), len as usize) })
    }

    /// The tender's own setup writes (loading the image): `[gpa, gpa + len)` may end
    /// exactly at the top of memory. Never use this for a guest-supplied pointer.
    pub fn setup_slice_mut(&mut self, gpa: u64, len: u64) -> Result<&mut [u8], GuestAccess> {
        let oob = GuestAccess {
            gpa,
            len,
            kind: AccessKind::OutOfBounds,
        };
        let end = gpa.checked_add(len).ok_or(oob)?;
        if end > self.size || self.overlapping(gpa, len).any(|p| !p.writable) {
            return Err(oob);
        }
        // SAFETY: [gpa, end) lies inside the mapping (end <= size) and is host-writable;
        // `&mut self` makes this the only borrow, and the vCPU is not running.
        Ok(unsafe {
            std::slice::from_raw_parts_mut(self.base.as_ptr().add(gpa as usize), len as usize)
        })
    }

    /// Reads a little-endian u64 at `gpa`.
    pub fn read_u64(&self, gpa: u64) -> Result<u64, GuestAccess> {
        let b = self.slice(gpa, 8)?;
        Ok(u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    }

    /// Writes a little-endian u64 at `gpa`.
    pub fn write_u64(&mut self, gpa: u64, v: u64) -> Result<(), GuestAccess> {
        self.slice_mut(gpa, 8)?.copy_from_slice(&v.to_le_bytes());
        Ok(())
    }

    /// Writes a little-endian i32 at `gpa`.
    pub fn write_i32(&mut self, gpa: u64, v: i32) -> Result<(), GuestAccess> {
        self.slice_mut(gpa, 4)?.copy_from_slice(&v.to_le_bytes());
        Ok(())
    }

    /// Sets the host protection of the page-aligned `[start, end)` (a loaded segment).
    /// Guest-executable pages are readable but never executable on the host. KVM carries
    /// a missing write permission into the guest.
    pub fn protect(
        &mut self,
        start: u64,
        end: u64,
        readable: bool,
        writable: bool,
    ) -> io::Result<()> {
        if start >= end
            || end > self.size
            || !start.is_multiple_of(4096)
            || !end.is_multiple_of(4096)
        {
            return Err(io::Error::from(io::ErrorKind::InvalidInput));
        }
        let mut prot = libc::PROT_NONE;
        if readable {
            prot |= libc::PROT_READ;
        }
        if writable {
            prot |= libc::PROT_WRITE;
        }
        // SAFETY: [start, end) is page-aligned and inside our own mapping (checked above);
        // changing its protection cannot affect memory outside it. The host never holds a
        // borrow into it across this call (`&mut self`).
        let rc = unsafe {
            libc::mprotect(
                self.base.as_ptr().add(start as usize).cast(),
                (end - start) as usize,
                prot,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        self.protected.push(Protected {
            start,
            end,
            readable,
            writable,
        });
        Ok(())
    }
}

impl Drop for GuestMem {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the mapping `new` created; no borrow of it can outlive
        // `self`.
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.size as usize);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1 << 20;

    #[test]
    fn bounds_are_strict_like_solo5() {
        let m = GuestMem::new(2 * MB).unwrap();
        let size = m.size();
        assert!(m.slice(0, 16).is_ok());
        assert!(m.slice(size - 17, 16).is_ok());
        // gpa + len == size is refused: Solo5 requires strictly less.
        assert_eq!(
            m.slice(size - 16, 16).unwrap_err().kind,
            AccessKind::OutOfBounds
        );
        assert!(m.slice(size, 0).is_err());
        assert!(m.slice(size - 1, 0).is_ok());
        assert!(m.slice(u64::MAX, 2).is_err());
        assert!(m.slice(8, u64::MAX).is_err());
        assert!(m.slice(0, size).is_err());
        let e = m.slice(size, 8).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("Invalid guest access: gpa=0x{size:x}, sz=8")
        );
    }

    #[test]
    fn memory_starts_zeroed_and_round_trips() {
        let mut m = GuestMem::new(2 * MB).unwrap();
        assert!(m.slice(0, 2 * MB - 1).unwrap().iter().all(|b| *b == 0));
        m.write_u64(0x1000, 0x1122_3344_5566_7788).unwrap();
        assert_eq!(m.read_u64(0x1000).unwrap(), 0x1122_3344_5566_7788);
        m.write_i32(0x2000, -2).unwrap();
        assert_eq!(m.slice(0x2000, 4).unwrap(), &(-2i32).to_le_bytes());
    }

    #[test]
    fn host_writes_into_read_only_segments_are_refused() {
        let mut m = GuestMem::new(4 * MB).unwrap();
        m.slice_mut(0x10_0000, 4).unwrap().copy_from_slice(b"text");
        m.protect(0x10_0000, 0x10_2000, true, false).unwrap();
        assert_eq!(m.slice(0x10_0000, 4).unwrap(), b"text");
        assert_eq!(
            m.slice_mut(0x10_1ff0, 0x20).unwrap_err().kind,
            AccessKind::ReadOnly
        );
        assert!(m.slice_mut(0x10_2000, 0x20).is_ok());
        assert!(m.slice_mut(0x10_0000 - 8, 8).is_ok());
        assert!(m.protect(0x10_0001, 0x10_2000, true, false).is_err());
    }
}

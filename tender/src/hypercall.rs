//! The hypercalls: what the tender does for the guest.
//!
//! Every argument struct and every buffer is reached through [`GuestMem`]'s bounds
//! checks; field offsets come from the `hvt-abi` structs, so guest and host agree.
//! NET hypercalls exist only when a `--net:` device is attached and BLOCK hypercalls only
//! with a `--block:` device, as in `solo5-hvt`; otherwise they are unknown hypercalls.

use std::fs::File;
use std::io::{self, Read, Write};
use std::mem::offset_of;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::time::{SystemTime, UNIX_EPOCH};

use hvt_abi::{
    HALT_COOKIE_MAX, HcBlock, HcHalt, HcNetRead, HcNetWrite, HcPoll, HcPuts, HcWalltime, Hypercall,
    result,
};

use crate::block::Block;
use crate::exit::{Fatal, Hypercalls};
use crate::mem::GuestMem;
use crate::stats;

/// What sits behind a manifest index.
#[derive(Debug)]
pub enum Device {
    /// The reserved entry 0 (and nothing else: every declared device is attached).
    None,
    Net(File),
    Block(Block),
}

/// Guest memory plus the attached devices, indexed by manifest handle.
pub struct Services {
    pub mem: GuestMem,
    devices: Vec<Device>,
    /// The poll set: the net devices' fds (`pollfd`) and their handles, built once.
    pollfds: Vec<libc::pollfd>,
    pollhandles: Vec<u32>,
    has_net: bool,
    has_block: bool,
}

/// The device behind a guest-supplied handle, if there is one; the callers answer EINVAL
/// when it is missing or of the wrong kind.
fn device(devices: &[Device], handle: u64) -> Option<&Device> {
    devices.get(usize::try_from(handle).ok()?)
}

fn io_fatal(what: &str, e: io::Error) -> Fatal {
    Fatal::HostIo(format!("Fatal error: {what}: {e}"))
}

impl Services {
    pub fn new(mem: GuestMem, devices: Vec<Device>) -> Services {
        let mut pollfds = Vec::new();
        let mut pollhandles = Vec::new();
        for (i, d) in devices.iter().enumerate() {
            if let Device::Net(f) = d {
                pollfds.push(libc::pollfd {
                    fd: f.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                });
                pollhandles.push(i as u32);
            }
        }
        let has_block = devices.iter().any(|d| matches!(d, Device::Block(_)));
        Services {
            mem,
            has_net: !pollfds.is_empty(),
            devices,
            pollfds,
            pollhandles,
            has_block,
        }
    }

    fn u64_at(&self, gpa: u64, off: usize) -> Result<u64, Fatal> {
        Ok(self.mem.read_u64(gpa + off as u64)?)
    }

    fn walltime(&mut self, gpa: u64) -> Result<(), Fatal> {
        let ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        self.mem
            .write_u64(gpa + offset_of!(HcWalltime, nsecs) as u64, ns)?;
        Ok(())
    }

    fn puts(&mut self, gpa: u64) -> Result<(), Fatal> {
        let data = self.u64_at(gpa, offset_of!(HcPuts, data))?;
        let len = self.u64_at(gpa, offset_of!(HcPuts, len))?;
        let bytes = self.mem.slice(data, len)?;
        let mut out = io::stdout().lock();
        // Like solo5-hvt, console output is best effort: a closed stdout does not stop
        // the guest.
        let _ = out.write_all(bytes).and_then(|_| out.flush());
        Ok(())
    }

    fn poll(&mut self, gpa: u64) -> Result<(), Fatal> {
        let timeout = self.u64_at(gpa, offset_of!(HcPoll, timeout_nsecs))?.max(1);
        let ts = libc::timespec {
            tv_sec: (timeout / 1_000_000_000).min(i64::MAX as u64) as _,
            tv_nsec: (timeout % 1_000_000_000) as libc::c_long,
        };
        for p in self.pollfds.iter_mut() {
            p.revents = 0;
        }
        // SAFETY: `pollfds` is a live, exclusively borrowed array of `len` pollfd structs
        // (ppoll writes only their `revents`); `ts` outlives the call; no signal mask.
        let rc = unsafe {
            libc::ppoll(
                self.pollfds.as_mut_ptr(),
                self.pollfds.len() as libc::nfds_t,
                &ts,
                std::ptr::null(),
            )
        };
        let (mut ready, mut set) = (0i32, 0u64);
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(io_fatal("poll", e));
            }
        } else {
            for (p, h) in self.pollfds.iter().zip(&self.pollhandles) {
                if p.revents != 0 {
                    ready += 1;
                    set |= 1u64 << (h & 63);
                }
            }
        }
        self.mem
            .write_u64(gpa + offset_of!(HcPoll, ready_set) as u64, set)?;
        self.mem
            .write_i32(gpa + offset_of!(HcPoll, ret) as u64, ready)?;
        Ok(())
    }

    fn block(&mut self, gpa: u64, write: bool) -> Result<(), Fatal> {
        let handle = self.u64_at(gpa, offset_of!(HcBlock, handle))?;
        let offset = self.u64_at(gpa, offset_of!(HcBlock, offset))?;
        let data = self.u64_at(gpa, offset_of!(HcBlock, data))?;
        let len = self.u64_at(gpa, offset_of!(HcBlock, len))?;
        let ret_at = gpa + offset_of!(HcBlock, ret) as u64;
        let Some(Device::Block(b)) = device(&self.devices, handle) else {
            self.mem.write_i32(ret_at, result::EINVAL)?;
            return Ok(());
        };
        if offset >= b.capacity || offset.checked_add(len).is_none_or(|end| end > b.capacity) {
            self.mem.write_i32(ret_at, result::EINVAL)?;
            return Ok(());
        }
        if write {
            let buf = self.mem.slice(data, len)?;
            b.file
                .write_all_at(buf, offset)
                .map_err(|e| io_fatal("block write", e))?;
        } else {
            let file = &b.file;
            let buf = self.mem.slice_mut(data, len)?;
            file.read_exact_at(buf, offset)
                .map_err(|e| io_fatal("block read", e))?;
        }
        self.mem.write_i32(ret_at, result::OK)?;
        Ok(())
    }

    fn net_write(&mut self, gpa: u64) -> Result<(), Fatal> {
        let handle = self.u64_at(gpa, offset_of!(HcNetWrite, handle))?;
        let data = self.u64_at(gpa, offset_of!(HcNetWrite, data))?;
        let len = self.u64_at(gpa, offset_of!(HcNetWrite, len))?;
        let ret_at = gpa + offset_of!(HcNetWrite, ret) as u64;
        let Some(Device::Net(f)) = device(&self.devices, handle) else {
            self.mem.write_i32(ret_at, result::EINVAL)?;
            return Ok(());
        };
        let frame = self.mem.slice(data, len)?;
        match (&*f).write(frame) {
            Ok(n) if n as u64 == len => {}
            Ok(n) => {
                return Err(Fatal::HostIo(format!(
                    "Fatal error: net write: short write ({n} of {len} bytes)"
                )));
            }
            Err(e) => return Err(io_fatal("net write", e)),
        }
        self.mem.write_i32(ret_at, result::OK)?;
        Ok(())
    }

    fn net_read(&mut self, gpa: u64) -> Result<(), Fatal> {
        let handle = self.u64_at(gpa, offset_of!(HcNetRead, handle))?;
        let data = self.u64_at(gpa, offset_of!(HcNetRead, data))?;
        let len = self.u64_at(gpa, offset_of!(HcNetRead, len))?;
        let len_at = gpa + offset_of!(HcNetRead, len) as u64;
        let ret_at = gpa + offset_of!(HcNetRead, ret) as u64;
        let Some(Device::Net(f)) = device(&self.devices, handle) else {
            self.mem.write_i32(ret_at, result::EINVAL)?;
            return Ok(());
        };
        let f: &File = f;
        let buf = self.mem.slice_mut(data, len)?;
        match (&*f).read(buf) {
            Ok(n) => {
                self.mem.write_u64(len_at, n as u64)?;
                self.mem.write_i32(ret_at, result::OK)?;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.mem.write_i32(ret_at, result::AGAIN)?;
            }
            Err(e) => return Err(io_fatal("net read", e)),
        }
        Ok(())
    }

    fn halt(&mut self, gpa: u64) -> Result<i32, Fatal> {
        let cookie = self.u64_at(gpa, offset_of!(HcHalt, cookie))?;
        let status = self
            .mem
            .slice(gpa + offset_of!(HcHalt, exit_status) as u64, 4)?;
        let status = i32::from_le_bytes([status[0], status[1], status[2], status[3]]);
        if cookie != 0 {
            self.mem.check(cookie, HALT_COOKIE_MAX)?;
        }
        Ok(status)
    }
}

impl Hypercalls for Services {
    fn hypercall(&mut self, nr: u32, gpa: u64) -> Result<Option<i32>, Fatal> {
        stats::count_hypercall(nr);
        let h = Hypercall::from_nr(nr).ok_or(Fatal::UnknownHypercall(nr))?;
        let registered = match h {
            Hypercall::NetRead | Hypercall::NetWrite => self.has_net,
            Hypercall::BlockRead | Hypercall::BlockWrite => self.has_block,
            _ => true,
        };
        if !registered {
            return Err(Fatal::UnknownHypercall(nr));
        }
        // The whole argument struct must be inside guest memory before any field is used.
        self.mem.check(gpa, h.arg_size())?;
        match h {
            Hypercall::Walltime => self.walltime(gpa)?,
            Hypercall::Puts => self.puts(gpa)?,
            Hypercall::Poll => self.poll(gpa)?,
            Hypercall::BlockWrite => self.block(gpa, true)?,
            Hypercall::BlockRead => self.block(gpa, false)?,
            Hypercall::NetWrite => self.net_write(gpa)?,
            Hypercall::NetRead => self.net_read(gpa)?,
            Hypercall::Halt => return self.halt(gpa).map(Some),
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mem::AccessKind;
    use std::os::fd::OwnedFd;
    use std::os::unix::net::UnixDatagram;
    use std::time::Instant;

    const ARG: u64 = 0x20_0000;
    const BUF: u64 = 0x30_0000;

    fn mem() -> GuestMem {
        GuestMem::new(4 << 20).unwrap()
    }

    fn put(s: &mut Services, gpa: u64, vals: &[u64]) {
        for (i, v) in vals.iter().enumerate() {
            s.mem.write_u64(gpa + 8 * i as u64, *v).unwrap();
        }
    }

    fn ret(s: &Services, gpa: u64) -> i32 {
        let b = s.mem.slice(gpa, 4).unwrap();
        i32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    /// A net device backed by one end of a datagram socket pair.
    fn net_pair() -> (File, UnixDatagram) {
        let (a, b) = UnixDatagram::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        (File::from(OwnedFd::from(a)), b)
    }

    #[test]
    fn walltime_and_halt() {
        let mut s = Services::new(mem(), vec![Device::None]);
        assert_eq!(s.hypercall(1, ARG), Ok(None));
        let ns = s.mem.read_u64(ARG).unwrap();
        assert!(ns > 1_700_000_000 * 1_000_000_000, "{ns}");
        put(&mut s, ARG, &[0, 3]);
        assert_eq!(s.hypercall(8, ARG), Ok(Some(3)));
        put(&mut s, ARG, &[BUF, 0xffff_ffff]);
        assert_eq!(s.hypercall(8, ARG), Ok(Some(-1)));
        // The cookie must have 512 readable bytes.
        put(&mut s, ARG, &[(4 << 20) - 512, 255]);
        assert!(matches!(s.hypercall(8, ARG), Err(Fatal::Guest(_))));
        put(&mut s, ARG, &[(4 << 20) - 513, 255]);
        assert_eq!(s.hypercall(8, ARG), Ok(Some(255)));
    }

    #[test]
    fn argument_structs_and_buffers_are_bounds_checked() {
        let mut s = Services::new(mem(), vec![Device::None]);
        let top = 4 << 20;
        // Argument struct running up to the last byte: refused (strict bound).
        assert!(matches!(s.hypercall(1, top - 8), Err(Fatal::Guest(_))));
        assert_eq!(s.hypercall(1, top - 9), Ok(None));
        put(&mut s, ARG, &[top - 4, 4]);
        let e = s.hypercall(2, ARG).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("Invalid guest access: gpa=0x{:x}, sz=4", top - 4)
        );
        put(&mut s, ARG, &[u64::MAX, 2]);
        assert!(matches!(s.hypercall(2, ARG), Err(Fatal::Guest(_))));
        assert_eq!(s.hypercall(0, ARG), Err(Fatal::UnknownHypercall(0)));
        assert_eq!(s.hypercall(9, ARG), Err(Fatal::UnknownHypercall(9)));
    }

    #[test]
    fn net_and_block_hypercalls_exist_only_with_devices() {
        let mut s = Services::new(mem(), vec![Device::None]);
        for nr in 4..=7 {
            assert_eq!(s.hypercall(nr, ARG), Err(Fatal::UnknownHypercall(nr)));
        }
    }

    #[test]
    fn poll_times_out_and_reports_ready_devices() {
        let (f, peer) = net_pair();
        let mut s = Services::new(mem(), vec![Device::None, Device::Net(f)]);
        put(&mut s, ARG, &[5_000_000, 99, 99]);
        let t = Instant::now();
        assert_eq!(s.hypercall(3, ARG), Ok(None));
        assert!(t.elapsed().as_millis() >= 4);
        assert_eq!(s.mem.read_u64(ARG + 8).unwrap(), 0);
        assert_eq!(ret(&s, ARG + 16), 0);
        peer.send(b"frame").unwrap();
        put(&mut s, ARG, &[10_000_000_000, 0, 0]);
        let t = Instant::now();
        assert_eq!(s.hypercall(3, ARG), Ok(None));
        assert!(t.elapsed().as_secs() < 5);
        assert_eq!(s.mem.read_u64(ARG + 8).unwrap(), 0x2);
        assert_eq!(ret(&s, ARG + 16), 1);
    }

    #[test]
    fn net_read_and_write() {
        let (f, peer) = net_pair();
        let mut s = Services::new(mem(), vec![Device::None, Device::Net(f)]);
        // Nothing waiting: AGAIN.
        put(&mut s, ARG, &[1, BUF, 1514, 99]);
        assert_eq!(s.hypercall(7, ARG), Ok(None));
        assert_eq!(ret(&s, ARG + 24), result::AGAIN);
        peer.send(b"hello frame").unwrap();
        put(&mut s, ARG, &[1, BUF, 1514, 99]);
        assert_eq!(s.hypercall(7, ARG), Ok(None));
        assert_eq!(ret(&s, ARG + 24), result::OK);
        assert_eq!(s.mem.read_u64(ARG + 16).unwrap(), 11);
        assert_eq!(s.mem.slice(BUF, 11).unwrap(), b"hello frame");
        // Bad handles: EINVAL.
        for h in [0, 2, u64::MAX] {
            put(&mut s, ARG, &[h, BUF, 1514, 99]);
            assert_eq!(s.hypercall(7, ARG), Ok(None));
            assert_eq!(ret(&s, ARG + 24), result::EINVAL);
            put(&mut s, ARG, &[h, BUF, 10, 99]);
            assert_eq!(s.hypercall(6, ARG), Ok(None));
            assert_eq!(ret(&s, ARG + 24), result::EINVAL);
        }
        s.mem.slice_mut(BUF, 5).unwrap().copy_from_slice(b"reply");
        put(&mut s, ARG, &[1, BUF, 5, 99]);
        assert_eq!(s.hypercall(6, ARG), Ok(None));
        assert_eq!(ret(&s, ARG + 24), result::OK);
        let mut got = [0u8; 16];
        assert_eq!(peer.recv(&mut got).unwrap(), 5);
        assert_eq!(&got[..5], b"reply");
        // A receive buffer past the end of memory is fatal, not truncated.
        put(&mut s, ARG, &[1, (4 << 20) - 100, 1514, 99]);
        assert!(matches!(s.hypercall(7, ARG), Err(Fatal::Guest(_))));
    }

    #[test]
    fn net_read_into_a_read_only_segment_is_refused() {
        let (f, peer) = net_pair();
        let mut s = Services::new(mem(), vec![Device::None, Device::Net(f)]);
        s.mem.protect(BUF, BUF + 0x1000, true, false).unwrap();
        peer.send(b"x").unwrap();
        put(&mut s, ARG, &[1, BUF, 64, 0]);
        match s.hypercall(7, ARG) {
            Err(Fatal::Guest(g)) => assert_eq!(g.kind, AccessKind::ReadOnly),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn block_read_and_write() {
        let path = std::env::temp_dir().join(format!("tender-hc-blk-{}", std::process::id()));
        std::fs::write(&path, vec![0u8; 4096]).unwrap();
        let b = crate::block::attach("storage", path.to_str().unwrap(), 512).unwrap();
        let mut s = Services::new(mem(), vec![Device::None, Device::Block(b)]);
        s.mem.slice_mut(BUF, 512).unwrap().fill(0xab);
        put(&mut s, ARG, &[1, 1024, BUF, 512, 99]);
        assert_eq!(s.hypercall(4, ARG), Ok(None));
        assert_eq!(ret(&s, ARG + 32), result::OK);
        put(&mut s, ARG, &[1, 1024, BUF + 4096, 512, 99]);
        assert_eq!(s.hypercall(5, ARG), Ok(None));
        assert_eq!(ret(&s, ARG + 32), result::OK);
        assert!(
            s.mem
                .slice(BUF + 4096, 512)
                .unwrap()
                .iter()
                .all(|b| *b == 0xab)
        );
        // offset == capacity, offset + len > capacity, handle 0: EINVAL.
        for args in [
            [1, 4096, BUF, 512],
            [1, 3840, BUF, 512],
            [0, 0, BUF, 512],
            [1, 512, BUF, u64::MAX],
        ] {
            put(&mut s, ARG, &[args[0], args[1], args[2], args[3], 99]);
            assert_eq!(s.hypercall(5, ARG), Ok(None));
            assert_eq!(ret(&s, ARG + 32), result::EINVAL, "{args:?}");
        }
        std::fs::remove_file(&path).unwrap();
        let on_disk = {
            let b = s.devices.get(1);
            matches!(b, Some(Device::Block(_)))
        };
        assert!(on_disk);
    }
}

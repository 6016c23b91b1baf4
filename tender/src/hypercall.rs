//! The hypercalls: what the tender does for the guest.
//!
//! Every argument struct and every buffer is reached through [`GuestMem`]'s bounds
//! checks; field offsets come from the `hvt-abi` structs, so guest and host agree.
//! NET hypercalls exist only when a `--net:` device is attached and BLOCK hypercalls only
//! with a `--block:` device, as in `solo5-hvt`; otherwise they are unknown hypercalls.
//! The project's batched NET_WRITEV / NET_READV (`hvt_abi::batch`) exist only after
//! [`Services::offer_batch`] announced them to the guest.

use std::fs::File;
use std::io::{self, Read, Write};
use std::mem::offset_of;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use hvt_abi::{
    HALT_COOKIE_MAX, HcBlock, HcHalt, HcNetExchange, HcNetRead, HcNetWrite, HcPoll, HcPuts,
    HcWalltime, Hypercall, batch, result,
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
    /// Whether the batched net hypercalls were offered to the guest.
    batch: bool,
    /// How long a NET_READV that found some frames but not enough to fill its entries
    /// waits for more (interrupt coalescing, host side): clients that got their answers
    /// in one burst send their next queries within tens of µs of each other, and each
    /// one caught here saves the guest a POLL and a NET_READV exit.
    linger: std::time::Duration,
}

/// The device behind a guest-supplied handle, if there is one; the callers answer EINVAL
/// when it is missing or of the wrong kind.
fn device(devices: &[Device], handle: u64) -> Option<&Device> {
    devices.get(usize::try_from(handle).ok()?)
}

/// Waits up to `timeout` for `f` to become readable.
fn wait_readable(f: &File, timeout: std::time::Duration) -> Result<bool, Fatal> {
    let mut p = libc::pollfd {
        fd: f.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ts = libc::timespec {
        tv_sec: timeout.as_secs().min(i64::MAX as u64) as _,
        tv_nsec: libc::c_long::from(timeout.subsec_nanos() as i32),
    };
    // SAFETY: one live pollfd, a timespec that outlives the call, no signal mask.
    let rc = unsafe { libc::ppoll(&mut p, 1, &ts, std::ptr::null()) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok(false);
        }
        return Err(io_fatal("poll", e));
    }
    Ok(rc > 0 && p.revents & libc::POLLIN != 0)
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
            batch: false,
            linger: std::time::Duration::ZERO,
        }
    }

    /// Offers the batched net hypercalls (`hvt_abi::batch`): writes the announcement at
    /// `batch::INFO_BASE`, where Solo5's tenders leave zeros. Only with a net device (the
    /// extension is about frames); returns whether it was offered. Call before the vCPU
    /// first runs.
    pub fn offer_batch(
        &mut self,
        linger: std::time::Duration,
    ) -> Result<bool, crate::mem::GuestAccess> {
        self.linger = linger;
        if !self.has_net {
            return Ok(false);
        }
        let info = batch::Info::offered();
        let area = self
            .mem
            .slice_mut(batch::INFO_BASE, std::mem::size_of::<batch::Info>() as u64)?;
        area[offset_of!(batch::Info, magic)..][..8].copy_from_slice(&info.magic);
        area[offset_of!(batch::Info, version)..][..4].copy_from_slice(&info.version.to_le_bytes());
        area[offset_of!(batch::Info, max_frames)..][..4]
            .copy_from_slice(&info.max_frames.to_le_bytes());
        self.batch = true;
        Ok(true)
    }

    /// Checks an exchange's `count` entries at `iov`: false for a count above
    /// `batch::MAX_FRAMES`, fatal for an array outside guest memory.
    fn iov_ok(&self, iov: u64, count: u64) -> Result<bool, Fatal> {
        if count > u64::from(batch::MAX_FRAMES) {
            return Ok(false);
        }
        if count > 0 {
            self.mem
                .check(iov, count * std::mem::size_of::<batch::Iov>() as u64)?;
        }
        Ok(true)
    }

    /// The (`data`, `len`) of entry `i` of the array at `iov`.
    fn iov_at(&self, iov: u64, i: u64) -> Result<(u64, u64, u64), Fatal> {
        let entry = iov + i * std::mem::size_of::<batch::Iov>() as u64;
        let data = self.u64_at(entry, offset_of!(batch::Iov, data))?;
        let len = self.u64_at(entry, offset_of!(batch::Iov, len))?;
        Ok((entry, data, len))
    }

    fn net_exchange(&mut self, gpa: u64) -> Result<(), Fatal> {
        let field = |off: usize| gpa + off as u64;
        let handle = self.u64_at(gpa, offset_of!(HcNetExchange, handle))?;
        let tx_iov = self.u64_at(gpa, offset_of!(HcNetExchange, tx_iov))?;
        let tx_count = self.u64_at(gpa, offset_of!(HcNetExchange, tx_count))?;
        let rx_iov = self.u64_at(gpa, offset_of!(HcNetExchange, rx_iov))?;
        let rx_count = self.u64_at(gpa, offset_of!(HcNetExchange, rx_count))?;
        let timeout = self.u64_at(gpa, offset_of!(HcNetExchange, timeout_nsecs))?;
        let ret_at = field(offset_of!(HcNetExchange, ret));
        let got_at = field(offset_of!(HcNetExchange, rx_count));
        let more_at = field(offset_of!(HcNetExchange, more));
        self.mem.write_u64(more_at, 0)?;
        let net = matches!(device(&self.devices, handle), Some(Device::Net(_)));
        // Both arrays are checked before anything is sent.
        if !net || !self.iov_ok(tx_iov, tx_count)? || !self.iov_ok(rx_iov, rx_count)? {
            self.mem.write_u64(got_at, 0)?;
            self.mem.write_i32(ret_at, result::EINVAL)?;
            return Ok(());
        }
        let handle = handle as usize;
        for i in 0..tx_count {
            let (_, data, len) = self.iov_at(tx_iov, i)?;
            let Some(Device::Net(f)) = self.devices.get(handle) else {
                return Err(Fatal::HostIo("net device vanished".into()));
            };
            write_frame(f, self.mem.slice(data, len)?)?;
        }
        let mut got = 0u64;
        // Wait for the first frame only if asked to and none is waiting; after some
        // frames, linger (at most `self.linger` in all) for the rest of a burst.
        let mut wait_first = (timeout > 0).then(|| std::time::Duration::from_nanos(timeout));
        let mut linger_until = None;
        while got < rx_count {
            let (entry, data, len) = self.iov_at(rx_iov, got)?;
            let Some(Device::Net(f)) = self.devices.get(handle) else {
                return Err(Fatal::HostIo("net device vanished".into()));
            };
            let f: &File = f;
            match read_frame(f, self.mem.slice_mut(data, len)?)? {
                Some(n) => {
                    self.mem
                        .write_u64(entry + offset_of!(batch::Iov, len) as u64, n as u64)?;
                    got += 1;
                }
                None => {
                    let wait = if got == 0 {
                        match wait_first.take() {
                            Some(w) => w,
                            None => break,
                        }
                    } else {
                        if self.linger.is_zero() {
                            break;
                        }
                        let until =
                            *linger_until.get_or_insert_with(|| Instant::now() + self.linger);
                        until.saturating_duration_since(Instant::now())
                    };
                    if wait.is_zero() || !wait_readable(f, wait)? {
                        break;
                    }
                }
            }
        }
        self.mem.write_u64(got_at, got)?;
        self.mem
            .write_u64(more_at, u64::from(rx_count > 0 && got == rx_count))?;
        let ret = if got == 0 { result::AGAIN } else { result::OK };
        self.mem.write_i32(ret_at, ret)?;
        Ok(())
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
        write_frame(f, self.mem.slice(data, len)?)?;
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
        match read_frame(f, self.mem.slice_mut(data, len)?)? {
            Some(n) => {
                self.mem.write_u64(len_at, n as u64)?;
                self.mem.write_i32(ret_at, result::OK)?;
            }
            None => self.mem.write_i32(ret_at, result::AGAIN)?,
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

/// One frame to the TAP, for NET_WRITE and the batched exchange alike: a host write
/// error or a short write is fatal (a TAP takes a frame whole or not at all).
fn write_frame(f: &File, frame: &[u8]) -> Result<(), Fatal> {
    match (&*f).write(frame) {
        Ok(n) if n == frame.len() => Ok(()),
        Ok(n) => Err(Fatal::HostIo(format!(
            "Fatal error: net write: short write ({n} of {} bytes)",
            frame.len()
        ))),
        Err(e) => Err(io_fatal("net write", e)),
    }
}

/// One frame from the TAP into `buf`: its length, or `None` when none is waiting; any
/// other host error is fatal.
fn read_frame(f: &File, buf: &mut [u8]) -> Result<Option<usize>, Fatal> {
    match (&*f).read(buf) {
        Ok(n) => Ok(Some(n)),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(io_fatal("net read", e)),
    }
}

impl Hypercalls for Services {
    fn hypercall(&mut self, nr: u32, gpa: u64) -> Result<Option<i32>, Fatal> {
        stats::count_hypercall(nr);
        let h = Hypercall::from_nr(nr).ok_or(Fatal::UnknownHypercall(nr))?;
        let registered = match h {
            Hypercall::NetRead | Hypercall::NetWrite => self.has_net,
            Hypercall::BlockRead | Hypercall::BlockWrite => self.has_block,
            Hypercall::NetExchange => self.batch,
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
            Hypercall::NetExchange => self.net_exchange(gpa)?,
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
    use std::time::Duration;

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

    const IOV: u64 = 0x28_0000;
    const TX_IOV: u64 = 0x29_0000;
    const NR: u32 = Hypercall::NetExchange as u32;

    /// Fills `n` receive entries at IOV, each a 2 KiB slot in BUF.
    fn read_iov(s: &mut Services, n: u64) {
        for i in 0..n {
            put(s, IOV + 16 * i, &[BUF + 2048 * i, 1514]);
        }
    }

    /// An exchange's argument: send `tx` entries at TX_IOV, receive into `rx` at IOV,
    /// wait `timeout` ns; `more` and `ret` preset to garbage.
    fn exchange(s: &mut Services, handle: u64, tx: u64, rx: u64, timeout: u64) {
        put(s, ARG, &[handle, TX_IOV, tx, IOV, rx, timeout, 9, 99]);
    }

    fn got(s: &Services) -> u64 {
        s.mem.read_u64(ARG + 32).unwrap()
    }

    fn more(s: &Services) -> u64 {
        s.mem.read_u64(ARG + 48).unwrap()
    }

    #[test]
    fn the_exchange_exists_only_when_offered() {
        let (f, _peer) = net_pair();
        let mut s = Services::new(mem(), vec![Device::None, Device::Net(f)]);
        assert_eq!(s.hypercall(NR, ARG), Err(Fatal::UnknownHypercall(NR)));
        // Solo5's tenders leave the announcement page zero.
        assert_eq!(s.mem.slice(batch::INFO_BASE, 16).unwrap(), &[0u8; 16]);
        assert_eq!(s.offer_batch(Duration::ZERO), Ok(true));
        let b = s.mem.slice(batch::INFO_BASE, 16).unwrap();
        assert_eq!(&b[..8], b"HVTBATCH");
        assert_eq!(
            u32::from_le_bytes([b[8], b[9], b[10], b[11]]),
            batch::VERSION
        );
        assert_eq!(
            u32::from_le_bytes([b[12], b[13], b[14], b[15]]),
            batch::MAX_FRAMES
        );
        // Without a net device there is nothing to offer.
        let mut none = Services::new(mem(), vec![Device::None]);
        assert_eq!(none.offer_batch(Duration::ZERO), Ok(false));
        assert_eq!(none.hypercall(NR, ARG), Err(Fatal::UnknownHypercall(NR)));
    }

    #[test]
    fn an_exchange_sends_then_receives_several_frames() {
        let (f, peer) = net_pair();
        let mut s = Services::new(mem(), vec![Device::None, Device::Net(f)]);
        s.offer_batch(Duration::ZERO).unwrap();
        // Nothing waiting, no wait: AGAIN at once, no frames, no more.
        read_iov(&mut s, 4);
        exchange(&mut s, 1, 0, 4, 0);
        assert_eq!(s.hypercall(NR, ARG), Ok(None));
        assert_eq!(ret(&s, ARG + 56), result::AGAIN);
        assert_eq!((got(&s), more(&s)), (0, 0));
        // Three waiting, four slots: all three, lengths in the entries, the device dry.
        for f in [&b"one"[..], b"second", b"3"] {
            peer.send(f).unwrap();
        }
        exchange(&mut s, 1, 0, 4, 0);
        assert_eq!(s.hypercall(NR, ARG), Ok(None));
        assert_eq!(ret(&s, ARG + 56), result::OK);
        assert_eq!((got(&s), more(&s)), (3, 0));
        assert_eq!(s.mem.read_u64(IOV + 8).unwrap(), 3);
        assert_eq!(s.mem.read_u64(IOV + 16 + 8).unwrap(), 6);
        assert_eq!(s.mem.slice(BUF + 2048, 6).unwrap(), b"second");
        assert_eq!(s.mem.slice(BUF + 4096, 1).unwrap(), b"3");
        // Three waiting, two slots: two, and `more` says look again.
        for f in [&b"a"[..], b"b", b"c"] {
            peer.send(f).unwrap();
        }
        read_iov(&mut s, 2);
        exchange(&mut s, 1, 0, 2, 0);
        assert_eq!(s.hypercall(NR, ARG), Ok(None));
        assert_eq!((got(&s), more(&s)), (2, 1));
        // Two frames out and the one left in, in one call.
        s.mem
            .slice_mut(0x31_0000, 2)
            .unwrap()
            .copy_from_slice(b"r1");
        s.mem
            .slice_mut(0x31_1000, 3)
            .unwrap()
            .copy_from_slice(b"r22");
        put(&mut s, TX_IOV, &[0x31_0000, 2, 0x31_1000, 3]);
        read_iov(&mut s, 4);
        exchange(&mut s, 1, 2, 4, 0);
        assert_eq!(s.hypercall(NR, ARG), Ok(None));
        assert_eq!(ret(&s, ARG + 56), result::OK);
        assert_eq!((got(&s), more(&s)), (1, 0));
        assert_eq!(s.mem.slice(BUF, 1).unwrap(), b"c");
        let mut buf = [0u8; 16];
        assert_eq!(peer.recv(&mut buf).unwrap(), 2);
        assert_eq!(&buf[..2], b"r1");
        assert_eq!(peer.recv(&mut buf).unwrap(), 3);
        assert_eq!(&buf[..3], b"r22");
        // Send only (no receive buffers): sent, AGAIN, more 0.
        put(&mut s, TX_IOV, &[0x31_0000, 2]);
        exchange(&mut s, 1, 1, 0, 0);
        assert_eq!(s.hypercall(NR, ARG), Ok(None));
        assert_eq!(ret(&s, ARG + 56), result::AGAIN);
        assert_eq!((got(&s), more(&s)), (0, 0));
        assert_eq!(peer.recv(&mut buf).unwrap(), 2);
    }

    #[test]
    fn an_idle_exchange_waits_like_poll_and_returns_the_frame() {
        let (f, peer) = net_pair();
        let mut s = Services::new(mem(), vec![Device::None, Device::Net(f)]);
        s.offer_batch(Duration::ZERO).unwrap();
        read_iov(&mut s, 4);
        // Nothing comes: the wait times out.
        let t = Instant::now();
        exchange(&mut s, 1, 0, 4, 30_000_000);
        assert_eq!(s.hypercall(NR, ARG), Ok(None));
        assert_eq!(ret(&s, ARG + 56), result::AGAIN);
        assert!(
            t.elapsed() >= Duration::from_millis(25),
            "{:?}",
            t.elapsed()
        );
        // A frame 20 ms into a 10 s wait ends it, and comes back in the same call.
        let late = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            peer.send(b"woke").unwrap();
            peer
        });
        let t = Instant::now();
        exchange(&mut s, 1, 0, 4, 10_000_000_000);
        assert_eq!(s.hypercall(NR, ARG), Ok(None));
        assert_eq!(ret(&s, ARG + 56), result::OK);
        assert_eq!(got(&s), 1);
        assert_eq!(s.mem.slice(BUF, 4).unwrap(), b"woke");
        assert!(t.elapsed() < Duration::from_secs(5));
        drop(late.join().unwrap());
    }

    #[test]
    fn an_exchange_lingers_for_the_rest_of_a_burst_only_with_frames_in_hand() {
        let (f, peer) = net_pair();
        let mut s = Services::new(mem(), vec![Device::None, Device::Net(f)]);
        s.offer_batch(Duration::from_millis(500)).unwrap();
        read_iov(&mut s, 4);
        // Nothing waiting and no wait asked for: no linger, AGAIN at once.
        let t = Instant::now();
        exchange(&mut s, 1, 0, 4, 0);
        assert_eq!(s.hypercall(NR, ARG), Ok(None));
        assert_eq!(ret(&s, ARG + 56), result::AGAIN);
        assert!(t.elapsed() < Duration::from_millis(100));
        // One now, one 20 ms later: both in one call.
        peer.send(b"first").unwrap();
        let late = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            peer.send(b"second").unwrap();
            peer
        });
        exchange(&mut s, 1, 0, 4, 0);
        assert_eq!(s.hypercall(NR, ARG), Ok(None));
        assert_eq!(got(&s), 2);
        let peer = late.join().unwrap();
        // The linger is bounded: one frame and silence returns after about 500 ms.
        peer.send(b"alone").unwrap();
        let t = Instant::now();
        exchange(&mut s, 1, 0, 4, 0);
        assert_eq!(s.hypercall(NR, ARG), Ok(None));
        assert_eq!(got(&s), 1);
        let waited = t.elapsed();
        assert!(
            waited >= Duration::from_millis(400) && waited < Duration::from_secs(5),
            "{waited:?}"
        );
    }

    #[test]
    fn an_exchange_checks_handle_counts_and_every_pointer() {
        let (f, peer) = net_pair();
        let mut s = Services::new(mem(), vec![Device::None, Device::Net(f)]);
        s.offer_batch(Duration::ZERO).unwrap();
        read_iov(&mut s, 2);
        put(&mut s, TX_IOV, &[BUF, 4]);
        for (h, tx, rx) in [
            (0, 1, 1),
            (2, 1, 1),
            (u64::MAX, 0, 1),
            (1, 65, 1),
            (1, 1, 65),
            (1, u64::MAX, 0),
            (1, 0, u64::MAX),
        ] {
            exchange(&mut s, h, tx, rx, 0);
            assert_eq!(s.hypercall(NR, ARG), Ok(None), "{h} {tx} {rx}");
            assert_eq!(ret(&s, ARG + 56), result::EINVAL, "{h} {tx} {rx}");
        }
        // Nothing was sent by any of the refused calls.
        let mut buf = [0u8; 8];
        peer.set_nonblocking(true).unwrap();
        assert!(peer.recv(&mut buf).is_err());
        peer.set_nonblocking(false).unwrap();
        // An array running past the end of memory is fatal before any entry is used.
        put(&mut s, ARG, &[1, (4 << 20) - 16, 2, IOV, 0, 0, 0, 0]);
        assert!(matches!(s.hypercall(NR, ARG), Err(Fatal::Guest(_))));
        // So is an entry whose buffer does.
        put(&mut s, IOV, &[(4 << 20) - 100, 1514]);
        peer.send(b"x").unwrap();
        exchange(&mut s, 1, 0, 1, 0);
        assert!(matches!(s.hypercall(NR, ARG), Err(Fatal::Guest(_))));
        put(&mut s, TX_IOV, &[(4 << 20) - 100, 1514]);
        exchange(&mut s, 1, 1, 0, 0);
        assert!(matches!(s.hypercall(NR, ARG), Err(Fatal::Guest(_))));
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

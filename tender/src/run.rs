//! The tender's main sequence, in `solo5-hvt`'s order: read and check the image, attach
//! devices named by the manifest, create the VM, load the image, set up the vCPU and boot
//! info, then run the vCPU until the guest halts.

use std::fs;

use kvm_bindings::{KVM_EXIT_INTERNAL_ERROR, kvm_userspace_memory_region};
use kvm_ioctls::{Kvm, VcpuExit, VcpuFd, VmFd};

use hvt_abi::mft;

use crate::arch::{self, Cpu, Host};
use crate::block::{self, DEFAULT_BLOCK_SIZE};
use crate::bootinfo;
use crate::cli::{self, CliError, Command, Options};
use crate::elf;
use crate::exit::{Action, Exit, handle_exit};
use crate::hypercall::{Device, Services};
use crate::manifest::Manifest;
use crate::mem::GuestMem;
use crate::net;
use crate::stats;

/// Runs the tender with the arguments after the program name; returns the exit status.
pub fn main(prog: &str, args: &[String]) -> i32 {
    match cli::parse(args) {
        Ok(Command::Help) => {
            eprint!("{}", cli::usage(prog));
            1
        }
        Ok(Command::Version) => {
            eprint!("{}", cli::version(prog));
            0
        }
        Err(e) => {
            eprint_lines(prog, &e.to_string());
            if matches!(
                e,
                CliError::Invalid(_) | CliError::MissingKernel | CliError::BadBlockSize(_)
            ) {
                eprint!("{}", cli::usage(prog));
            }
            1
        }
        Ok(Command::Run(o)) => {
            if o.trace_hypercalls || std::env::var_os("TENDER_STATS").is_some_and(|v| v == "1") {
                stats::enable();
            }
            match run(prog, &o) {
                Ok(status) => {
                    stats::report();
                    status
                }
                Err(Failure::Usage(msg)) => {
                    eprint_lines(prog, &msg);
                    eprint!("{}", cli::usage(prog));
                    1
                }
                Err(Failure::Fatal(msg)) => {
                    eprint_lines(prog, &msg);
                    stats::report();
                    1
                }
            }
        }
    }
}

/// Prints each line of `msg` to stderr as "PROG: line", like err(3) would.
fn eprint_lines(prog: &str, msg: &str) {
    let mut out = String::new();
    for line in msg.lines() {
        out.push_str(prog);
        out.push_str(": ");
        out.push_str(line);
        out.push('\n');
    }
    crate::write_stderr(out.as_bytes());
}

enum Failure {
    /// A command-line problem found once the manifest is known: usage follows.
    Usage(String),
    Fatal(String),
}

impl From<&str> for Failure {
    fn from(s: &str) -> Failure {
        Failure::Fatal(s.to_string())
    }
}

impl From<String> for Failure {
    fn from(s: String) -> Failure {
        Failure::Fatal(s)
    }
}

/// The VM. Field order is drop order: the vCPU and VM go before guest memory.
struct Machine {
    vcpu: VcpuFd,
    _vm: VmFd,
    _kvm: Kvm,
    services: Services,
}

/// Attaches the devices the options name to the manifest entries; returns the device
/// table (indexed by handle).
fn attach_devices(o: &Options, m: &mut Manifest) -> Result<Vec<Device>, Failure> {
    let mut devices: Vec<Device> = m.entries.iter().map(|_| Device::None).collect();
    let undeclared = |name: &str, opt: String| {
        Failure::Usage(format!(
            "Resource not declared in manifest: '{name}'\n{}",
            CliError::Invalid(opt)
        ))
    };
    for (name, iface) in &o.nets {
        let i = m
            .find(name, mft::TYPE_NET_BASIC)
            .ok_or_else(|| undeclared(name, format!("--net:{name}={iface}")))?;
        if !matches!(devices[i], Device::None) {
            return Err(Failure::Usage(format!("Device '{name}' attached twice")));
        }
        let tap =
            net::attach(iface).map_err(|e| format!("Could not attach interface: {iface}: {e}"))?;
        let e = &mut m.entries[i];
        let mac = e.net_mac();
        e.set_net(mac, tap.mtu);
        e.hostfd = std::os::fd::AsRawFd::as_raw_fd(&tap.file) as u64;
        e.attached = 1;
        devices[i] = Device::Net(tap.file);
    }
    for (name, mac) in &o.macs {
        let i = m.find(name, mft::TYPE_NET_BASIC).ok_or_else(|| {
            let s = mac.map(|b| format!("{b:02x}")).join(":");
            undeclared(name, format!("--net-mac:{name}={s}"))
        })?;
        let mtu = m.entries[i].net_mtu();
        m.entries[i].set_net(*mac, mtu);
    }
    for (name, bs) in &o.sector_sizes {
        if m.find(name, mft::TYPE_BLOCK_BASIC).is_none() {
            return Err(undeclared(name, format!("--block-sector-size:{name}={bs}")));
        }
    }
    for (name, path) in &o.blocks {
        let i = m
            .find(name, mft::TYPE_BLOCK_BASIC)
            .ok_or_else(|| undeclared(name, format!("--block:{name}={path}")))?;
        if !matches!(devices[i], Device::None) {
            return Err(Failure::Usage(format!("Device '{name}' attached twice")));
        }
        let bs = o
            .sector_sizes
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map_or(DEFAULT_BLOCK_SIZE, |(_, b)| *b);
        let b = block::attach(name, path, bs)?;
        let e = &mut m.entries[i];
        e.set_block(b.capacity, b.block_size);
        e.hostfd = std::os::fd::AsRawFd::as_raw_fd(&b.file) as u64;
        e.attached = 1;
        devices[i] = Device::Block(b);
    }
    // A NET device without --net-mac gets a random locally administered MAC.
    for e in m.entries.iter_mut() {
        if e.kind == mft::TYPE_NET_BASIC && e.attached != 0 && e.net_mac() == [0; 6] {
            let mac = net::random_mac().map_err(|e| format!("Could not read /dev/urandom: {e}"))?;
            let mtu = e.net_mtu();
            e.set_net(mac, mtu);
        }
    }
    let missing = m.unattached();
    if !missing.is_empty() {
        return Err(Failure::Fatal(format!(
            "{}\nAll declared devices must be attached. See --help for syntax.",
            missing.join("\n")
        )));
    }
    Ok(devices)
}

fn open_kvm() -> Result<Kvm, String> {
    let kvm = Kvm::new().map_err(|e| match e.errno() {
        libc::ENOENT | libc::ENODEV | libc::ENXIO => {
            "Cannot open /dev/kvm: no such device (is KVM available on this host?)".to_string()
        }
        libc::EACCES | libc::EPERM => "Cannot open /dev/kvm: permission denied (run as \
                                       root or join the group that owns /dev/kvm)"
            .to_string(),
        _ => format!("Cannot open /dev/kvm: {e}"),
    })?;
    match kvm.get_api_version() {
        12 => Ok(kvm),
        v => Err(format!(
            "/dev/kvm is not a usable KVM device (KVM_GET_API_VERSION gave {v}, expected 12)"
        )),
    }
}

fn load_image(mem: &mut GuestMem, image: &[u8], plan: &elf::LoadPlan) -> Result<(), String> {
    for s in &plan.segments {
        let src = usize::try_from(s.offset)
            .ok()
            .zip(usize::try_from(s.filesz).ok())
            .and_then(|(o, n)| image.get(o..o.checked_add(n)?))
            .ok_or("segment outside the file")?;
        mem.setup_slice_mut(s.vaddr, s.filesz)
            .map_err(|e| e.to_string())?
            .copy_from_slice(src);
        mem.setup_slice_mut(s.vaddr + s.filesz, s.memsz - s.filesz)
            .map_err(|e| e.to_string())?
            .fill(0);
        mem.protect(s.start, s.end, s.readable, s.writable)
            .map_err(|e| format!("mprotect failed: {e}"))?;
    }
    Ok(())
}

fn run(prog: &str, o: &Options) -> Result<i32, Failure> {
    let kernel = &o.kernel;
    let image = fs::read(kernel).map_err(|e| format!("{kernel}: Could not open: {e}"))?;
    let inspected =
        elf::inspect(&image, Host::ELF_MACHINE).map_err(|e| format!("{kernel}: {e}"))?;
    let mut manifest = inspected.manifest;
    let devices = attach_devices(o, &mut manifest)?;
    let cmdline = bootinfo::cmdline(&o.guest_args).map_err(|e| e.to_string())?;

    crate::install_signal_handlers()
        .map_err(|e| format!("Could not install signal handler: {e}"))?;

    let requested = o
        .mem_mib
        .checked_mul(1 << 20)
        .ok_or("Malformed argument to --mem")?;
    let (mem_size, adjusted) = arch::guest_mem_size(requested, Host::MAX_MEM)?;
    if adjusted {
        eprintln!("{prog}: adjusting memory to {mem_size} bytes");
    }

    let kvm = open_kvm()?;
    let vm = kvm
        .create_vm()
        .map_err(|e| format!("KVM: ioctl (CREATE_VM) failed: {e}"))?;
    let mut mem =
        GuestMem::new(mem_size).map_err(|e| format!("Error allocating guest memory: {e}"))?;
    let region = kvm_userspace_memory_region {
        slot: 0,
        guest_phys_addr: 0,
        memory_size: mem_size,
        userspace_addr: mem.host_addr(),
        flags: 0,
    };
    // SAFETY: the region is `mem`'s mapping, exactly `mem_size` bytes. `Machine` keeps
    // `mem` (inside `services`) alive until after the VM and vCPU fds are closed.
    unsafe { vm.set_user_memory_region(region) }
        .map_err(|e| format!("KVM: ioctl (SET_USER_MEMORY_REGION) failed: {e}"))?;

    let plan = elf::plan_load(&image, &inspected.header, mem_size)
        .map_err(|e| format!("{kernel}: {e}"))?;
    load_image(&mut mem, &image, &plan).map_err(|e| format!("{kernel}: {e}"))?;
    drop(image);

    let vcpu = vm
        .create_vcpu(0)
        .map_err(|e| format!("KVM: ioctl (CREATE_VCPU) failed: {e}"))?;
    Host::setup_memory(&mut mem).map_err(|e| e.to_string())?;
    let freq = Host::setup_vcpu(&kvm, &vm, &vcpu, &mut mem, plan.entry, mem_size)?;
    bootinfo::write(
        &mut mem,
        plan.kernel_end,
        freq,
        &manifest.to_bytes(),
        &cmdline,
    )
    .map_err(|e| e.to_string())?;

    let mut services = Services::new(mem, devices);
    // The batched net hypercalls (several frames per exit), unless turned off for a
    // comparison with the plain ABI.
    if std::env::var_os("TENDER_NO_BATCH").is_none_or(|v| v != "1") {
        services
            .offer_batch(batch_linger()?)
            .map_err(|e| e.to_string())?;
        // The linger and POLL's timeouts are tens of µs: without this the kernel may
        // add its default 50 µs of timer slack to each.
        // SAFETY: PR_SET_TIMERSLACK takes integer arguments only.
        unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1, 0, 0, 0) };
    }
    let mut m = Machine {
        vcpu,
        _vm: vm,
        _kvm: kvm,
        services,
    };
    crate::sandbox::apply(Host::AUDIT_ARCH)?;
    run_vcpu(&mut m).map_err(Failure::Fatal)
}

/// Default of `TENDER_BATCH_LINGER_US`: off. With NET_EXCHANGE a round trip is one exit
/// already, and waiting for stragglers cost more latency than it saved exits (dnsperf at
/// 16 clients: 36 k qps without, 28 k with 40 µs, same run conditions).
const BATCH_LINGER_US: u64 = 0;

/// How long a NET_READV waits for the rest of a burst (`TENDER_BATCH_LINGER_US`,
/// 0 ..= 1000 µs; default [`BATCH_LINGER_US`]).
fn batch_linger() -> Result<std::time::Duration, String> {
    let us = match std::env::var("TENDER_BATCH_LINGER_US") {
        Err(_) => BATCH_LINGER_US,
        Ok(v) => v
            .parse::<u64>()
            .ok()
            .filter(|n| *n <= 1000)
            .ok_or_else(|| {
                format!("TENDER_BATCH_LINGER_US={v}: expected microseconds, 0 to 1000")
            })?,
    };
    Ok(std::time::Duration::from_micros(us))
}

/// Copies a `KVM_RUN` result into an [`Exit`].
fn exit_of(vcpu: &mut VcpuFd) -> Result<Exit, String> {
    let le32 = |d: &[u8]| {
        let mut b = [0u8; 4];
        for (dst, src) in b.iter_mut().zip(d) {
            *dst = *src;
        }
        u32::from_le_bytes(b)
    };
    let exit = match vcpu.run() {
        Ok(VcpuExit::IoOut(port, d)) => Exit::IoOut {
            port,
            size: d.len().min(255) as u8,
            value: le32(d),
        },
        Ok(VcpuExit::IoIn(port, d)) => Exit::IoIn {
            port,
            size: d.len().min(255) as u8,
        },
        Ok(VcpuExit::MmioWrite(addr, d)) => Exit::Mmio {
            addr,
            len: d.len().min(255) as u8,
            write: true,
            value: le32(d),
        },
        Ok(VcpuExit::MmioRead(addr, d)) => Exit::Mmio {
            addr,
            len: d.len().min(255) as u8,
            write: false,
            value: 0,
        },
        Ok(VcpuExit::Hlt) => Exit::Hlt,
        Ok(VcpuExit::Shutdown) => Exit::Shutdown,
        Ok(VcpuExit::Intr) => Exit::Intr,
        Ok(VcpuExit::FailEntry(reason, _)) => Exit::FailEntry { reason },
        Ok(VcpuExit::InternalError) => Exit::InternalError { suberror: 0 },
        Ok(VcpuExit::SystemEvent(kind, _)) => Exit::SystemEvent { kind },
        Ok(VcpuExit::MemoryFault { gpa, size, .. }) => Exit::MemoryFault { gpa, size },
        Ok(_) => Exit::Other { reason: 0 },
        Err(e) if e.errno() == libc::EINTR || e.errno() == libc::EAGAIN => Exit::Intr,
        Err(e) if e.errno() == libc::EFAULT => Exit::TranslationFault,
        Err(e) => return Err(format!("KVM: ioctl (RUN) failed: {e}")),
    };
    // Details kvm-ioctls does not pass on, read from `kvm_run` itself.
    let run = vcpu.get_kvm_run();
    Ok(match exit {
        Exit::Other { .. } => Exit::Other {
            reason: run.exit_reason,
        },
        Exit::InternalError { .. } if run.exit_reason == KVM_EXIT_INTERNAL_ERROR => {
            // SAFETY: exit_reason is KVM_EXIT_INTERNAL_ERROR, so the kernel filled the
            // `internal` member of the exit union; reading a u32 from it is sound.
            let suberror = unsafe { run.__bindgen_anon_1.internal.suberror };
            Exit::InternalError { suberror }
        }
        other => other,
    })
}

fn run_vcpu(m: &mut Machine) -> Result<i32, String> {
    loop {
        let exit = exit_of(&mut m.vcpu)?;
        stats::count_exit();
        match handle_exit(&exit, Host::decode, &mut m.services) {
            Action::Continue => {}
            Action::Halt(status) => return Ok(status),
            Action::Fatal(f) => {
                let f = f.refine(m.services.mem.size());
                let mut msg = f.to_string();
                if f.wants_registers() {
                    msg.push('\n');
                    msg.push_str(&Host::dump_regs(&m.vcpu));
                }
                return Err(msg);
            }
        }
    }
}

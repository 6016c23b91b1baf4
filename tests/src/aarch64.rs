//! The aarch64 image booted for real: an emulated arm64 machine (QEMU TCG with EL2, so its
//! Debian kernel offers `/dev/kvm`) runs the aarch64 tender, which boots the aarch64
//! `resolver.hvt` on a TAP inside that machine. Used by `cargo xtask test-aarch64` and by
//! `tests/tests/aarch64.rs`.
//!
//! The host side fetches Debian's arm64 kernel (`linux-image-cloud-arm64`) and
//! `busybox-static` as packages with a private APT configuration (the machine's own apt
//! setup is not touched), builds an initramfs (newc cpio, written here) holding busybox,
//! the kernel's `tun.ko`, the tender, the image and `stub-dns` (this crate's one-zone DNS
//! server, cross-built), and boots it. Its `/init` ([`INIT`]) does the test inside and ends
//! with one line, [`PASS`] or [`FAIL`] plus the reason, on the serial console; the host
//! reads that line. Inside, the unikernel serves (ping, a lookup forwarded to `stub-dns`),
//! then faults and panics on purpose (`--selftest=`), each of which must be reported and
//! end with status 255. Every wait is bounded, inside and outside; on a failure or a hang the
//! console tail is part of the error.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use crate::{Result, run_checked};

/// The line `/init` prints when every check passed.
pub const PASS: &str = "E2E-AARCH64: PASS";
/// The start of the line `/init` prints when a check failed; the reason follows.
pub const FAIL: &str = "E2E-AARCH64: FAIL";

/// How long the whole emulated machine may run: boot, both unikernel runs, power-off.
/// Measured about 11 s on the CI machine; the rest is margin for a loaded machine.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// What is booted.
#[derive(Debug, Clone)]
pub struct Artifacts {
    /// The static aarch64 tender (`dist/aarch64/tender`).
    pub tender: PathBuf,
    /// The aarch64 unikernel (`dist/aarch64/resolver.hvt`).
    pub image: PathBuf,
    /// `stub-dns` built for aarch64 Linux (`dist/aarch64/stub-dns`).
    pub stub_dns: PathBuf,
}

impl Artifacts {
    /// The paths from `E2E_AARCH64_TENDER`, `E2E_AARCH64_IMAGE` and `E2E_AARCH64_STUB_DNS`
    /// (set by `cargo xtask test`), else `dist/aarch64/…`. Fails naming what is missing.
    pub fn from_env() -> Result<Artifacts> {
        let get = |env: &str, file: &str| -> Result<PathBuf> {
            let p = std::env::var_os(env).map_or_else(
                || crate::workspace_root().join("dist/aarch64").join(file),
                PathBuf::from,
            );
            if p.is_file() {
                Ok(p)
            } else {
                Err(format!(
                    "{} is missing: build it first (`cargo xtask test-aarch64` or `cargo \
                     xtask test` do), or set {env}",
                    p.display()
                ))
            }
        };
        Ok(Artifacts {
            tender: get("E2E_AARCH64_TENDER", "tender")?,
            image: get("E2E_AARCH64_IMAGE", "resolver.hvt")?,
            stub_dns: get("E2E_AARCH64_STUB_DNS", "stub-dns")?,
        })
    }
}

/// What a passing run measured.
#[derive(Debug, Clone)]
pub struct Report {
    /// Host time from starting QEMU to the first line of `/init`.
    pub machine_boot: Duration,
    /// Emulated machine: starting the tender to the unikernel's `ready:` line, then to
    /// its first answer to ping (each measured in the machine, 10 ms resolution).
    pub boot_to_ready: Duration,
    pub boot_to_ping: Duration,
    /// The tender's `TENDER_STATS=1` line of the serving run.
    pub hypercalls: String,
    /// Host time of the whole run, power-off included.
    pub total: Duration,
    /// The whole serial console.
    pub console: String,
    /// Where the console was saved.
    pub log: PathBuf,
}

/// The cache of fetched packages, the initramfs and the console log: `target/aarch64-vm`.
pub fn cache_dir() -> PathBuf {
    crate::workspace_root().join("target").join("aarch64-vm")
}

/// Fetches what is missing, builds the initramfs and boots it; `Ok` only on a [`PASS`].
/// `label` names this run's initramfs and console log (`target/aarch64-vm/console-LABEL.log`),
/// so that runs in parallel keep theirs apart.
pub fn run(art: &Artifacts, label: &str, timeout: Duration) -> Result<Report> {
    crate::packages::require(&["qemu-system-aarch64"])?;
    let cache = cache_dir();
    let guest = {
        static FETCH: Mutex<()> = Mutex::new(());
        let _one_at_a_time = FETCH.lock().unwrap_or_else(|e| e.into_inner());
        fetch_guest(&cache)?
    };
    let initrd = cache.join(format!("initrd-{label}.cpio"));
    write_initramfs(&initrd, &guest, art)?;
    let log = cache.join(format!("console-{label}.log"));
    let result = boot(&guest.kernel, &initrd, &log, label, timeout);
    let _ = fs::remove_file(&initrd);
    result
}

/// Files taken from Debian's arm64 packages.
#[derive(Debug, Clone)]
pub struct GuestFiles {
    pub kernel: PathBuf,
    pub busybox: PathBuf,
    pub tun_ko: PathBuf,
}

/// Debian's arm64 kernel, busybox and `tun.ko` (the cloud kernel has TUN as a module),
/// downloaded once into `cache/guest` with a private APT configuration that lists only
/// arm64: no `dpkg --add-architecture`, nothing installed.
pub fn fetch_guest(cache: &Path) -> Result<GuestFiles> {
    let dir = cache.join("guest");
    let files = GuestFiles {
        kernel: dir.join("vmlinuz"),
        busybox: dir.join("busybox"),
        tun_ko: dir.join("tun.ko"),
    };
    if files.kernel.is_file() && files.busybox.is_file() && files.tun_ko.is_file() {
        return Ok(files);
    }
    let apt = cache.join("apt");
    for d in ["state/lists/partial", "cache/archives/partial", "debs"] {
        fs::create_dir_all(apt.join(d)).map_err(|e| format!("{}: {e}", apt.display()))?;
    }
    let conf = apt.join("apt.conf");
    let status = apt.join("status");
    let text = format!(
        "APT::Architecture \"arm64\";\nAPT::Architectures {{ \"arm64\"; }};\n\
         Dir::State \"{0}/state\";\nDir::State::status \"{1}\";\nDir::Cache \"{0}/cache\";\n\
         APT::Sandbox::User \"root\";\n",
        apt.display(),
        status.display()
    );
    fs::write(&conf, text).map_err(|e| format!("{}: {e}", conf.display()))?;
    fs::write(&status, "").map_err(|e| format!("{}: {e}", status.display()))?;
    let apt_cmd = |program: &str| {
        let mut c = Command::new(program);
        c.env("APT_CONFIG", &conf)
            .env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    eprintln!("aarch64: fetching Debian arm64 package lists (private APT config)");
    run_checked(apt_cmd("apt-get").args(["update", "-qq"]))?;
    // The metapackage names the current kernel package.
    let out = apt_cmd("apt-cache")
        .args(["depends", "linux-image-cloud-arm64"])
        .output()
        .map_err(|e| format!("cannot run apt-cache: {e}"))?;
    let deps = String::from_utf8_lossy(&out.stdout);
    let kernel_pkg = deps
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Depends: "))
        .find(|p| p.starts_with("linux-image-"))
        .map(|p| p.trim_end_matches(":arm64").to_string())
        .ok_or_else(|| {
            format!("apt-cache depends linux-image-cloud-arm64 named no kernel: {deps}")
        })?;
    let debs = apt.join("debs");
    // Only this run's packages (an older kernel left behind would be picked up too).
    let _ = fs::remove_dir_all(&debs);
    fs::create_dir_all(&debs).map_err(|e| format!("{}: {e}", debs.display()))?;
    eprintln!("aarch64: downloading {kernel_pkg} and busybox-static (arm64)");
    run_checked(apt_cmd("apt-get").current_dir(&debs).args([
        "download",
        "-qq",
        &kernel_pkg,
        "busybox-static",
    ]))?;
    let root = apt.join("root");
    let _ = fs::remove_dir_all(&root);
    for deb in fs::read_dir(&debs).map_err(|e| format!("{}: {e}", debs.display()))? {
        let deb = deb.map_err(|e| e.to_string())?.path();
        if deb.extension().is_some_and(|e| e == "deb") {
            run_checked(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root))?;
        }
    }
    let find = |dir: &Path, pred: &dyn Fn(&str) -> bool| -> Option<PathBuf> {
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).ok()?.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.file_name().and_then(|n| n.to_str()).is_some_and(pred) {
                    return Some(p);
                }
            }
        }
        None
    };
    let kernel = find(&root.join("boot"), &|n| n.starts_with("vmlinuz-"))
        .ok_or(format!("{kernel_pkg} holds no /boot/vmlinuz-*"))?;
    let tun = find(&root.join("lib/modules"), &|n| n == "tun.ko").ok_or(format!(
        "{kernel_pkg} holds no tun.ko (compressed modules?)"
    ))?;
    let busybox = root.join("bin/busybox");
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (from, to) in [
        (&kernel, &files.kernel),
        (&tun, &files.tun_ko),
        (&busybox, &files.busybox),
    ] {
        fs::copy(from, to).map_err(|e| format!("copying {}: {e}", from.display()))?;
    }
    let _ = fs::remove_dir_all(&root);
    Ok(files)
}

/// The emulated machine's `/init` (busybox sh). Every wait in it is bounded; each failure
/// prints the reason, the unikernel's console and the tender's counters.
pub const INIT: &str = r#"#!/bin/busybox sh
# /init of the emulated arm64 machine: written by tests/src/aarch64.rs, read that first.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
up() { cut -d' ' -f1 /proc/uptime; }
say() { echo "e2e-aarch64: $*"; }
# Centiseconds between two uptimes.
cs() { echo "$1 $2" | awk '{ printf "%d", ($2 - $1) * 100 + 0.5 }'; }
tp=
finish() {
    if [ -n "$tp" ] && kill -0 "$tp" 2>/dev/null; then kill -TERM "$tp"; wait "$tp"; fi
    sleep 1
    echo "$1"
    poweroff -f
}
fail() {
    say "unikernel console so far:"
    [ -f /tmp/guest.log ] && sed 's/^/guest| /' /tmp/guest.log
    finish "E2E-AARCH64: FAIL: $*"
}

say "init at $(up) s: kernel $(uname -r), $(nproc) cpus"
[ -c /dev/kvm ] || fail "no /dev/kvm in the emulated machine (QEMU needs virtualization=on)"
say "$(dmesg | grep -m1 -E 'VHE mode|Hyp mode')"
insmod /tun.ko || fail "insmod tun.ko failed"
tunctl -t tap0 >/dev/null || fail "tunctl -t tap0 failed"
ip link set lo up
ip link set tap0 up
ip addr add 10.0.0.1/24 dev tap0
/stub-dns 10.0.0.1:53 www.example.test=192.0.2.80 2>&1 | sed 's/^/upstream| /' &

# 1. Serve: boot the unikernel forwarding to stub-dns, ping it, ask it.
: > /tmp/guest.log
t0=$(up)
say "tender started at $t0 s"
TENDER_STATS=1 /tender --mem=64 --net:service=tap0 /resolver.hvt \
    --ipv4=10.0.0.2/24 --forward=10.0.0.1 >/tmp/guest.log 2>&1 &
tp=$!
i=0
until grep -q 'ready: serving DNS' /tmp/guest.log; do
    kill -0 $tp 2>/dev/null || { wait $tp; fail "the tender exited with status $? before the unikernel was ready"; }
    i=$((i + 1))
    [ $i -ge 1200 ] && fail "no 'ready: serving DNS' within 60 s of starting the tender"
    usleep 50000
done
t1=$(up)
i=0
until ping -c 1 -W 1 10.0.0.2 >/dev/null 2>&1; do
    kill -0 $tp 2>/dev/null || { wait $tp; fail "the tender exited with status $? before the unikernel answered ping"; }
    i=$((i + 1))
    [ $i -ge 30 ] && fail "no answer to ping from 10.0.0.2 within 30 tries"
done
t2=$(up)
say "boot-to-ready $(cs $t0 $t1) cs, boot-to-ping $(cs $t0 $t2) cs"
ping -c 3 -i 0.2 -W 2 10.0.0.2 | sed 's/^/ping| /'
timeout 30 nslookup www.example.test 10.0.0.2 >/tmp/ns.out 2>&1
sed 's/^/nslookup| /' /tmp/ns.out
grep -q '^Address: *192.0.2.80' /tmp/ns.out || fail "nslookup www.example.test through the unikernel gave no 192.0.2.80"
kill -TERM $tp
wait $tp
tp=
sed 's/^/guest| /' /tmp/guest.log
grep -q 'tender: hypercalls:' /tmp/guest.log || fail "the tender printed no hypercall counts"

# 2. Fault: the arm64 exception vectors must print the fault and halt with 255.
timeout 60 /tender --mem=64 --net:service=tap0 /resolver.hvt --ipv4=10.0.0.2/24 \
    --selftest=fault >/tmp/fault.log 2>&1
st=$?
sed 's/^/fault| /' /tmp/fault.log
[ $st -eq 255 ] || fail "--selftest=fault: tender exit status $st, expected 255 (abort)"
grep -q 'Solo5: trap: aarch64 synchronous exception.*data abort' /tmp/fault.log &&
    grep -q 'far=0x0000000000000008' /tmp/fault.log ||
    fail "--selftest=fault: no 'Solo5: trap:' data abort at 0x8 from the exception vectors"

# 3. Panic: a Rust panic must print its message and location and halt with 255.
timeout 60 /tender --mem=64 --net:service=tap0 /resolver.hvt --ipv4=10.0.0.2/24 \
    --selftest=panic >/tmp/panic.log 2>&1
st=$?
sed 's/^/panic| /' /tmp/panic.log
[ $st -eq 255 ] || fail "--selftest=panic: tender exit status $st, expected 255 (abort)"
grep -q 'selftest=panic: a deliberate panic' /tmp/panic.log && grep -q 'app.rs' /tmp/panic.log ||
    fail "--selftest=panic: the panic message or its location is missing"

finish "E2E-AARCH64: PASS"
"#;

/// Writes the initramfs: an uncompressed newc cpio (the kernel takes it as is).
pub fn write_initramfs(path: &Path, guest: &GuestFiles, art: &Artifacts) -> Result<()> {
    let read = |p: &Path| fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let mut cpio = Cpio::default();
    for d in ["bin", "dev", "proc", "sys", "tmp"] {
        cpio.dir(d);
    }
    cpio.char_dev("dev/console", 5, 1);
    cpio.file("init", 0o755, INIT.as_bytes());
    cpio.file("bin/busybox", 0o755, &read(&guest.busybox)?);
    cpio.file("tun.ko", 0o644, &read(&guest.tun_ko)?);
    cpio.file("tender", 0o755, &read(&art.tender)?);
    cpio.file("resolver.hvt", 0o644, &read(&art.image)?);
    cpio.file("stub-dns", 0o755, &read(&art.stub_dns)?);
    fs::write(path, cpio.finish()).map_err(|e| format!("{}: {e}", path.display()))
}

/// A newc ("070701") cpio archive, just the parts an initramfs needs.
#[derive(Default)]
pub struct Cpio {
    out: Vec<u8>,
    ino: u32,
}

impl Cpio {
    fn entry(&mut self, name: &str, mode: u32, rdev: (u32, u32), data: &[u8]) {
        self.ino += 1;
        let nlink = if mode & 0o170000 == 0o040000 { 2 } else { 1 };
        let fields = [
            self.ino,
            mode,
            0,
            0,
            nlink,
            0,
            data.len() as u32,
            0,
            0,
            rdev.0,
            rdev.1,
            name.len() as u32 + 1,
            0,
        ];
        self.out.extend_from_slice(b"070701");
        for f in fields {
            self.out.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(0);
        self.pad();
        self.out.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.out.len().is_multiple_of(4) {
            self.out.push(0);
        }
    }

    pub fn dir(&mut self, name: &str) {
        self.entry(name, 0o040755, (0, 0), &[]);
    }

    pub fn file(&mut self, name: &str, perm: u32, data: &[u8]) {
        self.entry(name, 0o100000 | perm, (0, 0), data);
    }

    pub fn char_dev(&mut self, name: &str, major: u32, minor: u32) {
        self.entry(name, 0o020600, (major, minor), &[]);
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, (0, 0), &[]);
        self.out
    }
}

/// The QEMU command line measured in `shared/aarch64-boot.md`: TCG with EL2
/// (`virtualization=on`) so the guest kernel has KVM, `pauth-impdef=on` because QEMU 7.2
/// emulates the architected pointer authentication slowly, and no NIC (the default one
/// wants a ROM that is not installed).
pub fn qemu_command(kernel: &Path, initrd: &Path) -> Command {
    let mut c = Command::new("qemu-system-aarch64");
    c.args([
        "-M",
        "virt,virtualization=on,gic-version=3",
        "-accel",
        "tcg",
        "-cpu",
        "max,pauth-impdef=on",
        "-m",
        "1024",
        "-smp",
        "2",
        "-nographic",
        "-no-reboot",
        "-nic",
        "none",
        "-kernel",
    ])
    .arg(kernel)
    .arg("-initrd")
    .arg(initrd)
    .args(["-append", "console=ttyAMA0 panic=-1 quiet"]);
    c
}

/// Boots the machine, copies the console to `log` and stderr, and waits (bounded) for
/// the verdict.
pub fn boot(
    kernel: &Path,
    initrd: &Path,
    log: &Path,
    label: &str,
    timeout: Duration,
) -> Result<Report> {
    let start = Instant::now();
    let mut child = qemu_command(kernel, initrd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start qemu-system-aarch64: {e}"))?;
    let (tx, rx) = mpsc::channel::<(Duration, String)>();
    for stream in [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).split(b'\n').map_while(|l| l.ok()) {
                let line = String::from_utf8_lossy(&line)
                    .trim_end_matches('\r')
                    .to_string();
                if tx.send((start.elapsed(), line)).is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);
    let mut file = fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let mut console = String::new();
    let mut machine_boot = None;
    let mut verdict: Option<std::result::Result<(), String>> = None;
    let deadline = start + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((at, line)) => {
                let _ = writeln!(file, "[{:7.2}] {line}", at.as_secs_f64());
                eprintln!("aarch64 {label} [{:6.2}s] {line}", at.as_secs_f64());
                if machine_boot.is_none() && line.starts_with("e2e-aarch64: init at") {
                    machine_boot = Some(at);
                }
                if line.trim() == PASS {
                    verdict = Some(Ok(()));
                } else if let Some(why) = line.strip_prefix(FAIL) {
                    verdict = Some(Err(why.trim_start_matches(':').trim().to_string()));
                }
                console.push_str(&line);
                console.push('\n');
            }
            // Both pipes closed: QEMU has exited.
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the emulated arm64 machine did not finish within {timeout:?} (killed); \
                     console tail ({}):\n{}",
                    log.display(),
                    tail(&console, 40)
                ));
            }
        }
    }
    // Output has ended; QEMU exits right after (-no-reboot), but never wait unbounded.
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let total = start.elapsed();
    match verdict {
        Some(Ok(())) => Ok(Report {
            machine_boot: machine_boot.unwrap_or_default(),
            boot_to_ready: centis(&console, "boot-to-ready "),
            boot_to_ping: centis(&console, "boot-to-ping "),
            hypercalls: console
                .lines()
                .find(|l| l.contains("tender: hypercalls:"))
                .map(|l| l.trim_start_matches("guest| ").to_string())
                .unwrap_or_default(),
            total,
            console,
            log: log.to_path_buf(),
        }),
        Some(Err(why)) => Err(format!(
            "aarch64 boot test FAILED: {why}\nconsole tail ({}):\n{}",
            log.display(),
            tail(&console, 60)
        )),
        None => Err(format!(
            "the emulated arm64 machine stopped ({}) without a PASS/FAIL line; console tail \
             ({}):\n{}",
            status.map_or("killed".to_string(), |s| s.to_string()),
            log.display(),
            tail(&console, 40)
        )),
    }
}

/// The value after `key` (in centiseconds, "NNN cs") on the console, as a duration.
fn centis(console: &str, key: &str) -> Duration {
    console
        .lines()
        .find_map(|l| {
            let rest = &l[l.find(key)? + key.len()..];
            rest.split_whitespace().next()?.parse::<u64>().ok()
        })
        .map_or(Duration::ZERO, |cs| Duration::from_millis(cs * 10))
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newc_archive_layout() {
        let mut c = Cpio::default();
        c.dir("bin");
        c.file("init", 0o755, b"#!x\n");
        let a = c.finish();
        assert_eq!(&a[..6], b"070701");
        // ino 1, mode 040755, uid, gid, nlink 2.
        assert_eq!(&a[6..46], b"00000001000041ed000000000000000000000002");
        // namesize 4 ("bin\0") at field 12; name at 110, padded to 116.
        assert_eq!(&a[94..102], b"00000004");
        assert_eq!(&a[110..114], b"bin\0");
        let second = &a[116..];
        assert_eq!(&second[14..22], b"000081ed");
        assert_eq!(&second[54..62], b"00000004", "file size");
        assert!(a.len().is_multiple_of(4));
        assert!(a.windows(10).any(|w| w == b"TRAILER!!!"));
    }

    #[test]
    fn reads_the_figures_from_the_console() {
        let c = "x\ne2e-aarch64: boot-to-ready 52 cs, boot-to-ping 118 cs\n";
        assert_eq!(centis(c, "boot-to-ready "), Duration::from_millis(520));
        assert_eq!(centis(c, "boot-to-ping "), Duration::from_millis(1180));
        assert_eq!(centis(c, "nothing "), Duration::ZERO);
        assert_eq!(tail("a\nb\nc", 2), "b\nc");
    }
}

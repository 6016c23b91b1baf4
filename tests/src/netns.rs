//! Network namespaces and the processes that run inside them.
//!
//! Every lab lives in a namespace this module creates and deletes again, so no test traffic
//! can leave the machine: the namespace has no link to the outside, only the TAPs and the
//! addresses the lab puts in it. Dropping a [`Netns`] kills everything still running in it
//! and deletes it, also when a test fails half way.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::{Result, run_checked};

/// Prefix of every namespace the labs create; stale ones from killed runs are removed by it.
pub const PREFIX: &str = "dnslab-";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A network namespace owned by this process.
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates a fresh namespace with its loopback up. Namespaces left over by earlier runs
    /// whose process is gone are deleted first.
    pub fn create() -> Result<Netns> {
        require_root()?;
        remove_stale();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("{PREFIX}{}-{n}", std::process::id());
        run_checked(Command::new("ip").args(["netns", "add", &name]))?;
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip -n NS ARGS…` and fails with its stderr if it fails.
    pub fn ip(&self, args: &[&str]) -> Result<()> {
        run_checked(Command::new("ip").arg("-n").arg(&self.name).args(args))
    }

    /// A command that runs `program` inside the namespace.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(program);
        c
    }

    /// Writes a sysctl inside the namespace.
    pub fn sysctl(&self, key: &str, value: &str) -> Result<()> {
        run_checked(
            self.command("sysctl")
                .arg("-q")
                .arg("-w")
                .arg(format!("{key}={value}")),
        )
    }

    /// Kills every process still in the namespace.
    pub fn kill_all(&self) {
        for _ in 0..20 {
            let pids = pids(&self.name);
            if pids.is_empty() {
                return;
            }
            for p in pids {
                let _ = Command::new("kill").args(["-9", &p]).status();
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        self.kill_all();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .stderr(Stdio::null())
            .status();
    }
}

fn pids(ns: &str) -> Vec<String> {
    Command::new("ip")
        .args(["netns", "pids", ns])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Deletes `dnslab-PID-N` namespaces whose creating process no longer runs.
fn remove_stale() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let Some(pid) = rest.split('-').next() else {
            continue;
        };
        if Path::new("/proc").join(pid).exists() {
            continue;
        }
        for p in pids(name) {
            let _ = Command::new("kill").args(["-9", &p]).status();
        }
        let _ = Command::new("ip").args(["netns", "del", name]).status();
    }
}

/// Fails unless the process runs as root (namespaces, TAPs and KVM need it).
pub fn require_root() -> Result<()> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { geteuid() };
    if uid != 0 {
        return Err(
            "the lab needs root (network namespaces, TAP devices, KVM): \
                    run the tests as root, e.g. `sudo -E cargo xtask test`"
                .into(),
        );
    }
    Ok(())
}

unsafe extern "C" {
    fn geteuid() -> u32;
}

/// A process started in a namespace, its stdout and stderr in one log file. Dropping it
/// kills it.
pub struct Proc {
    label: String,
    child: Child,
    log: PathBuf,
    status: Option<ExitStatus>,
}

impl Proc {
    /// Starts `cmd` with stdout and stderr appended to `log`.
    pub fn spawn(label: &str, mut cmd: Command, log: &Path) -> Result<Proc> {
        let out = File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("{label}: cannot start {cmd:?}: {e}"))?;
        Ok(Proc {
            label: label.to_owned(),
            child,
            log: log.to_owned(),
            status: None,
        })
    }

    /// The process's output so far.
    pub fn output(&self) -> String {
        std::fs::read(&self.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// The last `n` lines of output, for failure messages.
    pub fn tail(&self, n: usize) -> String {
        let out = self.output();
        let lines: Vec<&str> = out.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Waits until the output contains `needle`; fails if the process exits first or
    /// `timeout` passes.
    pub fn wait_for(&mut self, needle: &str, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let out = self.output();
            if let Some(pos) = out.find(needle) {
                let line_end = out[pos..].find('\n').map_or(out.len(), |e| pos + e);
                let line_start = out[..pos].rfind('\n').map_or(0, |s| s + 1);
                return Ok(out[line_start..line_end].to_owned());
            }
            if let Some(st) = self.try_status() {
                return Err(format!(
                    "{} exited ({st}) before printing {needle:?}; its output:\n{}",
                    self.label,
                    self.tail(40)
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{} did not print {needle:?} within {timeout:?}; its output:\n{}",
                    self.label,
                    self.tail(40)
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The exit status if the process has ended.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Waits (bounded) for the process to end and returns its exit code (None: a signal).
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<Option<i32>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = self.try_status() {
                return Ok(st.code());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{} still running after {timeout:?}; its output:\n{}",
                    self.label,
                    self.tail(40)
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process and waits for it.
    pub fn kill(&mut self) {
        if self.try_status().is_none() {
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Netns {
    /// Runs `f` on a new thread that has entered this namespace, so the test can open
    /// sockets inside the lab (raw clients: pipelined TCP, malformed packets). Only that
    /// thread moves; the rest of the test process stays where it is.
    pub fn run_inside<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        self.spawn_inside(f)?
            .join()
            .map_err(|_| "the thread inside the lab panicked".to_string())?
    }

    /// [`Netns::run_inside`] without waiting: the thread's handle, to be joined once the
    /// test has done what must happen meanwhile (a client that keeps asking while the
    /// resolver loads a list).
    pub fn spawn_inside<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<std::thread::JoinHandle<Result<T>>> {
        let path = format!("/var/run/netns/{}", self.name);
        let file = File::open(&path).map_err(|e| format!("{path}: {e}"))?;
        Ok(std::thread::spawn(move || {
            use std::os::fd::AsRawFd;
            // SAFETY: setns on a valid namespace fd; CLONE_NEWNET moves only this thread.
            let rc = unsafe { setns(file.as_raw_fd(), CLONE_NEWNET) };
            if rc != 0 {
                return Err(format!(
                    "setns({path}): {}",
                    std::io::Error::last_os_error()
                ));
            }
            Ok(f())
        }))
    }
}

const CLONE_NEWNET: i32 = 0x4000_0000;

unsafe extern "C" {
    fn setns(fd: i32, nstype: i32) -> i32;
}

//! Booting the resolver in a lab: the hvt image under the project's tender, or the unix
//! build, each on one of the lab's TAPs.

use std::path::PathBuf;
use std::time::Duration;

use crate::Result;
use crate::lab::Lab;
use crate::netns::Proc;

/// How the resolver runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `dist/<arch>/resolver.hvt` under `dist/<arch>/tender` (KVM).
    Hvt,
    /// `dist/<arch>/resolver-unix`, a Linux process on the TAP.
    Unix,
}

impl Kind {
    /// Both ways, for tests that must hold for each.
    pub const ALL: [Kind; 2] = [Kind::Hvt, Kind::Unix];

    /// Short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Hvt => "hvt",
            Kind::Unix => "unix",
        }
    }
}

/// The host architecture's name as the build uses it.
pub fn host_arch() -> &'static str {
    std::env::consts::ARCH
}

/// Path of a build artifact: `$env` if set, else `dist/<host arch>/<file>`. Fails with a
/// hint when it does not exist.
pub fn artifact(env: &str, file: &str) -> Result<PathBuf> {
    let p = match std::env::var_os(env) {
        Some(p) => PathBuf::from(p),
        None => crate::workspace_root()
            .join("dist")
            .join(host_arch())
            .join(file),
    };
    if p.is_file() {
        Ok(p)
    } else {
        Err(format!(
            "{} is missing: build it first (`cargo xtask test` does), or set {env}",
            p.display()
        ))
    }
}

/// The tender binary.
pub fn tender() -> Result<PathBuf> {
    artifact("E2E_TENDER", "tender")
}

/// The hvt image.
pub fn hvt_image() -> Result<PathBuf> {
    artifact("E2E_HVT_IMAGE", "resolver.hvt")
}

/// The unix build.
pub fn unix_binary() -> Result<PathBuf> {
    artifact("E2E_UNIX_BIN", "resolver-unix")
}

/// A running resolver. Dropping it kills it.
pub struct Guest {
    /// The process (tender or unix binary) with its console output.
    pub proc: Proc,
    /// Which way it runs.
    pub kind: Kind,
}

impl Guest {
    /// Boots the resolver on TAP `tap` of `lab` with boot arguments `args`, with
    /// `mem_mib` of guest memory under the tender.
    pub fn boot(lab: &Lab, kind: Kind, tap: usize, args: &[&str]) -> Result<Guest> {
        Self::boot_with(lab, kind, tap, 64, args)
    }

    /// [`Guest::boot`] with an explicit memory size for hvt.
    pub fn boot_with(
        lab: &Lab,
        kind: Kind,
        tap: usize,
        mem_mib: u32,
        args: &[&str],
    ) -> Result<Guest> {
        Self::boot_env(lab, kind, tap, mem_mib, args, &[])
    }

    /// [`Guest::boot_with`] with extra environment for the tender or the unix binary
    /// (e.g. `TENDER_NO_BATCH=1`).
    pub fn boot_env(
        lab: &Lab,
        kind: Kind,
        tap: usize,
        mem_mib: u32,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Guest> {
        let net = format!("--net:service={}", lab.tap(tap));
        let cmd = match kind {
            Kind::Hvt => {
                let mut c = lab.command(&tender()?.to_string_lossy());
                c.arg(format!("--mem={mem_mib}"))
                    .arg(net)
                    .arg(hvt_image()?)
                    .args(args);
                c
            }
            Kind::Unix => {
                let mut c = lab.command(&unix_binary()?.to_string_lossy());
                c.arg(net).arg("--").args(args);
                c
            }
        };
        let mut cmd = cmd;
        cmd.envs(env.iter().copied());
        let log = lab
            .dir()
            .join(format!("guest-{}-tap{tap}.log", kind.name()));
        let proc = Proc::spawn(&format!("resolver ({})", kind.name()), cmd, &log)?;
        Ok(Guest { proc, kind })
    }

    /// Waits until the console shows `needle`.
    pub fn wait_for(&mut self, needle: &str, timeout: Duration) -> Result<String> {
        self.proc.wait_for(needle, timeout)
    }

    /// Waits for the resolver to exit and returns its status.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<Option<i32>> {
        self.proc.wait_exit(timeout)
    }

    /// The console output so far.
    pub fn output(&self) -> String {
        self.proc.output()
    }
}

/// A resolver booted in a lab, with its addresses.
pub struct Resolver {
    /// The running resolver.
    pub guest: Guest,
    /// Its IPv4 address.
    pub v4: &'static str,
    /// Its IPv6 address.
    pub v6: &'static str,
}

impl Resolver {
    /// Which way it runs.
    pub fn kind(&self) -> Kind {
        self.guest.kind
    }
}

/// The static addresses each kind gets in a lab: hvt on tap0, unix on tap1.
pub fn lab_addresses(kind: Kind) -> (usize, &'static str, &'static str) {
    match kind {
        Kind::Hvt => (0, "10.53.0.2", "fd53::2"),
        Kind::Unix => (1, "10.53.0.3", "fd53::3"),
    }
}

/// Boots the hvt image and the unix build side by side in `lab`, each with a static IPv4
/// and IPv6 address and the lab's gateways, plus `extra` boot arguments; waits until
/// both say they are ready.
pub fn boot_both(lab: &Lab, extra: &[&str]) -> Result<Vec<Resolver>> {
    let mut out = Vec::new();
    for kind in Kind::ALL {
        let (tap, v4, v6) = lab_addresses(kind);
        let a4 = format!("--ipv4={v4}/24");
        let a6 = format!("--ipv6={v6}/64");
        let mut args = vec![
            a4.as_str(),
            "--ipv4-gateway=10.53.0.1",
            a6.as_str(),
            "--ipv6-gateway=fd53::1",
        ];
        args.extend_from_slice(extra);
        let mut guest = Guest::boot(lab, kind, tap, &args)?;
        guest.wait_for("ready: serving DNS", Duration::from_secs(30))?;
        out.push(Resolver { guest, v4, v6 });
    }
    Ok(out)
}

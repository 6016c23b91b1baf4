//! The Debian packages the lab needs, installed on first use.
//!
//! The demo and the tests must work as the first commands a newcomer types on a fresh
//! Debian machine: a missing tool is installed with apt-get (and said so), or, without
//! root, named exactly.

use std::process::Command;
use std::sync::Mutex;

use crate::Result;

/// The Debian package that provides each tool the lab runs.
pub const TOOLS: &[(&str, &str)] = &[
    ("nsd", "nsd"),
    ("dig", "bind9-dnsutils"),
    ("unbound", "unbound"),
    ("dnsmasq", "dnsmasq-base"),
    ("dnsperf", "dnsperf"),
    ("kdig", "knot-dnsutils"),
    ("ping", "iputils-ping"),
    ("ldns-signzone", "ldnsutils"),
    ("ldns-keygen", "ldnsutils"),
    ("ip", "iproute2"),
    ("qemu-system-aarch64", "qemu-system-arm"),
    // The block list server of the lab (tests/tests/lists.rs) and its private CA.
    ("nginx", "nginx-light"),
    ("openssl", "openssl"),
];

static INSTALL: Mutex<()> = Mutex::new(());

/// Whether `tool` is on PATH (or in /usr/sbin, where Debian puts daemons).
pub fn have(tool: &str) -> bool {
    which(tool).is_some()
}

/// Full path of `tool`, searching PATH and the sbin folders.
pub fn which(tool: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"])
        .map(|d| std::path::Path::new(d).join(tool))
        .find(|p| p.is_file())
}

/// Makes sure every tool in `tools` is installed, installing the missing packages with
/// apt-get when running as root.
pub fn require(tools: &[&str]) -> Result<()> {
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let mut missing: Vec<&str> = Vec::new();
    for t in tools {
        if have(t) {
            continue;
        }
        let pkg = TOOLS
            .iter()
            .find(|(tool, _)| tool == t)
            .map_or(*t, |(_, p)| *p);
        if !missing.contains(&pkg) {
            missing.push(pkg);
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let list = missing.join(" ");
    if crate::netns::require_root().is_err() {
        return Err(format!(
            "missing Debian packages: {list}; install them with `sudo apt-get install {list}`"
        ));
    }
    eprintln!("installing Debian packages with apt-get: {list}");
    // The lab runs its own NSD, Unbound and nginx inside namespaces; the packages must
    // not start theirs on the host while they install (nginx would listen on the
    // host's port 80).
    let _no_daemons = NoDaemons::new();
    let install = |update: bool| -> bool {
        if update {
            let _ = Command::new("apt-get").args(["update", "-qq"]).status();
        }
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    if !install(false) && !install(true) {
        return Err(format!("apt-get could not install: {list}"));
    }
    for t in tools {
        if !have(t) {
            return Err(format!("{t} is still missing after installing {list}"));
        }
    }
    Ok(())
}

/// Where Debian's `invoke-rc.d` asks whether a package may start its service.
const POLICY_RC_D: &str = "/usr/sbin/policy-rc.d";

/// While it lives, no package's maintainer script starts a daemon: a `policy-rc.d`
/// that answers 101 ("action forbidden"), written only if there was none and removed
/// again on drop (even when the install fails).
struct NoDaemons {
    written: bool,
}

impl NoDaemons {
    fn new() -> NoDaemons {
        use std::os::unix::fs::PermissionsExt;
        let path = std::path::Path::new(POLICY_RC_D);
        if path.exists() {
            return NoDaemons { written: false };
        }
        let written = std::fs::write(
            path,
            "#!/bin/sh\n# written by the e2e package installer\nexit 101\n",
        )
        .and_then(|()| std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)))
        .is_ok();
        if !written {
            eprintln!("warning: could not write {POLICY_RC_D}; packages may start their services");
        }
        NoDaemons { written }
    }
}

impl Drop for NoDaemons {
    fn drop(&mut self) {
        if self.written {
            let _ = std::fs::remove_file(POLICY_RC_D);
        }
    }
}

//! End-to-end test support: network namespaces, the lab internet (NSD, Unbound, dnsmasq
//! from Debian), `dig`, and booting the resolver — the hvt image under the project's
//! tender, or the unix build — on a TAP in the lab.
//!
//! Used by the tests in `tests/tests/` and by `cargo xtask demo`.

pub mod aarch64;
pub mod compare;
pub mod dig;
pub mod guest;
pub mod lab;
pub mod lists;
pub mod netns;
pub mod packages;
pub mod quirk;
pub mod relay;
pub mod sink;
pub mod torture;
pub mod wire;
pub mod zones;

/// Errors here are one readable line (or a line plus a log tail).
pub type Result<T> = std::result::Result<T, String>;

/// Runs `cmd` and fails with its stderr when it exits non-zero.
pub fn run_checked(cmd: &mut std::process::Command) -> Result<()> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Runs `cmd` and returns its stdout, failing with its stderr when it exits non-zero.
pub fn run_output(cmd: &mut std::process::Command) -> Result<String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The workspace root (this crate lives in `tests/`).
pub fn workspace_root() -> std::path::PathBuf {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

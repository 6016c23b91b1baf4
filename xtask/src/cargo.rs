//! A nested `cargo` run from xtask: clean environment, cargo's progress on the terminal,
//! the built executable found from cargo's JSON messages (so `CARGO_TARGET_DIR` and
//! profiles need no guessing).

use crate::arch::Arch;
use crate::cli::Profile;
use crate::{Result, error};
use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The workspace root (xtask lives one level below it).
pub fn workspace_root() -> PathBuf {
    let xtask = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask.parent().unwrap_or(xtask).to_path_buf()
}

/// Whether an inherited variable must not reach a nested cargo: whatever the outer cargo
/// (`cargo xtask`, `cargo test`) set for *its* build — flags, wrappers, the jobserver, the
/// toolchain override — would otherwise leak into the unikernel build. Kept: where cargo
/// lives and where it builds, and terminal settings.
pub fn is_inherited_build_var(name: &OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    const KEEP: [&str; 4] = [
        "CARGO_HOME",
        "CARGO_TARGET_DIR",
        "CARGO_TERM_COLOR",
        "CARGO_TERM_PROGRESS_WHEN",
    ];
    const STRIP: [&str; 10] = [
        "RUSTFLAGS",
        "RUSTDOCFLAGS",
        "RUSTC",
        "RUSTDOC",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_BOOTSTRAP",
        "RUSTUP_TOOLCHAIN",
        "MAKEFLAGS",
        "MFLAGS",
    ];
    if KEEP.contains(&name) {
        return false;
    }
    name.starts_with("CARGO") || name.starts_with("__CARGO") || STRIP.contains(&name)
}

/// `program` (`cargo`, `rustc`) in the workspace root, so that its toolchain file
/// applies, with a clean environment.
pub fn tool(program: &str) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(workspace_root());
    for (name, _) in std::env::vars_os() {
        if is_inherited_build_var(&name) {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// Runs `cargo build <args>` (cargo's progress and diagnostics go to the terminal) and
/// returns the path of the executable `bin` it produced.
pub fn build_bin(args: &[String], envs: &[(&str, &str)], bin: &str) -> Result<PathBuf> {
    let mut cmd = tool("cargo");
    cmd.arg("build")
        .args(args)
        .arg("--message-format=json-render-diagnostics")
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd
        .spawn()
        .map_err(|e| error(format_args!("cannot run cargo: {e}")))?;
    let mut executable = None;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| error(format_args!("reading cargo's output: {e}")))?;
            if let Some(path) = artifact_executable(&line, bin) {
                executable = Some(PathBuf::from(path));
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| error(format_args!("waiting for cargo: {e}")))?;
    if !status.success() {
        return Err(error(format_args!(
            "`cargo build {}` failed (cargo's messages are above)",
            args.join(" ")
        )));
    }
    executable.ok_or_else(|| error(format_args!("cargo reported no executable named {bin}")))
}

/// From one line of cargo's JSON messages: the `executable` of a `compiler-artifact` for
/// the bin target `bin`. A deliberately small reader of cargo's stable message format.
pub fn artifact_executable(line: &str, bin: &str) -> Option<String> {
    if !line.contains("\"reason\":\"compiler-artifact\"") {
        return None;
    }
    let target = &line[line.find("\"target\":{")?..];
    if json_string_after(target, "\"name\":")? != bin || !target.contains("\"kind\":[\"bin\"]") {
        return None;
    }
    json_string_after(line, "\"executable\":")
}

/// The JSON string literal right after `key` in `s`, unescaped (enough for paths).
fn json_string_after(s: &str, key: &str) -> Option<String> {
    let rest = s[s.find(key)? + key.len()..].strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

/// Builds the bin `bin` of `package` as a Linux program for `arch`: natively on a host of
/// that arch, otherwise as a static musl binary (linked by rust-lld) if that target is
/// installed (added to the pinned toolchain if it is not). Returns the executable.
pub fn build_linux_bin(arch: Arch, profile: &Profile, package: &str, bin: &str) -> Result<PathBuf> {
    let mut args = vec!["-p".to_string(), package.to_string()];
    args.extend(profile.cargo_args());
    if arch == Arch::host()? {
        return build_bin(&args, &[], bin);
    }
    let triple = arch.cross_linux_target();
    crate::toolchain::ensure_targets(&[triple])?;
    args.extend(["--target".to_string(), triple.to_string()]);
    build_bin(&args, &arch.cross_linux_env(), bin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_executable_in_cargo_messages() {
        let line = r#"{"reason":"compiler-artifact","package_id":"path+file:///w/resolver#0.1.0","target":{"kind":["bin"],"crate_types":["bin"],"name":"resolver","src_path":"/w/resolver/src/main.rs"},"profile":{},"features":[],"filenames":["/w/target/x86_64-unknown-none/debug/resolver"],"executable":"/w/target/x86_64-unknown-none/debug/res\"olver","fresh":true}"#;
        assert_eq!(
            artifact_executable(line, "resolver").as_deref(),
            Some("/w/target/x86_64-unknown-none/debug/res\"olver")
        );
        assert_eq!(artifact_executable(line, "tender"), None);
        let lib = r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"resolver"},"executable":null}"#;
        assert_eq!(artifact_executable(lib, "resolver"), None);
        assert_eq!(
            artifact_executable(r#"{"reason":"build-finished","success":true}"#, "resolver"),
            None
        );
    }

    #[test]
    fn strips_what_the_outer_cargo_set() {
        for v in [
            "CARGO",
            "CARGO_PKG_NAME",
            "CARGO_ENCODED_RUSTFLAGS",
            "RUSTFLAGS",
            "RUSTUP_TOOLCHAIN",
            "CARGO_MAKEFLAGS",
        ] {
            assert!(is_inherited_build_var(OsStr::new(v)), "{v}");
        }
        for v in [
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "PATH",
            "HOME",
            "RUST_LOG",
            "RUSTUP_HOME",
        ] {
            assert!(!is_inherited_build_var(OsStr::new(v)), "{v}");
        }
    }
}

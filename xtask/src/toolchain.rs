//! Makes the Rust toolchain complete before xtask builds with it.
//!
//! `rust-toolchain.toml` pins a channel with its components and targets, but rustup
//! (1.29) adds those only when it installs the toolchain itself: on a machine where the
//! channel is already there, `cargo xtask demo` would stop at the first bare-metal build.
//! So xtask asks rustup what the pinned toolchain has, adds what is missing (saying so in
//! one line) and goes on; without rustup it names the command to run. The nightly
//! toolchain the fuzz smoke run needs is handled the same way.

use std::path::PathBuf;
use std::process::Command;

use crate::cargo::{tool, workspace_root};
use crate::{Result, error};

/// What `rust-toolchain.toml` pins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pinned {
    /// The `channel`, e.g. `1.95.0`.
    pub channel: String,
    /// The `components` (`rustfmt`, `clippy`).
    pub components: Vec<String>,
    /// The `targets` (`x86_64-unknown-none`, …).
    pub targets: Vec<String>,
}

impl Pinned {
    /// Reads the workspace's `rust-toolchain.toml`.
    pub fn read() -> Result<Pinned> {
        let path = workspace_root().join("rust-toolchain.toml");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| error(format_args!("cannot read {}: {e}", path.display())))?;
        Pinned::parse(&text).map_err(|e| error(format_args!("{}: {e}", path.display())))
    }

    /// Parses the `[toolchain]` table's `channel`, `components` and `targets` (strings
    /// and one-line string arrays: the shape rustup documents for this file).
    pub fn parse(text: &str) -> std::result::Result<Pinned, String> {
        let mut channel = None;
        let mut components = Vec::new();
        let mut targets = Vec::new();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.trim();
            match key.trim() {
                "channel" => channel = Some(unquote(value)?),
                "components" => components = string_array(value)?,
                "targets" => targets = string_array(value)?,
                _ => {}
            }
        }
        let channel = channel.ok_or("no `channel` in the [toolchain] table")?;
        Ok(Pinned {
            channel,
            components,
            targets,
        })
    }
}

fn unquote(v: &str) -> std::result::Result<String, String> {
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .map(str::to_string)
        .ok_or_else(|| format!("expected a quoted string, found `{v}`"))
}

fn string_array(v: &str) -> std::result::Result<Vec<String>, String> {
    let inner = v
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .ok_or_else(|| format!("expected a one-line array of strings, found `{v}`"))?;
    inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(unquote)
        .collect()
}

/// Whether `rustup` is on PATH.
fn have_rustup() -> bool {
    Command::new("rustup")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `rustup <args>` with its output captured; the lines of stdout on success.
fn rustup_lines(args: &[&str]) -> Result<Vec<String>> {
    let out = Command::new("rustup")
        .args(args)
        .output()
        .map_err(|e| error(format_args!("cannot run rustup: {e}")))?;
    if !out.status.success() {
        return Err(error(format_args!(
            "`rustup {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect())
}

/// Runs `rustup <args>` with its progress on the terminal, after one line saying why.
fn rustup_run(why: &str, args: &[&str]) -> Result<()> {
    println!("xtask: {why}: rustup {}", args.join(" "));
    let ok = Command::new("rustup")
        .args(args)
        .status()
        .map_err(|e| error(format_args!("cannot run rustup: {e}")))?
        .success();
    if ok {
        Ok(())
    } else {
        Err(error(format_args!("`rustup {}` failed", args.join(" "))))
    }
}

/// The pinned toolchain's sysroot, as its `rustc` reports it.
fn sysroot() -> Result<PathBuf> {
    let out = tool("rustc")
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| error(format_args!("cannot run rustc: {e}")))?;
    if !out.status.success() {
        return Err(error("`rustc --print sysroot` failed"));
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// Whether the standard library for `triple` is in the pinned toolchain's sysroot.
pub fn target_installed(triple: &str) -> Result<bool> {
    Ok(sysroot()?
        .join("lib/rustlib")
        .join(triple)
        .join("lib")
        .is_dir())
}

/// Makes sure the pinned toolchain has the standard library for each of `triples`:
/// adds the missing ones with rustup, or, without rustup, fails with the command to run.
pub fn ensure_targets(triples: &[&str]) -> Result<()> {
    let mut missing = Vec::new();
    for t in triples {
        if !target_installed(t)? {
            missing.push(*t);
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let pinned = Pinned::read()?;
    let list = missing.join(" ");
    if !have_rustup() {
        return Err(error(format_args!(
            "the Rust target(s) {list} are not installed and rustup is not on PATH: \
             install rustup, then run `rustup target add --toolchain {} {list}`",
            pinned.channel
        )));
    }
    let mut args = vec!["target", "add", "--toolchain", pinned.channel.as_str()];
    args.extend(&missing);
    rustup_run(
        &format!("the pinned toolchain lacks the target(s) {list}, adding them"),
        &args,
    )?;
    for t in &missing {
        if !target_installed(t)? {
            return Err(error(format_args!(
                "rustup added {t} but its standard library is still missing from the sysroot"
            )));
        }
    }
    Ok(())
}

/// Makes the pinned toolchain complete: every target and component that
/// `rust-toolchain.toml` names (what `cargo xtask test` needs: both images, the aarch64
/// tender, rustfmt and clippy).
pub fn ensure_complete() -> Result<()> {
    let pinned = Pinned::read()?;
    let targets: Vec<&str> = pinned.targets.iter().map(String::as_str).collect();
    ensure_targets(&targets)?;
    if pinned.components.is_empty() {
        return Ok(());
    }
    if !have_rustup() {
        // Without rustup the components can only be checked by running them.
        for c in &pinned.components {
            let (prog, arg) = match c.as_str() {
                "rustfmt" => ("cargo", "fmt"),
                "clippy" => ("cargo", "clippy"),
                _ => continue,
            };
            let ok = tool(prog)
                .args([arg, "--version"])
                .output()
                .is_ok_and(|o| o.status.success());
            if !ok {
                return Err(error(format_args!(
                    "`{prog} {arg}` is not installed and rustup is not on PATH: install \
                     rustup, then run `rustup component add --toolchain {} {c}`",
                    pinned.channel
                )));
            }
        }
        return Ok(());
    }
    let installed = rustup_lines(&[
        "component",
        "list",
        "--installed",
        "--toolchain",
        &pinned.channel,
    ])?;
    // rustup lists components with the host triple: `clippy-x86_64-unknown-linux-gnu`.
    let missing: Vec<&str> = pinned
        .components
        .iter()
        .map(String::as_str)
        .filter(|c| {
            !installed
                .iter()
                .any(|i| i == c || i.strip_prefix(c).is_some_and(|r| r.starts_with('-')))
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let list = missing.join(" ");
    let mut args = vec!["component", "add", "--toolchain", pinned.channel.as_str()];
    args.extend(&missing);
    rustup_run(
        &format!("the pinned toolchain lacks the component(s) {list}, adding them"),
        &args,
    )
}

/// Makes sure a nightly toolchain is installed (for cargo-fuzz): installs it with the
/// minimal profile when it is missing, or names the command without rustup.
pub fn ensure_nightly() -> Result<()> {
    let works = tool("cargo")
        .args(["+nightly", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if works {
        return Ok(());
    }
    if !have_rustup() {
        return Err(error(
            "fuzzing needs the nightly toolchain and rustup is not on PATH: install rustup, \
             then run `rustup toolchain install nightly --profile minimal`",
        ));
    }
    rustup_run(
        "fuzzing needs the nightly toolchain, which is not installed; installing it",
        &[
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
            "--no-self-update",
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_workspace_pin() {
        let p = Pinned::read().unwrap();
        assert!(!p.channel.is_empty());
        assert!(
            p.targets.iter().any(|t| t == "x86_64-unknown-none"),
            "{p:?}"
        );
        assert!(
            p.targets.iter().any(|t| t == "aarch64-unknown-none"),
            "{p:?}"
        );
        assert!(p.components.iter().any(|c| c == "clippy"), "{p:?}");
    }

    #[test]
    fn parses_strings_and_arrays() {
        let p = Pinned::parse(
            "[toolchain]\nchannel = \"1.2.3\" # pinned\ncomponents = [\"rustfmt\", \"clippy\"]\n\
             targets = [ \"a-b-c\" ]\nprofile = \"minimal\"\n",
        )
        .unwrap();
        assert_eq!(p.channel, "1.2.3");
        assert_eq!(p.components, ["rustfmt", "clippy"]);
        assert_eq!(p.targets, ["a-b-c"]);
        assert!(Pinned::parse("[toolchain]\ntargets = []\n").is_err());
        assert!(Pinned::parse("channel = 1.2\n").is_err());
        assert!(Pinned::parse("channel = \"x\"\ntargets = [\"a\",\n").is_err());
    }

    #[test]
    fn an_installed_target_needs_no_rustup() {
        // The host's own standard library is always there.
        let host = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
        assert!(target_installed(&host).unwrap());
        assert!(!target_installed("riscv32imc-unknown-none-elf").unwrap());
        ensure_targets(&[&host]).unwrap();
    }
}

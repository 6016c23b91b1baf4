//! `cargo xtask run`: builds the resolver for the host and boots it on an existing TAP
//! device, for real deployments and trying things by hand.
//!
//! `cargo xtask run [--target hvt|unix] [--release|--profile P] [--tap TAP] [--mem MIB]
//! [--tender tender|solo5-hvt] -- BOOT ARGS…`
//!
//! hvt boots under the project's tender, or under `solo5-hvt` when it is on PATH (or when
//! `--tender solo5-hvt` asks for it); unix runs `resolver-unix`. The process's exit status
//! is the resolver's.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::arch::Arch;
use crate::cli::{Options, Profile};
use crate::{Result, build, build_tender, cargo, dist, error};

struct RunOptions {
    target: String,
    profile: Profile,
    tap: String,
    mem: u32,
    tender: Option<String>,
    boot_args: Vec<String>,
}

fn parse(args: &[String]) -> Result<RunOptions> {
    let (ours, boot) = match args.iter().position(|a| a == "--") {
        Some(i) => (&args[..i], args[i + 1..].to_vec()),
        None => (args, Vec::new()),
    };
    let mut o = RunOptions {
        target: "hvt".into(),
        profile: Profile::Dev,
        tap: "tap0".into(),
        mem: 64,
        tender: None,
        boot_args: boot,
    };
    let mut it = ours.iter();
    while let Some(arg) = it.next() {
        let (key, inline) = match arg.split_once('=') {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| error(format_args!("{key} needs a value")))
        };
        match key {
            "--target" => o.target = value()?,
            "--tap" => o.tap = value()?,
            "--mem" => {
                let v = value()?;
                o.mem = v
                    .parse()
                    .ok()
                    .filter(|m| (2..=4096).contains(m))
                    .ok_or_else(|| error(format_args!("--mem: `{v}` is not 2 to 4096 (MiB)")))?;
            }
            "--tender" => o.tender = Some(value()?),
            "--release" => o.profile = Profile::Release,
            "--profile" => o.profile = Profile::Named(value()?),
            _ => {
                return Err(error(format_args!(
                    "unknown option `{arg}`: usage is `cargo xtask run [--target hvt|unix] \
                     [--release] [--tap TAP] [--mem MIB] [--tender tender|solo5-hvt] -- BOOT ARGS`"
                )));
            }
        }
    }
    if o.tap.is_empty() || o.tap.len() > 15 {
        return Err(error(format_args!(
            "--tap: `{}` is not an interface name",
            o.tap
        )));
    }
    Ok(o)
}

pub fn run(args: &[String]) -> Result<()> {
    let o = parse(args)?;
    let host = Arch::host()?;
    if !Path::new("/sys/class/net").join(&o.tap).exists() {
        return Err(error(format_args!(
            "there is no network interface {tap}: create it first, e.g. \
             `ip tuntap add {tap} mode tap && ip link set {tap} up` (and bridge it to the LAN)",
            tap = o.tap
        )));
    }
    let net = format!("--net:service={}", o.tap);
    let mut cmd = match o.target.as_str() {
        "hvt" => {
            let image = build::build_hvt(host, &o.profile)?;
            let tender = match o.tender.as_deref() {
                Some("solo5-hvt") => which("solo5-hvt")
                    .ok_or_else(|| error("--tender solo5-hvt: no solo5-hvt on PATH"))?,
                Some("tender") => build_tender::build(&Options {
                    arch: host,
                    target: None,
                    profile: o.profile.clone(),
                })?,
                Some(other) => {
                    return Err(error(format_args!(
                        "--tender: `{other}` is neither tender nor solo5-hvt"
                    )));
                }
                None => match which("solo5-hvt") {
                    Some(p) => p,
                    None => build_tender::build(&Options {
                        arch: host,
                        target: None,
                        profile: o.profile.clone(),
                    })?,
                },
            };
            let mut c = Command::new(&tender);
            c.arg(format!("--mem={}", o.mem))
                .arg(&net)
                .arg(&image.path)
                .args(&o.boot_args);
            c
        }
        "unix" => {
            let exe = cargo::build_linux_bin(host, &o.profile, "resolver", "resolver")?;
            let out = dist::arch_dir(host)?.join("resolver-unix");
            dist::install(&exe, &out)?;
            let mut c = Command::new(out);
            c.arg(&net).arg("--").args(&o.boot_args);
            c
        }
        other => {
            return Err(error(format_args!(
                "unknown --target `{other}`: expected hvt or unix"
            )));
        }
    };
    eprintln!("running: {cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| error(format_args!("cannot start {cmd:?}: {e}")))?;
    match status.code() {
        Some(0) => Ok(()),
        Some(c) => Err(error(format_args!("the resolver exited with status {c}"))),
        None => Err(error("the resolver was killed by a signal")),
    }
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn splits_our_options_from_the_boot_arguments() {
        let o = parse(&args(
            "--target unix --tap=tap7 --mem 32 -- --ipv4=10.0.0.2/24",
        ))
        .unwrap();
        assert_eq!(o.target, "unix");
        assert_eq!(o.tap, "tap7");
        assert_eq!(o.mem, 32);
        assert_eq!(o.boot_args, ["--ipv4=10.0.0.2/24"]);
        assert!(parse(&args("--mem=0")).is_err());
        assert!(parse(&args("--tap=averyveryverylongname")).is_err());
        assert!(parse(&args("--bogus")).is_err());
    }
}

//! The command line, as `solo5-hvt` takes it:
//! `[--mem=MB] [--net:NAME=IFACE] [--net-mac:NAME=MAC] [--block:NAME=PATH]
//! [--block-sector-size:NAME=N] [--trace-hypercalls] [--] KERNEL [ARGS…]`.
//!
//! Parsing is pure; checking names against the image's manifest happens later, once the
//! image is read (as in `solo5-hvt`, whose second pass needs the manifest).

use std::fmt;

use crate::block::parse_block_size;
use crate::net::parse_mac;

/// Default guest memory in MiB.
pub const DEFAULT_MEM_MIB: u64 = hvt_abi::DEFAULT_MEM_MIB;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    Version,
    Run(Options),
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Options {
    pub mem_mib: u64,
    /// `--net:NAME=IFACE`, in order.
    pub nets: Vec<(String, String)>,
    /// `--net-mac:NAME=MAC`.
    pub macs: Vec<(String, [u8; 6])>,
    /// `--block:NAME=PATH`.
    pub blocks: Vec<(String, String)>,
    /// `--block-sector-size:NAME=N`.
    pub sector_sizes: Vec<(String, u16)>,
    pub trace_hypercalls: bool,
    pub kernel: String,
    /// Everything after KERNEL, untouched.
    pub guest_args: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliError {
    MissingKernel,
    /// An option the tender does not know or whose value is malformed.
    Invalid(String),
    MalformedMem,
    /// `--block-sector-size` with a value that is not a power of two ≥ 512.
    BadBlockSize(String),
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::MissingKernel => write!(f, "Missing KERNEL operand"),
            CliError::Invalid(a) => write!(f, "Invalid option: `{a}'"),
            CliError::MalformedMem => write!(f, "Malformed argument to --mem"),
            CliError::BadBlockSize(a) => write!(
                f,
                "Block size must be a multiple of 2 greater than or equal 512\nInvalid option: `{a}'"
            ),
        }
    }
}

impl std::error::Error for CliError {}

/// Usage text (printed to stderr by `--help` and after a bad option).
pub fn usage(prog: &str) -> String {
    format!(
        "usage: {prog} [ CORE OPTIONS ] [ MODULE OPTIONS ] [ -- ] KERNEL [ ARGS ]\n\
         KERNEL is the filename of the unikernel to run.\n\
         ARGS are optional arguments passed to the unikernel.\n\
         Core options:\n  \
         [ --mem=512 ] (guest memory in MB)\n    \
         --help (display this help)\n    \
         --version (display version information)\n    \
         --trace-hypercalls (print hypercall counts to stderr at exit; or TENDER_STATS=1)\n\
         Compiled-in modules: net block\n\
         Compiled-in module options:\n    \
         [ --net:NAME=IFACE ] [ --net-mac:NAME=HWADDR ] (attach TAP IFACE to NET_BASIC NAME)\n    \
         [ --block:NAME=PATH ] [ --block-sector-size:NAME=512 ] (attach PATH to BLOCK_BASIC NAME)\n"
    )
}

/// Version text.
pub fn version(prog: &str) -> String {
    format!(
        "{prog} version {} (Rust hvt tender, solo5-hvt v0.12.1 compatible)\nABI version {}\n",
        env!("CARGO_PKG_VERSION"),
        hvt_abi::ABI_VERSION
    )
}

/// `NAME=VALUE` after a prefix, with NAME as Solo5 accepts it (`%67[A-Za-z0-9]`).
fn name_value<'a>(arg: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    let rest = arg.strip_prefix(prefix)?;
    let (name, value) = rest.split_once('=')?;
    let ok = !name.is_empty()
        && name.len() <= hvt_abi::mft::NAME_MAX
        && name.bytes().all(|b| b.is_ascii_alphanumeric());
    ok.then_some((name, value))
}

fn parse_mem(arg: &str) -> Result<u64, CliError> {
    let v = arg.strip_prefix("--mem=").ok_or(CliError::MalformedMem)?;
    match v.parse::<u64>() {
        Ok(n) if n > 0 && n <= (u64::MAX >> 20) => Ok(n),
        _ => Err(CliError::MalformedMem),
    }
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, CliError> {
    // First pass, as solo5-hvt: --help / --version anywhere before KERNEL win.
    for a in args {
        match a.as_str() {
            "--" => break,
            "--help" => return Ok(Command::Help),
            "--version" => return Ok(Command::Version),
            s if !s.starts_with('-') => break,
            _ => {}
        }
    }
    let mut o = Options {
        mem_mib: DEFAULT_MEM_MIB,
        ..Options::default()
    };
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if !a.starts_with('-') {
            break;
        }
        i += 1;
        if a == "--" {
            break;
        }
        if a.starts_with("--mem=") {
            o.mem_mib = parse_mem(a)?;
        } else if a == "--trace-hypercalls" {
            o.trace_hypercalls = true;
        } else if let Some((n, v)) = name_value(a, "--net:") {
            if v.is_empty() || v.len() > 19 || v.bytes().any(|b| b.is_ascii_whitespace()) {
                return Err(CliError::Invalid(a.clone()));
            }
            o.nets.push((n.into(), v.into()));
        } else if let Some((n, v)) = name_value(a, "--net-mac:") {
            let mac = parse_mac(v).ok_or_else(|| CliError::Invalid(a.clone()))?;
            o.macs.push((n.into(), mac));
        } else if let Some((n, v)) = name_value(a, "--block:") {
            if v.is_empty() {
                return Err(CliError::Invalid(a.clone()));
            }
            o.blocks.push((n.into(), v.into()));
        } else if let Some((n, v)) = name_value(a, "--block-sector-size:") {
            let bs = parse_block_size(v).ok_or_else(|| CliError::BadBlockSize(a.clone()))?;
            o.sector_sizes.push((n.into(), bs));
        } else {
            return Err(CliError::Invalid(a.clone()));
        }
    }
    o.kernel = args.get(i).ok_or(CliError::MissingKernel)?.clone();
    o.guest_args = args[i + 1..].to_vec();
    Ok(Command::Run(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Command, CliError> {
        parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    fn run(args: &[&str]) -> Options {
        match p(args) {
            Ok(Command::Run(o)) => o,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_design_docs_command_line() {
        let o = run(&[
            "--mem=64",
            "--net:service=tap0",
            "dist/resolver.hvt",
            "--ipv4=10.0.0.2/24",
            "--ipv4-gateway=10.0.0.1",
        ]);
        assert_eq!(o.mem_mib, 64);
        assert_eq!(o.nets, vec![("service".into(), "tap0".into())]);
        assert_eq!(o.kernel, "dist/resolver.hvt");
        assert_eq!(
            o.guest_args,
            vec!["--ipv4=10.0.0.2/24", "--ipv4-gateway=10.0.0.1"]
        );
        assert!(!o.trace_hypercalls);
    }

    #[test]
    fn all_options() {
        let o = run(&[
            "--trace-hypercalls",
            "--net-mac:service=02:00:00:00:00:01",
            "--block:storage=/tmp/disk.img",
            "--block-sector-size:storage=4096",
            "--",
            "-kernel-with-dash",
            "--help",
        ]);
        assert_eq!(o.mem_mib, 512);
        assert!(o.trace_hypercalls);
        assert_eq!(o.macs, vec![("service".into(), [2, 0, 0, 0, 0, 1])]);
        assert_eq!(o.blocks, vec![("storage".into(), "/tmp/disk.img".into())]);
        assert_eq!(o.sector_sizes, vec![("storage".into(), 4096)]);
        assert_eq!(o.kernel, "-kernel-with-dash");
        assert_eq!(o.guest_args, vec!["--help"], "guest args are never parsed");
    }

    #[test]
    fn help_and_version_before_kernel_only() {
        assert_eq!(p(&["--help"]), Ok(Command::Help));
        assert_eq!(p(&["--mem=2", "--version", "k"]), Ok(Command::Version));
        assert_eq!(p(&["--bogus", "--help"]), Ok(Command::Help));
        assert!(matches!(p(&["k", "--help"]), Ok(Command::Run(_))));
        assert!(matches!(p(&["--", "--help"]), Ok(Command::Run(_))));
        assert!(version("tender").contains("ABI version 2"));
        assert!(usage("tender").starts_with("usage: tender "));
    }

    #[test]
    fn bad_command_lines() {
        assert_eq!(p(&[]), Err(CliError::MissingKernel));
        assert_eq!(p(&["--mem=2"]), Err(CliError::MissingKernel));
        assert_eq!(p(&["--"]), Err(CliError::MissingKernel));
        assert_eq!(p(&["--mem=0", "k"]), Err(CliError::MalformedMem));
        assert_eq!(p(&["--mem=x", "k"]), Err(CliError::MalformedMem));
        assert_eq!(p(&["--mem=-5", "k"]), Err(CliError::MalformedMem));
        for bad in [
            "--bogus",
            "--net:service",
            "--net:=tap0",
            "--net:ser-vice=tap0",
            "--net:service=",
            "--net-mac:service=02:00",
            "--block:storage=",
            "-x",
        ] {
            assert_eq!(p(&[bad, "k"]), Err(CliError::Invalid(bad.into())), "{bad}");
        }
        assert_eq!(
            p(&["--block-sector-size:storage=256", "k"]),
            Err(CliError::BadBlockSize(
                "--block-sector-size:storage=256".into()
            ))
        );
        let long = format!("--net:{}=tap0", "a".repeat(68));
        assert_eq!(p(&[&long, "k"]), Err(CliError::Invalid(long.clone())));
        assert_eq!(
            CliError::Invalid("--bogus".into()).to_string(),
            "Invalid option: `--bogus'"
        );
    }
}

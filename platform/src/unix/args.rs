//! The unix binary's own command line, split from the boot arguments.
//!
//! `resolver-unix --net:service=TAP [--net-mac:service=MAC] [--] BOOT-ARGS…`: the platform
//! options use solo5-hvt's spelling, so a line that works under the tender works here.
//! Everything that is not a platform option is a boot argument, in order; after `--`
//! everything is. The unikernel's manifest has one network device, named `service`.
//! `-h` is taken as `--help`, and solo5's `--solo5:LEVEL` options are dropped as solo5
//! drops them.

// `std` is linked by `unix/mod.rs` (the crate is no_std for the solo5 build).
use super::std;

use std::fmt;
use std::string::{String, ToString};
use std::vec::Vec;

/// The manifest name of the one network device.
pub const NET_NAME: &str = "service";
/// One-line usage of the unix binary.
pub const USAGE: &str =
    "usage: resolver-unix --net:service=TAP [--net-mac:service=MAC] [--] BOOT-ARGS...";

/// The solo5 bindings' own options (`--solo5:LEVEL`), which solo5 takes off the command
/// line before the application sees it. Dropped here too, so the same line runs on both.
const SOLO5_OPTIONS: [&str; 5] = [
    "--solo5:quiet",
    "--solo5:error",
    "--solo5:warn",
    "--solo5:info",
    "--solo5:debug",
];

/// What the unix command line asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnixArgs {
    /// TAP interface to attach (`--net:service=`); `None` only together with `help`.
    pub tap: Option<String>,
    /// MAC address for the guest side (`--net-mac:service=`); random if absent.
    pub mac: Option<[u8; 6]>,
    /// The boot arguments, joined by single spaces.
    pub cmdline: String,
    /// `--help` or `-h` was among the boot arguments.
    pub help: bool,
}

/// A unix command line that cannot be run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgsError {
    /// No `--net:service=TAP` (and no `--help`).
    MissingTap,
    /// `--net:NAME=` or `--net-mac:NAME=` for a NAME the manifest does not have.
    UnknownDevice {
        /// The option as written, e.g. `--net:eth`.
        option: String,
        /// The device name in it.
        name: String,
    },
    /// A platform option without a value (`--net:service` or `--net:service=`).
    MissingValue {
        /// The option as written.
        option: String,
    },
    /// A platform option given twice.
    Duplicate {
        /// The option as written.
        option: String,
    },
    /// A TAP name the kernel would not accept.
    BadTapName {
        /// The name given.
        name: String,
    },
    /// A MAC that is not six hex pairs, or not a unicast address.
    BadMac {
        /// The value given.
        value: String,
    },
}

impl fmt::Display for ArgsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgsError::MissingTap => write!(
                f,
                "missing --net:{NET_NAME}=TAP, the TAP interface to attach (e.g. --net:{NET_NAME}=tap0)"
            ),
            ArgsError::UnknownDevice { option, name } => write!(
                f,
                "{option}: unknown network device {name:?} (this unikernel has one, named {NET_NAME:?})"
            ),
            ArgsError::MissingValue { option } => {
                write!(f, "{option}: needs a value (e.g. {option}=tap0)")
            }
            ArgsError::Duplicate { option } => write!(f, "{option}: given more than once"),
            ArgsError::BadTapName { name } => write!(
                f,
                "--net:{NET_NAME}: {name:?} is not an interface name (expected 1 to 15 characters, no '/', ':' or spaces)"
            ),
            ArgsError::BadMac { value } => write!(
                f,
                "--net-mac:{NET_NAME}: {value:?} is not a unicast MAC address (expected six hex pairs, e.g. 02:00:00:00:00:01)"
            ),
        }
    }
}

impl std::error::Error for ArgsError {}

impl UnixArgs {
    /// Splits the arguments after the program name.
    pub fn parse<I, S>(args: I) -> Result<UnixArgs, ArgsError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut tap = None;
        let mut mac = None;
        let mut boot: Vec<String> = Vec::new();
        let mut help = false;
        let mut rest = false;
        for arg in args {
            let arg = arg.as_ref();
            if rest {
                help |= arg == "--help" || arg == "-h";
                boot.push(arg.to_string());
                continue;
            }
            if arg == "--" {
                rest = true;
                continue;
            }
            if SOLO5_OPTIONS.contains(&arg) {
                continue;
            }
            let (option, slot) = if let Some(r) = arg.strip_prefix("--net:") {
                ("--net:", (r, false))
            } else if let Some(r) = arg.strip_prefix("--net-mac:") {
                ("--net-mac:", (r, true))
            } else if arg == "--help" || arg == "-h" {
                help = true;
                boot.push("--help".to_string());
                continue;
            } else {
                boot.push(arg.to_string());
                continue;
            };
            let (rest_of, is_mac) = slot;
            let (name, value) = match rest_of.split_once('=') {
                Some((n, v)) => (n, v),
                None => (rest_of, ""),
            };
            let option = std::format!("{option}{name}");
            if name != NET_NAME {
                return Err(ArgsError::UnknownDevice {
                    option,
                    name: name.to_string(),
                });
            }
            if value.is_empty() {
                return Err(ArgsError::MissingValue { option });
            }
            if is_mac {
                if mac.is_some() {
                    return Err(ArgsError::Duplicate { option });
                }
                mac = Some(parse_mac(value).ok_or_else(|| ArgsError::BadMac {
                    value: value.to_string(),
                })?);
            } else {
                if tap.is_some() {
                    return Err(ArgsError::Duplicate { option });
                }
                if !valid_ifname(value) {
                    return Err(ArgsError::BadTapName {
                        name: value.to_string(),
                    });
                }
                tap = Some(value.to_string());
            }
        }
        if tap.is_none() && !help {
            return Err(ArgsError::MissingTap);
        }
        // Help wins over the boot arguments: the app prints the usage and stops.
        if help && tap.is_none() {
            boot = std::vec!["--help".to_string()];
        }
        Ok(UnixArgs {
            tap,
            mac,
            cmdline: boot.join(" "),
            help,
        })
    }
}

/// Whether the kernel would take `name` as an interface name (`dev_valid_name`).
pub fn valid_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() < libc::IFNAMSIZ
        && name != "."
        && name != ".."
        && !name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace() || b == 0)
}

/// `xx:xx:xx:xx:xx:xx` (or with `-`), unicast and not all zero.
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let sep = if s.contains('-') { '-' } else { ':' };
    let mut mac = [0u8; 6];
    let mut parts = s.split(sep);
    for byte in &mut mac {
        let p = parts.next()?;
        if p.len() != 2 || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        *byte = u8::from_str_radix(p, 16).ok()?;
    }
    let unicast = mac[0] & 1 == 0 && mac != [0; 6];
    (parts.next().is_none() && unicast).then_some(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<UnixArgs, ArgsError> {
        UnixArgs::parse(args.iter().copied())
    }

    #[test]
    fn splits_platform_options_from_boot_arguments() {
        let a = parse(&[
            "--net:service=tap0",
            "--ipv4=10.0.0.2/24",
            "--ipv4-gateway=10.0.0.1",
        ])
        .unwrap();
        assert_eq!(a.tap.as_deref(), Some("tap0"));
        assert_eq!(a.mac, None);
        assert_eq!(a.cmdline, "--ipv4=10.0.0.2/24 --ipv4-gateway=10.0.0.1");
        assert!(!a.help);

        let a = parse(&[
            "--ipv4=10.0.0.2/24",
            "--net-mac:service=02:aa:bb:cc:dd:ee",
            "--net:service=tap1",
            "--",
            "--net:service=x",
            "--dhcp",
        ])
        .unwrap();
        assert_eq!(a.tap.as_deref(), Some("tap1"));
        assert_eq!(a.mac, Some([0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee]));
        // After `--` everything is a boot argument, even what looks like a platform option.
        assert_eq!(a.cmdline, "--ipv4=10.0.0.2/24 --net:service=x --dhcp");

        let a = parse(&["--net:service=tap0"]).unwrap();
        assert_eq!(a.cmdline, "");
        let a = parse(&[
            "--solo5:quiet",
            "--net:service=tap0",
            "--solo5:debug",
            "--dhcp",
        ])
        .unwrap();
        assert_eq!(a.cmdline, "--dhcp");
        let a = parse(&["--net:service=tap0", "--solo5:loud"]).unwrap();
        assert_eq!(a.cmdline, "--solo5:loud");
        let a = parse(&["--net:service=tap0", "--"]).unwrap();
        assert_eq!(a.cmdline, "");
    }

    #[test]
    fn help_needs_no_tap() {
        let a = parse(&["--help"]).unwrap();
        assert!(a.help && a.tap.is_none());
        assert_eq!(a.cmdline, "--help");
        let a = parse(&["--ipv4=1", "-h"]).unwrap();
        assert_eq!(a.cmdline, "--help");
        let a = parse(&["--net:service=tap0", "-h", "--ipv4=1"]).unwrap();
        assert_eq!(a.cmdline, "--help --ipv4=1");
        let a = parse(&["--net:service=tap0", "--", "--help"]).unwrap();
        assert!(a.help);
        assert_eq!(a.cmdline, "--help");
    }

    #[test]
    fn errors_are_one_clear_line() {
        let cases: &[(&[&str], &str)] = &[
            (
                &[],
                "missing --net:service=TAP, the TAP interface to attach (e.g. --net:service=tap0)",
            ),
            (
                &["--ipv4=10.0.0.2/24"],
                "missing --net:service=TAP, the TAP interface to attach (e.g. --net:service=tap0)",
            ),
            (
                &["--net:service"],
                "--net:service: needs a value (e.g. --net:service=tap0)",
            ),
            (
                &["--net:service="],
                "--net:service: needs a value (e.g. --net:service=tap0)",
            ),
            (
                &["--net:eth=tap0"],
                r#"--net:eth: unknown network device "eth" (this unikernel has one, named "service")"#,
            ),
            (
                &["--net-mac:x=02:00:00:00:00:01"],
                r#"--net-mac:x: unknown network device "x" (this unikernel has one, named "service")"#,
            ),
            (
                &["--net:service=a", "--net:service=b"],
                "--net:service: given more than once",
            ),
            (
                &["--net:service=this-name-is-too-long"],
                r#"--net:service: "this-name-is-too-long" is not an interface name (expected 1 to 15 characters, no '/', ':' or spaces)"#,
            ),
            (
                &["--net:service=../x"],
                r#"--net:service: "../x" is not an interface name (expected 1 to 15 characters, no '/', ':' or spaces)"#,
            ),
            (
                &["--net:service=tap0", "--net-mac:service=01:00:00:00:00:01"],
                r#"--net-mac:service: "01:00:00:00:00:01" is not a unicast MAC address (expected six hex pairs, e.g. 02:00:00:00:00:01)"#,
            ),
            (
                &["--net:service=tap0", "--net-mac:service=02:00:00:00:00"],
                r#"--net-mac:service: "02:00:00:00:00" is not a unicast MAC address (expected six hex pairs, e.g. 02:00:00:00:00:01)"#,
            ),
        ];
        for (args, want) in cases {
            let got = parse(args).unwrap_err().to_string();
            assert_eq!(&got, want, "for {args:?}");
        }
    }

    #[test]
    fn macs() {
        assert_eq!(
            parse_mac("02:00:5e:10:00:01"),
            Some([2, 0, 0x5e, 0x10, 0, 1])
        );
        assert_eq!(
            parse_mac("02-00-5E-10-00-01"),
            Some([2, 0, 0x5e, 0x10, 0, 1])
        );
        assert_eq!(parse_mac("00:00:00:00:00:00"), None);
        assert_eq!(parse_mac("ff:ff:ff:ff:ff:ff"), None);
        assert_eq!(parse_mac("02:00:00:00:00:01:02"), None);
        assert_eq!(parse_mac("2:0:0:0:0:1"), None);
        assert_eq!(parse_mac("+2:00:00:00:00:01"), None);
    }
}

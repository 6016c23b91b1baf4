//! What went wrong with a boot command line, one line per problem.

use alloc::string::String;
use core::fmt;
use core::net::IpAddr;

use crate::IpCidr;

/// Why [`Config::parse`](crate::Config::parse) refused a command line.
///
/// Every variant except [`ConfigError::Help`] displays as one line that names the key, the
/// offending value and what was expected, ready to print on the console before halting.
/// Values are quoted with Rust's escaping (control characters cannot reach the console
/// raw) and cut to [`MAX_SHOWN_VALUE`] characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// `--help` was given: the Display of this variant is the usage text.
    Help,
    /// The command line is longer than [`MAX_CMDLINE`](crate::MAX_CMDLINE) bytes.
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// A word that is not a `--key` or `--key=value` option.
    NotAnOption {
        /// The word.
        word: String,
    },
    /// A `--key` this resolver does not know.
    UnknownKey {
        /// The key as written, with its leading `--`.
        key: String,
        /// The nearest known key (with `--`), if one is close enough to be a likely typo.
        suggestion: Option<&'static str>,
    },
    /// A key given more than once.
    Duplicate {
        /// The key, with its leading `--`.
        key: &'static str,
    },
    /// A key that needs a value was written without one (`--ipv4` or `--ipv4=`).
    MissingValue {
        /// The key, with its leading `--`.
        key: &'static str,
        /// The expected form of the value.
        expected: &'static str,
    },
    /// A flag (`--dhcp`) was given a value.
    UnexpectedValue {
        /// The key, with its leading `--`.
        key: &'static str,
        /// The value that should not be there.
        value: String,
    },
    /// A value (or one item of a list value) that does not parse or is out of range.
    BadValue {
        /// The key, with its leading `--`.
        key: &'static str,
        /// The offending value or list item.
        value: String,
        /// What is wrong, completing "VALUE is …", e.g. "not an IPv4 address with prefix".
        problem: &'static str,
        /// The expected form, with an example.
        expected: &'static str,
    },
    /// A list value with more items than the key allows.
    TooManyItems {
        /// The key, with its leading `--`.
        key: &'static str,
        /// Items given.
        count: usize,
        /// Items allowed.
        max: usize,
    },
    /// Two keys that cannot be used together.
    Conflict {
        /// The key reported.
        key: &'static str,
        /// The key it conflicts with.
        other: &'static str,
        /// What to do instead.
        hint: &'static str,
    },
    /// A key that only makes sense together with another one.
    Requires {
        /// The key given.
        key: &'static str,
        /// The key it needs.
        needs: &'static str,
        /// Why.
        hint: &'static str,
    },
    /// A gateway that is not reachable on the configured network.
    GatewayOutsideNetwork {
        /// `--ipv4-gateway` or `--ipv6-gateway`.
        key: &'static str,
        /// The gateway given.
        gateway: IpAddr,
        /// The interface address and prefix it should be inside.
        network: IpCidr,
    },
}

/// Longest value (in characters) quoted in an error message; longer ones are cut with `…`.
pub const MAX_SHOWN_VALUE: usize = 64;

/// A value quoted for an error message: escaped, and cut if long.
struct Shown<'a>(&'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(MAX_SHOWN_VALUE) {
            None => write!(f, "{:?}", self.0),
            Some((cut, _)) => {
                let head = &self.0[..cut];
                // Debug of the head, with the closing quote moved after the ellipsis.
                let mut quoted = String::new();
                let _ = fmt::write(&mut quoted, format_args!("{head:?}"));
                quoted.pop();
                write!(f, "{quoted}…\"")
            }
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Help => crate::write_usage(f),
            ConfigError::TooLong { len } => write!(
                f,
                "command line is {len} bytes long (expected at most {} bytes)",
                crate::MAX_CMDLINE
            ),
            ConfigError::NotAnOption { word } => write!(
                f,
                "{} is not an option (expected --key=value or --flag; --help lists them)",
                Shown(word)
            ),
            ConfigError::UnknownKey { key, suggestion } => {
                write!(f, "{}: unknown key", Shown(key))?;
                match suggestion {
                    Some(s) => write!(f, " (did you mean {s}? --help lists all keys)"),
                    None => write!(f, " (--help lists all keys)"),
                }
            }
            ConfigError::Duplicate { key } => {
                write!(
                    f,
                    "{key}: given more than once (expected each key at most once)"
                )
            }
            ConfigError::MissingValue { key, expected } => {
                write!(f, "{key}: needs a value (expected {key}={expected})")
            }
            ConfigError::UnexpectedValue { key, value } => write!(
                f,
                "{key}: is a flag and takes no value, got {} (expected just {key})",
                Shown(value)
            ),
            ConfigError::BadValue {
                key,
                value,
                problem,
                expected,
            } => write!(
                f,
                "{key}: {} is {problem} (expected {expected})",
                Shown(value)
            ),
            ConfigError::TooManyItems { key, count, max } => write!(
                f,
                "{key}: {count} items given (expected at most {max}, separated by commas)"
            ),
            ConfigError::Conflict { key, other, hint } => {
                write!(f, "{key}: cannot be combined with {other} ({hint})")
            }
            ConfigError::Requires { key, needs, hint } => {
                write!(f, "{key}: needs {needs} as well ({hint})")
            }
            ConfigError::GatewayOutsideNetwork {
                key,
                gateway,
                network,
            } => write!(
                f,
                "{key}: \"{gateway}\" is not on the network of {network} (expected an address inside it)"
            ),
        }
    }
}

impl core::error::Error for ConfigError {}

//! Option parsing shared by the subcommands: `--key value` or `--key=value`.

use crate::arch::Arch;
use crate::{Result, error};

/// A cargo profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Profile {
    Dev,
    Release,
    Named(String),
}

impl Profile {
    /// The arguments that select it on a cargo command line.
    pub fn cargo_args(&self) -> Vec<String> {
        match self {
            Profile::Dev => vec![],
            Profile::Release => vec!["--release".into()],
            Profile::Named(p) => vec!["--profile".into(), p.clone()],
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Profile::Dev => "dev",
            Profile::Release => "release",
            Profile::Named(p) => p,
        }
    }
}

/// The options a subcommand was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub arch: Arch,
    /// `--target`, when the subcommand takes one.
    pub target: Option<String>,
    pub profile: Profile,
}

/// Parses `args`; `--target` is accepted only if `takes_target`.
pub fn parse(args: &[String], takes_target: bool) -> Result<Options> {
    let mut arch = None;
    let mut target = None;
    let mut profile = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (key, inline) = match arg.split_once('=') {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (arg.as_str(), None),
        };
        let mut value = |key: &str| -> Result<String> {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| error(format_args!("{key} needs a value")))
        };
        let set_profile = |profile: &mut Option<Profile>, p: Profile| -> Result<()> {
            match profile.replace(p) {
                Some(_) => Err(error("give at most one of --release and --profile")),
                None => Ok(()),
            }
        };
        match key {
            "--arch" => arch = Some(Arch::parse(&value(key)?)?),
            "--target" if takes_target => target = Some(value(key)?),
            "--release" if inline.is_none() => set_profile(&mut profile, Profile::Release)?,
            "--profile" => {
                let p = match value(key)?.as_str() {
                    "dev" | "debug" => Profile::Dev,
                    "release" => Profile::Release,
                    other => Profile::Named(other.to_string()),
                };
                set_profile(&mut profile, p)?
            }
            _ => {
                return Err(error(format_args!(
                    "unknown option `{arg}` (try `cargo xtask help`)"
                )));
            }
        }
    }
    Ok(Options {
        arch: match arch {
            Some(a) => a,
            None => Arch::host()?,
        },
        target,
        profile: profile.unwrap_or(Profile::Dev),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_both_spellings_and_defaults() {
        let o = parse(&args("--arch aarch64 --release"), true).unwrap();
        assert_eq!(
            (o.arch, o.target, o.profile),
            (Arch::Aarch64, None, Profile::Release)
        );
        let o = parse(&args("--arch=x86_64 --target=unix --profile=bench"), true).unwrap();
        assert_eq!(o.arch, Arch::X86_64);
        assert_eq!(o.target.as_deref(), Some("unix"));
        assert_eq!(o.profile, Profile::Named("bench".into()));
        assert_eq!(parse(&[], false).unwrap().profile, Profile::Dev);
    }

    #[test]
    fn rejects_nonsense() {
        assert!(parse(&args("--arch mips"), true).is_err());
        assert!(parse(&args("--arch"), true).is_err());
        assert!(parse(&args("--target hvt"), false).is_err());
        assert!(parse(&args("--release --profile dev"), true).is_err());
        assert!(parse(&args("--frobnicate"), true).is_err());
    }
}

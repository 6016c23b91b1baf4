//! `cargo xtask build`: the resolver as an hvt unikernel (default) or a unix program.
//!
//! hvt: `cargo build -p resolver --target <arch>-unknown-none` (the link script and flags
//! come from `resolver/build.rs`, `-C relocation-model=static` from `.cargo/config.toml`),
//! then the image is read back and checked as solo5-hvt would before it is installed as
//! `dist/<arch>/resolver.hvt` and `dist/resolver.hvt`.

use crate::arch::Arch;
use crate::cli::{self, Profile};
use crate::{Result, cargo, dist, error};
use std::path::PathBuf;

pub fn run(args: &[String]) -> Result<()> {
    let options = cli::parse(args, true)?;
    match options.target.as_deref().unwrap_or("hvt") {
        "hvt" => {
            let built = build_hvt(options.arch, &options.profile)?;
            print!("{}", built.summary());
            Ok(())
        }
        "unix" => {
            let exe =
                cargo::build_linux_bin(options.arch, &options.profile, "resolver", "resolver")?;
            let out = dist::arch_dir(options.arch)?.join("resolver-unix");
            let size = dist::install(&exe, &out)?;
            println!(
                "built {}: {}, unix resolver for {}, {} profile",
                dist::show(&out),
                dist::size(size),
                options.arch,
                options.profile.name()
            );
            Ok(())
        }
        other => Err(error(format_args!(
            "unknown --target `{other}`: expected hvt or unix"
        ))),
    }
}

/// An installed hvt image and what it says about itself.
#[derive(Debug)]
pub struct HvtImage {
    pub arch: Arch,
    pub profile: Profile,
    /// `dist/<arch>/resolver.hvt`.
    pub path: PathBuf,
    /// `dist/resolver.hvt`.
    pub latest: PathBuf,
    pub size: u64,
    /// The tender's reading of it: header and manifest (the ABI note is hvt v2, or the
    /// build would have refused it).
    pub image: tender::elf::Inspected,
}

impl HvtImage {
    /// What `cargo xtask build` prints.
    pub fn summary(&self) -> String {
        let devices: Vec<String> = self
            .image
            .manifest
            .entries
            .iter()
            .skip(1)
            .map(|e| {
                let name = String::from_utf8_lossy(e.name());
                format!("{name} ({})", tender::manifest::type_name(e.kind))
            })
            .collect();
        format!(
            "built {}: {}\n  arch {}, {} profile, ET_EXEC, entry {:#x}\n  Solo5 ABI: hvt version {}; manifest: {}\n  copied to {}\n",
            dist::show(&self.path),
            dist::size(self.size),
            self.arch,
            self.profile.name(),
            self.image.header.entry,
            hvt_abi::ABI_VERSION,
            if devices.is_empty() {
                "no devices".to_string()
            } else {
                devices.join(", ")
            },
            dist::show(&self.latest),
        )
    }
}

/// Guest memory the build-time check assumes: the smallest size the README recommends.
const CHECK_MEM: u64 = 32 << 20;

/// Builds, checks and installs the hvt image for `arch`.
pub fn build_hvt(arch: Arch, profile: &Profile) -> Result<HvtImage> {
    let triple = arch.hvt_target();
    crate::toolchain::ensure_targets(&[triple])?;
    let mut args = vec![
        "-p".to_string(),
        "resolver".to_string(),
        "--target".to_string(),
        triple.to_string(),
    ];
    args.extend(profile.cargo_args());
    let exe = cargo::build_bin(&args, &[], "resolver")?;

    let bytes = std::fs::read(&exe)
        .map_err(|e| error(format_args!("cannot read {}: {e}", exe.display())))?;
    // The tender's own loader checks, which follow solo5-hvt's: one implementation of
    // "this image boots", for the build and for the host.
    let (image, _) = tender::elf::check(&bytes, arch.elf_machine(), CHECK_MEM).map_err(|e| {
        error(format_args!(
            "{} would not boot on solo5-hvt: {e}",
            exe.display()
        ))
    })?;

    let path = dist::arch_dir(arch)?.join("resolver.hvt");
    let size = dist::install(&exe, &path)?;
    let latest = path
        .parent()
        .and_then(|p| p.parent())
        .map(|dist| dist.join("resolver.hvt"))
        .ok_or_else(|| error("dist/ has no parent"))?;
    dist::install(&path, &latest)?;
    Ok(HvtImage {
        arch,
        profile: profile.clone(),
        path,
        latest,
        size,
        image,
    })
}

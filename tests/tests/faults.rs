//! Failing well: bad boot arguments, bad images and a crashing guest each end with one
//! clear message and a non-zero status, never a hang.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use e2e::guest::{Guest, Kind, hvt_image, tender};
use e2e::lab::{Lab, LabOptions};

const WAIT: Duration = Duration::from_secs(30);

/// (boot arguments, a piece of the one-line message)
const BAD_ARGS: &[(&[&str], &str)] = &[
    (
        &["--ipv4=10.0.0.300/24"],
        "--ipv4: \"10.0.0.300/24\" is not an IPv4 address with prefix",
    ),
    (&["--ipv4=10.0.0.2/24", "--ipv4=10.0.0.3/24"], "--ipv4"),
    (&["--cache-szie=4M"], "--cache-size"),
    (&["--forward=1.1.1.1", "--root-hints=10.0.0.1"], "--forward"),
    (&["bare-word"], "bare-word"),
];

#[test]
fn bad_boot_args_and_crashes_end_with_a_message_and_a_status() -> e2e::Result<()> {
    let lab = Lab::start(LabOptions::default())?;
    for (tap, kind) in Kind::ALL.into_iter().enumerate() {
        let name = kind.name();
        for (args, needle) in BAD_ARGS {
            let mut g = Guest::boot(&lab, kind, tap, args)?;
            let status = g.wait_exit(WAIT)?;
            let out = g.output();
            assert_eq!(status, Some(1), "{name} {args:?}: status, output:\n{out}");
            let line = out
                .lines()
                .find(|l| l.starts_with("resolver: "))
                .unwrap_or_else(|| panic!("{name} {args:?}: no error line in:\n{out}"));
            assert!(
                line.contains(needle),
                "{name} {args:?}: {line:?} does not mention {needle:?}"
            );
        }

        let mut g = Guest::boot(
            &lab,
            kind,
            tap,
            &["--ipv4=10.53.0.9/24", "--selftest=panic"],
        )?;
        let status = g.wait_exit(WAIT)?;
        let out = g.output();
        assert!(
            out.contains("--selftest=panic: a deliberate panic") && out.contains("app.rs"),
            "{name}: panic message and location missing:\n{out}"
        );
        match kind {
            Kind::Hvt => assert_eq!(status, Some(255), "{name}: panic status:\n{out}"),
            Kind::Unix => assert!(status != Some(0), "{name}: panic status 0"),
        }

        if kind == Kind::Hvt {
            let mut g = Guest::boot(
                &lab,
                kind,
                tap,
                &["--ipv4=10.53.0.9/24", "--selftest=fault"],
            )?;
            let status = g.wait_exit(WAIT)?;
            let out = g.output();
            assert_eq!(status, Some(255), "{name}: fault status:\n{out}");
            assert!(
                out.contains("page fault") && out.contains("cr2=0x0000000000000008"),
                "{name}: fault report missing registers:\n{out}"
            );
        }
    }
    Ok(())
}

/// The tender's one-line refusal and status for `image`.
fn refuse(image: &std::path::Path) -> (Option<i32>, String) {
    let tender = tender().expect("tender");
    let out = Command::new(&tender)
        .arg("--mem=64")
        .arg(image)
        .output()
        .expect("run the tender");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).trim().to_string(),
    )
}

#[test]
fn tender_refuses_bad_images_clearly() -> e2e::Result<()> {
    // Not an hvt image at all: a PIE from the host.
    let (status, msg) = refuse(std::path::Path::new("/bin/true"));
    assert_eq!(status, Some(1), "{msg}");
    assert!(
        msg.contains("invalid executable") && msg.contains("ET_DYN"),
        "{msg}"
    );

    // Our image with its ABI note asking for version 3.
    let good = std::fs::read(hvt_image()?).map_err(|e| e.to_string())?;
    let mut note = vec![6, 0, 0, 0, 16, 0, 0, 0];
    note.extend_from_slice(b"ABI1Solo5\0\0\0");
    note.extend_from_slice(&[1, 0, 0, 0, 2, 0, 0, 0]);
    let at = good
        .windows(note.len())
        .position(|w| w == note.as_slice())
        .ok_or("the image has no hvt ABI v2 note")?;
    let mut bad = good.clone();
    bad[at + 24] = 3;
    let path = std::env::temp_dir().join(format!("abi3-{}.hvt", std::process::id()));
    std::fs::write(&path, &bad).map_err(|e| e.to_string())?;
    let (status, msg) = refuse(&path);
    let _ = std::fs::remove_file(&path);
    assert_eq!(status, Some(1), "{msg}");
    assert!(msg.contains("ABI version mismatch"), "{msg}");

    // The aarch64 image on this x86_64 host.
    let arm: PathBuf = e2e::workspace_root().join("dist/aarch64/resolver.hvt");
    if std::env::consts::ARCH == "x86_64" {
        let arm = if arm.is_file() {
            arm
        } else {
            return Err(format!("{} missing: run `cargo xtask test`", arm.display()));
        };
        let (status, msg) = refuse(&arm);
        assert_eq!(status, Some(1), "{msg}");
        assert!(
            msg.contains("built for aarch64") && msg.contains("x86_64"),
            "{msg}"
        );
    }
    Ok(())
}

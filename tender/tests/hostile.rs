//! A hostile guest: hand-assembled x86_64 code that hands every hypercall out-of-range
//! pointers and lengths (argument structs past the end of memory, buffers that wrap the
//! address space, writes into the read-only text, block offsets past the device). The
//! tender must refuse each with one clear line and exit 1 — never a host fault, never a
//! write outside guest memory (the block file and the TAP see nothing from a refused
//! call). Non-fatal refusals (bad handle, offset past the device) come back as EINVAL in
//! `ret`, which the guest passes out as its halt status.
//!
//! Also a deterministic mutation run over the loader checks (`elf::check`), so plain
//! `cargo test` exercises what `tender/fuzz` fuzzes. Guest cases are skipped where
//! /dev/kvm cannot be opened or the host is not x86_64; NET cases need root (a TAP in a
//! private network namespace).

use std::path::PathBuf;
use std::process::{Command, Output};

use tender::testimage::{TEXT, image};
const MEM_MIB: u64 = 4;
const MEM: u64 = MEM_MIB << 20;
const BLOCK_BYTES: usize = 4096;

fn kvm_usable() -> bool {
    std::env::consts::ARCH == "x86_64"
        && std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/kvm")
            .is_ok()
}

/// Where the argument struct of a hypercall is.
#[derive(Clone, Copy, Debug)]
enum Arg {
    /// On the stack, filled with the case's fields.
    Stack,
    /// At this guest-physical address (the fields are not written).
    At(u32),
}

/// One hostile hypercall.
struct Case {
    name: &'static str,
    /// Hypercall number (port 0x500 + nr).
    nr: u16,
    arg: Arg,
    /// 64-bit fields of the argument struct, at offsets 0, 8, 16, …
    fields: &'static [u64],
    /// Offset of the `ret` field: if the call returns, the guest halts with it.
    ret_off: u8,
    /// `Err(text)`: a fatal refusal naming `text`; `Ok(status)`: the guest halts with
    /// `status` (a non-fatal refusal returned in `ret`).
    want: Result<i32, &'static str>,
}

/// Assembles: `sub rsp, 64`; the fields on the stack; the argument address in eax;
/// `out` to the hypercall port; then HALT with the i32 at `[rsp + ret_off]`.
fn assemble(c: &Case) -> Vec<u8> {
    let mut code = vec![0x48, 0x83, 0xec, 0x40]; // sub rsp, 64
    for (i, v) in c.fields.iter().enumerate() {
        code.extend_from_slice(&[0x48, 0xb8]); // mov rax, imm64
        code.extend_from_slice(&v.to_le_bytes());
        code.extend_from_slice(&[0x48, 0x89, 0x44, 0x24, 8 * i as u8]); // mov [rsp+off], rax
    }
    match c.arg {
        Arg::Stack => code.extend_from_slice(&[0x48, 0x89, 0xe0]), // mov rax, rsp
        Arg::At(gpa) => {
            code.push(0xb8); // mov eax, imm32
            code.extend_from_slice(&gpa.to_le_bytes());
        }
    }
    let port = 0x500 + c.nr;
    code.extend_from_slice(&[0x66, 0xba]); // mov dx, port
    code.extend_from_slice(&port.to_le_bytes());
    code.push(0xef); // out dx, eax
    code.extend_from_slice(&[0x8b, 0x44, 0x24, c.ret_off]); // mov eax, [rsp+ret_off]
    code.extend_from_slice(&[0x48, 0xc7, 0x44, 0x24, 0x28, 0, 0, 0, 0]); // mov qword [rsp+40], 0
    code.extend_from_slice(&[0x89, 0x44, 0x24, 0x30]); // mov [rsp+48], eax
    code.extend_from_slice(&[0x48, 0x8d, 0x44, 0x24, 0x28]); // lea rax, [rsp+40]
    code.extend_from_slice(&[0x66, 0xba, 0x08, 0x05, 0xef]); // mov dx, 0x508; out dx, eax
    code.push(0xf4); // hlt
    code
}

const TOP: u64 = MEM;
const WRAP: u64 = u64::MAX - 0xfff;

fn common_cases() -> Vec<Case> {
    let oob = |name, nr, gpa, want| Case {
        name,
        nr,
        arg: Arg::At(gpa),
        fields: &[],
        ret_off: 0,
        want: Err(want),
    };
    vec![
        oob(
            "walltime struct past memory",
            1,
            0xffff_fff0,
            "Invalid guest access: gpa=0xfffffff0, sz=8",
        ),
        oob(
            "walltime struct ends on the last byte",
            1,
            (TOP - 8) as u32,
            "Invalid guest access: gpa=0x3ffff8, sz=8",
        ),
        oob(
            "puts struct at mem_size",
            2,
            TOP as u32,
            "Invalid guest access: gpa=0x400000, sz=16",
        ),
        oob(
            "poll struct past memory",
            3,
            0x8000_0000,
            "Invalid guest access: gpa=0x80000000, sz=24",
        ),
        oob(
            "halt struct past memory",
            8,
            (TOP - 4) as u32,
            "Invalid guest access: gpa=0x3ffffc, sz=16",
        ),
        Case {
            name: "puts buffer past memory",
            nr: 2,
            arg: Arg::Stack,
            fields: &[TOP - 4, 4],
            ret_off: 0,
            want: Err("Invalid guest access: gpa=0x3ffffc, sz=4"),
        },
        Case {
            name: "puts buffer wraps the address space",
            nr: 2,
            arg: Arg::Stack,
            fields: &[WRAP, 0x2000],
            ret_off: 0,
            want: Err("Invalid guest access: gpa=0xfffffffffffff000, sz=8192"),
        },
        Case {
            name: "puts length 2^64-1",
            nr: 2,
            arg: Arg::Stack,
            fields: &[TEXT, u64::MAX],
            ret_off: 0,
            want: Err("Invalid guest access: gpa=0x100000, sz=18446744073709551615"),
        },
        Case {
            name: "halt cookie past memory",
            nr: 8,
            arg: Arg::Stack,
            fields: &[TOP - 256, 7],
            ret_off: 0,
            want: Err("Invalid guest access: gpa=0x3fff00, sz=512"),
        },
        Case {
            // NET_EXCHANGE exists only when offered, which needs a NET device.
            name: "hypercall 9 (the batch extension, not offered)",
            nr: 9,
            arg: Arg::Stack,
            fields: &[],
            ret_off: 0,
            want: Err("Invalid guest hypercall: num=9"),
        },
        Case {
            name: "hypercall 10 (one past the last)",
            nr: 10,
            arg: Arg::Stack,
            fields: &[],
            ret_off: 0,
            want: Err("Invalid guest port access: port=0x50a"),
        },
        Case {
            name: "NET hypercall with no NET device",
            nr: 6,
            arg: Arg::Stack,
            fields: &[1, TEXT, 64],
            ret_off: 24,
            want: Err("Invalid guest hypercall: num=6"),
        },
    ]
}

fn block_cases() -> Vec<Case> {
    let blk = |name, nr, fields: &'static [u64], want| Case {
        name,
        nr,
        arg: Arg::Stack,
        fields,
        ret_off: 32,
        want,
    };
    vec![
        blk(
            "block write from a buffer past memory",
            4,
            &[1, 0, TOP - 256, 512],
            Err("Invalid guest access: gpa=0x3fff00, sz=512"),
        ),
        blk(
            "block write from a wrapping buffer",
            4,
            &[1, 0, WRAP, 512],
            Err("Invalid guest access: gpa=0xfffffffffffff000, sz=512"),
        ),
        blk(
            "block read into a buffer past memory",
            5,
            &[1, 0, TOP - 256, 512],
            Err("Invalid guest access: gpa=0x3fff00, sz=512"),
        ),
        blk(
            "block read into the read-only text",
            5,
            &[1, 0, TEXT, 512],
            Err("write into a read-only segment"),
        ),
        blk(
            "block write with handle 2^64-1",
            4,
            &[u64::MAX, 0, TEXT, 512],
            Ok(2),
        ),
        blk(
            "block write to the reserved handle 0",
            4,
            &[0, 0, TEXT, 512],
            Ok(2),
        ),
        blk(
            "block write at offset = capacity",
            4,
            &[1, BLOCK_BYTES as u64, TEXT, 512],
            Ok(2),
        ),
        blk(
            "block write whose end wraps",
            4,
            &[1, 512, TEXT, u64::MAX - 256],
            Ok(2),
        ),
        blk(
            "block read at offset 2^64-512",
            5,
            &[1, u64::MAX - 511, 0x20_0000, 512],
            Ok(2),
        ),
    ]
}

fn net_cases() -> Vec<Case> {
    let net = |name, nr, fields: &'static [u64], want| Case {
        name,
        nr,
        arg: Arg::Stack,
        fields,
        ret_off: 24,
        want,
    };
    vec![
        net(
            "net write from a buffer past memory",
            6,
            &[1, TOP - 16, 64],
            Err("Invalid guest access: gpa=0x3ffff0, sz=64"),
        ),
        net(
            "net write length 2^64-1",
            6,
            &[1, TEXT, u64::MAX],
            Err("Invalid guest access: gpa=0x100000, sz=18446744073709551615"),
        ),
        net(
            "net read into a wrapping buffer",
            7,
            &[1, WRAP, 0x2000],
            Err("Invalid guest access: gpa=0xfffffffffffff000, sz=8192"),
        ),
        net(
            "net write with handle 2^64-1",
            6,
            &[u64::MAX, TEXT, 64],
            Ok(2),
        ),
        net("net read with handle 0", 7, &[0, 0x20_0000, 1514], Ok(2)),
    ]
}

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("tender-hostile-{}-{name}", std::process::id()))
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// Runs one case and checks the outcome; `prefix` wraps the tender (e.g. `ip netns exec`).
fn run_case(c: &Case, devices: &[(&str, u32)], prefix: &[&str], dev_args: &[String]) {
    let img = tmp(&format!("{}.hvt", slug(c.name)));
    std::fs::write(&img, image(&assemble(c), devices)).unwrap();
    let tender = env!("CARGO_BIN_EXE_tender");
    let mut cmd = match prefix.split_first() {
        Some((p, rest)) => {
            let mut cmd = Command::new(p);
            cmd.args(rest).arg(tender);
            cmd
        }
        None => Command::new(tender),
    };
    cmd.arg(format!("--mem={MEM_MIB}"))
        .args(dev_args)
        .arg(&img)
        .env_remove("TENDER_STATS");
    let out: Output = cmd.output().unwrap();
    std::fs::remove_file(&img).unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    match c.want {
        Err(text) => {
            assert_eq!(out.status.code(), Some(1), "{}: {err}", c.name);
            let first = err.lines().next().unwrap_or("");
            assert!(
                first.starts_with("tender: ") && first.contains(text),
                "{}: want one line with {text:?}, got:\n{err}",
                c.name
            );
        }
        Ok(status) => {
            assert_eq!(
                out.status.code(),
                Some(status),
                "{}: the call should return {status} in ret; stderr:\n{err}",
                c.name
            );
        }
    }
    assert!(
        out.stdout.is_empty(),
        "{}: the guest printed {:?}",
        c.name,
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn hostile_hypercalls_are_refused_and_touch_nothing() {
    if !kvm_usable() {
        eprintln!("skipped: no usable /dev/kvm on an x86_64 host");
        return;
    }
    for c in common_cases() {
        run_case(&c, &[], &[], &[]);
    }
    // BLOCK: the backing file keeps its pattern through every refused call.
    let file = tmp("block");
    let pattern: Vec<u8> = (0..BLOCK_BYTES).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&file, &pattern).unwrap();
    let dev = vec![format!("--block:storage={}", file.display())];
    for c in block_cases() {
        run_case(&c, &[("storage", 1)], &[], &dev);
        assert_eq!(
            std::fs::read(&file).unwrap(),
            pattern,
            "{}: the block file changed",
            c.name
        );
    }
    // Control: a well-formed write does reach the file, so the check above can fail.
    let good = Case {
        name: "block write in range",
        nr: 4,
        arg: Arg::Stack,
        fields: &[1, 512, TEXT, 512],
        ret_off: 32,
        want: Ok(0),
    };
    run_case(&good, &[("storage", 1)], &[], &dev);
    assert_ne!(std::fs::read(&file).unwrap(), pattern, "control write lost");
    std::fs::remove_file(&file).unwrap();
}

/// A network namespace with one TAP, deleted on drop.
struct TapNs(String);

impl TapNs {
    fn create() -> Option<TapNs> {
        let name = format!("tender-hostile-{}", std::process::id());
        let ok = |args: &[&str]| {
            Command::new("ip")
                .args(args)
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false)
        };
        if !ok(&["netns", "add", &name]) {
            return None;
        }
        let ns = TapNs(name);
        let n = ns.0.as_str();
        if ok(&["-n", n, "tuntap", "add", "tap0", "mode", "tap"])
            && ok(&["-n", n, "link", "set", "tap0", "up"])
        {
            Some(ns)
        } else {
            None
        }
    }
}

impl Drop for TapNs {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

#[test]
fn hostile_net_hypercalls_are_refused() {
    if !kvm_usable() {
        eprintln!("skipped: no usable /dev/kvm on an x86_64 host");
        return;
    }
    let Some(ns) = TapNs::create() else {
        eprintln!("skipped: cannot create a network namespace with a TAP (not root?)");
        return;
    };
    let prefix = ["ip", "netns", "exec", ns.0.as_str()];
    let dev = vec!["--net:service=tap0".to_string()];
    for c in net_cases() {
        run_case(&c, &[("service", 2)], &prefix, &dev);
    }
}

/// Deterministic mutations of a valid image through the loader checks: never a panic,
/// and whatever is accepted stays inside the file and the guest memory.
#[test]
fn mutated_images_are_refused_cleanly() {
    let base = image(&[0xf4; 16], &[("service", 2), ("storage", 1)]);
    assert!(tender::elf::check(&base, tender::elf::EM_X86_64, MEM).is_ok());
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let (mut accepted, mut refused) = (0u32, 0u32);
    for _ in 0..50_000 {
        let mut img = base.clone();
        for _ in 0..1 + rnd() % 4 {
            // Mostly the header, program headers and notes; sometimes anywhere.
            if img.is_empty() {
                break;
            }
            let span = if rnd() % 4 == 0 { img.len() } else { 0x400 };
            let at = (rnd() % span.min(img.len()) as u64) as usize;
            match rnd() % 4 {
                0 => img[at] = rnd() as u8,
                1 => img[at] ^= 1 << (rnd() % 8),
                2 => {
                    let v = [0u64, u64::MAX, 1 << 63, MEM, MEM - 1, TEXT][(rnd() % 6) as usize];
                    let end = (at + 8).min(img.len());
                    img[at..end].copy_from_slice(&v.to_le_bytes()[..end - at]);
                }
                _ => img.truncate(at),
            }
        }
        match tender::elf::check(&img, tender::elf::EM_X86_64, MEM) {
            Ok((_, plan)) => {
                accepted += 1;
                assert!(plan.entry >= TEXT && plan.entry < MEM);
                for s in &plan.segments {
                    assert!(s.offset + s.filesz <= img.len() as u64, "{s:?}");
                    assert!(s.vaddr + s.memsz <= MEM && s.end <= MEM, "{s:?}");
                }
            }
            Err(e) => {
                refused += 1;
                let msg = e.to_string();
                assert!(!msg.is_empty() && !msg.contains('\n'), "{msg:?}");
            }
        }
    }
    eprintln!("mutated images: {accepted} accepted, {refused} refused");
    assert!(refused > 10_000, "the mutations barely changed anything");
}

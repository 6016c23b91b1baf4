//! Boots tiny hand-assembled x86_64 guests under the `tender` binary: the whole path
//! (ELF checks, page tables, registers, boot info, hypercalls, fatal exits) without any
//! Solo5 build. Skipped where /dev/kvm cannot be opened or the host is not x86_64.

use std::path::PathBuf;
use std::process::{Command, Output};

use tender::testimage::image;

/// `_start(rdi = boot info)`: PUTS the command line, then HALT with status mem_size >> 20.
///
/// ```text
///   mov rsi, [rdi+24]        ; bi->cmdline
///   xor ecx, ecx
/// 1: cmp byte ptr [rsi+rcx], 0
///   je 2f
///   inc rcx
///   jmp 1b
/// 2: sub rsp, 32             ; struct hvt_hc_puts on the stack
///   mov [rsp], rsi
///   mov [rsp+8], rcx
///   mov rax, rsp
///   mov dx, 0x502
///   out dx, eax
///   mov rax, [rdi]           ; bi->mem_size
///   shr rax, 20
///   mov qword ptr [rsp], 0   ; struct hvt_hc_halt { cookie 0, exit_status }
///   mov [rsp+8], eax
///   mov rax, rsp
///   mov dx, 0x508
///   out dx, eax
///   hlt
/// ```
const ECHO: &[u8] = &[
    0x48, 0x8b, 0x77, 0x18, 0x31, 0xc9, 0x80, 0x3c, 0x0e, 0x00, 0x74, 0x05, 0x48, 0xff, 0xc1, 0xeb,
    0xf5, 0x48, 0x83, 0xec, 0x20, 0x48, 0x89, 0x34, 0x24, 0x48, 0x89, 0x4c, 0x24, 0x08, 0x48, 0x89,
    0xe0, 0x66, 0xba, 0x02, 0x05, 0xef, 0x48, 0x8b, 0x07, 0x48, 0xc1, 0xe8, 0x14, 0x48, 0xc7, 0x04,
    0x24, 0x00, 0x00, 0x00, 0x00, 0x89, 0x44, 0x24, 0x08, 0x48, 0x89, 0xe0, 0x66, 0xba, 0x08, 0x05,
    0xef, 0xf4,
];

fn kvm_usable() -> bool {
    std::env::consts::ARCH == "x86_64"
        && std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/kvm")
            .is_ok()
}

fn write_image(name: &str, code: &[u8]) -> PathBuf {
    let p = std::env::temp_dir().join(format!("tender-boot-{}-{name}.hvt", std::process::id()));
    std::fs::write(&p, image(code, &[])).unwrap();
    p
}

fn tender(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tender"))
        .args(args)
        .env_remove("TENDER_STATS")
        .output()
        .unwrap()
}

#[test]
fn a_guest_prints_its_command_line_and_halts_with_a_status() {
    if !kvm_usable() {
        eprintln!("skipped: no usable /dev/kvm on an x86_64 host");
        return;
    }
    let img = write_image("echo", ECHO);
    let p = img.to_str().unwrap();
    let out = tender(&[
        "--mem=6",
        "--trace-hypercalls",
        p,
        "hello",
        "--from",
        "the guest",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello --from the guest"
    );
    assert_eq!(
        out.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("puts=1 ") && err.contains("halt=1 "), "{err}");

    // --mem=7 is rounded down to 6 MiB, with a warning.
    let out = tender(&["--mem=7", p]);
    assert_eq!(out.status.code(), Some(6));
    assert!(String::from_utf8_lossy(&out.stderr).contains("adjusting memory to 6291456 bytes"));
    std::fs::remove_file(img).unwrap();
}

#[test]
fn fatal_guest_exits_print_one_clear_line_and_exit_1() {
    if !kvm_usable() {
        eprintln!("skipped: no usable /dev/kvm on an x86_64 host");
        return;
    }
    let cases: [(&str, &[u8], &str); 5] = [
        // ud2 with no IDT
        ("ud2", &[0x0f, 0x0b], "Guest triple fault"),
        // mov dx, 0x520; out dx, eax
        (
            "port",
            &[0x66, 0xba, 0x20, 0x05, 0xef],
            "Invalid guest port access: port=0x520",
        ),
        // mov eax, 0xfffffff0; mov dx, 0x502; out dx, eax (PUTS struct outside memory)
        (
            "oob",
            &[0xb8, 0xf0, 0xff, 0xff, 0xff, 0x66, 0xba, 0x02, 0x05, 0xef],
            "Invalid guest access: gpa=0xfffffff0, sz=16",
        ),
        // mov dx, 0x500; out dx, eax (hypercall 0)
        (
            "nr0",
            &[0x66, 0xba, 0x00, 0x05, 0xef],
            "Invalid guest hypercall: num=0",
        ),
        // hlt; ud2. On `kvm_pvm` the tender runs the guest natively and the module
        // does not exit on a `hlt` with interrupts off: it falls through to the ud2
        // (docs/KVM-PVM.md).
        ("hlt", &[0xf4, 0x0f, 0x0b], "halt instruction"),
    ];
    let pvm = std::path::Path::new("/sys/module/kvm_pvm").exists();
    for (name, code, want) in cases {
        let want = if pvm && name == "hlt" {
            "Guest triple fault"
        } else {
            want
        };
        let img = write_image(name, code);
        let out = tender(&["--mem=4", img.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        let first = err.lines().next().unwrap_or("");
        assert!(
            first.starts_with("tender: ") && first.contains(want),
            "{name}: {err}"
        );
        std::fs::remove_file(img).unwrap();
    }
}

#[test]
fn image_and_command_line_errors_exit_1() {
    let img = write_image("cli", ECHO);
    let p = img.to_str().unwrap();
    let out = tender(&["--net:service=tap0", p]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("Resource not declared in manifest: 'service'")
    );
    let out = tender(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ABI version 2"));
    let out = tender(&[]);
    assert_eq!(out.status.code(), Some(1));
    if std::env::consts::ARCH != "x86_64" {
        std::fs::remove_file(img).unwrap();
        return;
    }
    let mut bytes = image(ECHO, &[]);
    bytes[18] = 183; // EM_AARCH64
    std::fs::write(&img, bytes).unwrap();
    let out = tender(&[p]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("built for aarch64") && err.contains(std::env::consts::ARCH),
        "{err}"
    );
    std::fs::remove_file(img).unwrap();
}

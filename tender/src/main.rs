//! `tender`: run a Solo5 hvt unikernel on KVM. Same command line as `solo5-hvt`.

fn main() {
    let mut args = std::env::args();
    let prog = args
        .next()
        .as_deref()
        .and_then(|p| p.rsplit('/').next().map(str::to_string))
        .unwrap_or_else(|| "tender".into());
    let args: Vec<String> = args.collect();
    std::process::exit(tender::run::main(&prog, &args));
}

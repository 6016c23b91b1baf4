//! The short torture run (ISSUE 8): every item in its short size against both builds in
//! one lab; fails on any property that did not hold. `cargo xtask torture --long` runs
//! the long sizes on demand.

use e2e::torture::{self, Mode};

#[test]
fn torture_short() -> e2e::Result<()> {
    let t = std::time::Instant::now();
    // E2E_TORTURE_ITEMS=5,6 runs only those items (for debugging one).
    let only: Vec<u8> = std::env::var("E2E_TORTURE_ITEMS")
        .unwrap_or_default()
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let table = torture::run(Mode::Short, &only)?;
    eprintln!("\n{}", table.render());
    eprintln!("torture (short): {:?}", t.elapsed());
    let failed = table.failures();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} torture properties did not hold:\n{}",
            failed.len(),
            failed
                .iter()
                .map(|r| format!("  {} [{}]: {}", r.item, r.build, r.measured))
                .collect::<Vec<_>>()
                .join("\n")
        ))
    }
}

//! The `dist/` folder: where builds put what they made, and how they say so.

use crate::arch::Arch;
use crate::cargo::workspace_root;
use crate::{Result, error};
use std::path::{Path, PathBuf};

/// `dist/<arch>/`, created if needed.
pub fn arch_dir(arch: Arch) -> Result<PathBuf> {
    let dir = workspace_root().join("dist").join(arch.name());
    std::fs::create_dir_all(&dir)
        .map_err(|e| error(format_args!("cannot create {}: {e}", dir.display())))?;
    Ok(dir)
}

/// Copies `from` to `to` (replacing it) and returns the size.
pub fn install(from: &Path, to: &Path) -> Result<u64> {
    // Remove first: the old file may be running (ETXTBSY) or read-only.
    let _ = std::fs::remove_file(to);
    std::fs::copy(from, to).map_err(|e| {
        error(format_args!(
            "cannot copy {} to {}: {e}",
            from.display(),
            to.display()
        ))
    })
}

/// `path` relative to the workspace root when it is inside it.
pub fn show(path: &Path) -> String {
    let root = workspace_root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// "1.3 MiB (1375280 bytes)".
pub fn size(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!(
            "{:.1} MiB ({bytes} bytes)",
            bytes as f64 / (1u64 << 20) as f64
        )
    } else {
        format!("{:.1} KiB ({bytes} bytes)", bytes as f64 / 1024.0)
    }
}

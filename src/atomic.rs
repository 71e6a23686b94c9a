//! Atomic file output: write beside the target, then rename, so a cron job
//! or a reader never sees a half-written file.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The temporary path used while `target` is being written.
pub fn temp_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Writes `target` through `fill`, atomically. On error the temp file is removed.
pub fn write_with<F>(target: &Path, fill: F) -> Result<()>
where
    F: FnOnce(&mut BufWriter<fs::File>) -> Result<()>,
{
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
    }
    let tmp = temp_path(target);
    let result = (|| {
        let file =
            fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        fill(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all().ok();
        fs::rename(&tmp, target)
            .with_context(|| format!("cannot rename {} to {}", tmp.display(), target.display()))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Writes a whole byte string atomically.
pub fn write_bytes(target: &Path, bytes: &[u8]) -> Result<()> {
    write_with(target, |w| Ok(w.write_all(bytes)?))
}

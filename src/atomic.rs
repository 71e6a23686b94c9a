//! Every output file goes through here: written beside its target, then
//! renamed, so a cron job or a reader never sees a half-written file.
//!
//! - A symlink is written through: its target is replaced, the link stays.
//! - `-` is stdout; a target that is not a regular file (`/dev/stdout`, a
//!   FIFO) is streamed to as it is, since it cannot be renamed over.
//! - An output that is one of this run's input files is refused before a
//!   byte is written (see [`protect`]).

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result};

use crate::error::UsageError;

/// The input files of this run, canonicalized.
static INPUTS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Marks `paths` as inputs: no output may replace them.
pub fn protect(paths: &[PathBuf]) {
    if let Ok(mut inputs) = INPUTS.lock() {
        inputs.extend(paths.iter().filter_map(|p| fs::canonicalize(p).ok()));
    }
}

/// The prefix of the temporary files beside a target; a run that is killed
/// can leave them, and the next run into the directory removes them.
pub const TEMP_PREFIX: &str = ".journeymap-tmp.";

/// The temporary path used while `target` is being written.
pub fn temp_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!("{TEMP_PREFIX}{}.{name}", std::process::id()))
}

/// Where a write to `target` lands: the file a symlink (chain) points to.
fn resolve(target: &Path) -> PathBuf {
    let mut path = target.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => match fs::read_link(&path) {
                Ok(to) => {
                    path = match path.parent() {
                        Some(dir) if to.is_relative() => dir.join(to),
                        _ => to,
                    }
                }
                Err(_) => break,
            },
            _ => break,
        }
    }
    path
}

enum Target {
    Stdout,
    /// Not a regular file: written in place.
    Stream(PathBuf),
    File(PathBuf),
}

fn classify(target: &Path) -> Result<Target> {
    if target.as_os_str() == "-" {
        return Ok(Target::Stdout);
    }
    let real = resolve(target);
    if let Ok(meta) = fs::metadata(&real) {
        if meta.is_dir() {
            return Err(UsageError(format!(
                "{} is a directory; give a file name",
                target.display()
            ))
            .into());
        }
        if !meta.is_file() {
            return Ok(Target::Stream(real));
        }
        if let Ok(canon) = fs::canonicalize(&real)
            && INPUTS.lock().is_ok_and(|i| i.contains(&canon))
        {
            return Err(UsageError(format!(
                "{} is one of the input files; writing it would destroy the data being read. Pick another output path",
                target.display()
            ))
            .into());
        }
    }
    Ok(Target::File(real))
}

/// Writes `target` through `fill`, atomically. On error the temp file is removed.
pub fn write_with<F>(target: &Path, fill: F) -> Result<()>
where
    F: FnOnce(&mut dyn Write) -> Result<()>,
{
    let target = match classify(target)? {
        Target::Stdout => {
            let stdout = std::io::stdout();
            let mut w = BufWriter::with_capacity(1 << 16, stdout.lock());
            fill(&mut w)?;
            return Ok(w.flush()?);
        }
        Target::Stream(path) => {
            let file = fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            let mut w = BufWriter::with_capacity(1 << 16, file);
            fill(&mut w)?;
            return Ok(w.flush()?);
        }
        Target::File(path) => path,
    };
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
    }
    let tmp = temp_path(&target);
    let result = (|| {
        let file =
            fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        fill(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all().ok();
        fs::rename(&tmp, &target)
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

/// Removes the temporary files a killed run left in `dir`.
pub fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            let _ = fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.csv");
        fs::write(&real, "old").unwrap();
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink("real.csv", &link).unwrap();
        write_bytes(&link, b"new").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&real).unwrap(), "new");
    }

    #[test]
    fn an_input_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("events.csv");
        fs::write(&input, "data").unwrap();
        protect(std::slice::from_ref(&input));
        let err = write_bytes(&dir.path().join(".").join("events.csv"), b"x").unwrap_err();
        assert!(err.to_string().contains("input files"), "{err}");
        assert_eq!(fs::read_to_string(&input).unwrap(), "data");
    }
}

//! A report's files as one set (docs/outputs.md).
//!
//! Renaming each file into place keeps each one whole, but a run killed
//! half-way would leave a new report.md beside an old report.json. So
//! report.json is the commit marker: it is removed before anything else is
//! written, and written last with the name, size and SHA-256 of every
//! other file of the set. A directory with no report.json holds no report
//! (a run is under way or died); one with report.json holds exactly the
//! files its manifest lists, which `journeymap verify` checks. Runs into
//! one directory take turns through a lock file.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::report::OutputFile;

/// The commit marker, written last.
pub const MARKER: &str = "report.json";
/// Held (flock) for the whole write; empty, left in place.
pub const LOCK: &str = ".journeymap.lock";

pub struct OutputSet {
    dir: PathBuf,
    files: Vec<OutputFile>,
    /// The files of the report this one replaces.
    previous: Vec<String>,
    /// Dropped (unlocked) with the set; the kernel also drops it on kill -9.
    _lock: fs::File,
}

impl OutputSet {
    /// Takes the directory's lock (waiting for another run), removes what a
    /// killed run left, and withdraws the old report.
    pub fn open(dir: &Path) -> Result<OutputSet> {
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
        let lock_path = dir.join(LOCK);
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("cannot create {}", lock_path.display()))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                eprintln!(
                    "waiting: another journeymap run is writing to {}",
                    dir.display()
                );
                lock.lock()
                    .with_context(|| format!("cannot lock {}", lock_path.display()))?;
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", lock_path.display()));
            }
        }
        crate::atomic::remove_stale_temps(dir);
        let marker = dir.join(MARKER);
        let previous = previous_files(&marker);
        match fs::remove_file(&marker) {
            Ok(()) => sync_dir(dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("cannot remove {}", marker.display()));
            }
        }
        Ok(OutputSet {
            dir: dir.to_path_buf(),
            files: Vec::new(),
            previous,
            _lock: lock,
        })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Adds a file written into the directory to the manifest.
    pub fn record(&mut self, name: &str) -> Result<()> {
        let path = self.path(name);
        let (bytes, sha256) = digest(&path)?;
        self.files.push(OutputFile {
            name: name.to_string(),
            bytes,
            sha256,
        });
        Ok(())
    }

    /// Adds a file to the manifest whose size and hash are known (it was
    /// hashed as it was written).
    pub fn record_digest(&mut self, name: &str, d: super::Digest) {
        self.files.push(OutputFile {
            name: name.to_string(),
            bytes: d.bytes,
            sha256: d.sha256,
        });
    }

    /// Writes `bytes` to `name` in the directory (atomically) and records it.
    pub fn write_bytes(&mut self, name: &str, bytes: Vec<u8>) -> Result<PathBuf> {
        let path = self.path(name);
        crate::atomic::write_bytes(&path, &bytes)?;
        self.record_digest(name, super::Digest::of(std::slice::from_ref(&bytes)));
        Ok(path)
    }

    /// The manifest so far, in the order written.
    pub fn manifest(&self) -> Vec<OutputFile> {
        self.files.clone()
    }

    /// Writes the marker: from here on the set is the report.
    pub fn commit(self, report_json: &[u8]) -> Result<PathBuf> {
        sync_dir(&self.dir);
        let marker = self.path(MARKER);
        crate::atomic::write_bytes(&marker, report_json)?;
        sync_dir(&self.dir);
        // A table the previous report had and this one lacks (an analysis
        // no longer configured) would look like part of this report.
        for name in &self.previous {
            if !self.files.iter().any(|f| &f.name == name) {
                let _ = fs::remove_file(self.dir.join(name));
            }
        }
        Ok(marker)
    }
}

/// The names in a report.json's manifest (none if there is no readable one).
fn previous_files(marker: &Path) -> Vec<String> {
    let Ok(text) = fs::read_to_string(marker) else {
        return Vec::new();
    };
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("run").cloned())
        .and_then(|r| serde_json::from_value::<crate::report::RunInfo>(r).ok())
        .map(|r| {
            r.files
                .into_iter()
                .map(|f| f.name)
                // Only plain names inside the directory: never a path a
                // hand-edited manifest could point elsewhere with.
                .filter(|n| !n.contains(['/', '\\']) && n != ".." && n != ".")
                .collect()
        })
        .unwrap_or_default()
}

/// Size and SHA-256 (lowercase hex, as `sha256sum` prints it) of a file.
pub fn digest(path: &Path) -> Result<(u64, String)> {
    let mut f = fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = f
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((n, hex(&h.finalize())))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Makes the renames durable before the next step (a power cut must not
/// reorder them); best effort where a directory cannot be opened.
fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

//! Output sinks: CSV (plain or gzip) formatted by hand, Parquet via polars in
//! row-group-sized batches, and the truth CSV. Every file is written to
//! `<name>.tmp-<pid>` in the target directory and renamed on success, so a
//! reader never sees a half-written file under the final name.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use flate2::Compression;
use flate2::write::GzEncoder;
use polars::prelude::*;

use super::format::{as_str, csv_row, push_item, push_page, push_uint, push_user_id};
use super::{Event, UserTruth};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Csv,
    CsvGz,
    Parquet,
}

impl Format {
    pub(crate) fn from_path(p: &Path) -> anyhow::Result<Format> {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if name.ends_with(".csv.gz") {
            Ok(Format::CsvGz)
        } else if name.ends_with(".csv") {
            Ok(Format::Csv)
        } else if name.ends_with(".parquet") {
            Ok(Format::Parquet)
        } else {
            bail!(
                "unsupported output file {}: expected .csv, .csv.gz or .parquet",
                p.display()
            )
        }
    }
}

const HEADER: &str = "user_id,session_id,event,timestamp,page,product_id,device,channel\n";
const HEADER_AMOUNT: &str =
    "user_id,session_id,event,timestamp,page,product_id,device,channel,amount\n";
/// Matches polars' default row-group size, bounding memory to one row group.
const PARQUET_BATCH_ROWS: usize = 512 * 512;
const CSV_FLUSH_BYTES: usize = 1 << 20;

/// Temp file that is removed on drop unless [`TempFile::commit`] renamed it.
struct TempFile {
    tmp: PathBuf,
    dest: PathBuf,
    done: bool,
}

impl TempFile {
    fn create(dest: &Path) -> anyhow::Result<(TempFile, File)> {
        let mut name = dest.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".tmp-{}", std::process::id()));
        let tmp = dest.with_file_name(name);
        let file = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        let guard = TempFile {
            tmp,
            dest: dest.to_path_buf(),
            done: false,
        };
        Ok((guard, file))
    }

    fn commit(mut self) -> anyhow::Result<()> {
        std::fs::rename(&self.tmp, &self.dest).with_context(|| {
            format!("renaming {} to {}", self.tmp.display(), self.dest.display())
        })?;
        self.done = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

enum CsvOut {
    Plain(File),
    Gz(Box<GzEncoder<File>>),
}

struct ParquetOut {
    // `None` until the first batch fixes the schema.
    writer: Option<polars::io::parquet::write::BatchedWriter<File>>,
    file: Option<File>,
    cols: Columns,
}

/// Column builders for one Parquet row group.
struct Columns {
    rows: usize,
    user_id: StringChunkedBuilder,
    session_id: StringChunkedBuilder,
    event: StringChunkedBuilder,
    ts: Vec<i64>,
    page: StringChunkedBuilder,
    product_id: StringChunkedBuilder,
    device: StringChunkedBuilder,
    channel: StringChunkedBuilder,
    /// `Some` when the file has an `amount` column.
    amount: Option<Vec<Option<f64>>>,
}

impl Columns {
    fn new(amount: bool) -> Self {
        let b = |n: &str| StringChunkedBuilder::new(n.into(), PARQUET_BATCH_ROWS + 1024);
        Columns {
            rows: 0,
            user_id: b("user_id"),
            session_id: b("session_id"),
            event: b("event"),
            ts: Vec::with_capacity(PARQUET_BATCH_ROWS + 1024),
            page: b("page"),
            product_id: b("product_id"),
            device: b("device"),
            channel: b("channel"),
            amount: amount.then(|| Vec::with_capacity(PARQUET_BATCH_ROWS + 1024)),
        }
    }

    fn take_frame(&mut self) -> PolarsResult<DataFrame> {
        let with_amount = self.amount.is_some();
        let cols = std::mem::replace(self, Columns::new(with_amount));
        let ts = Int64Chunked::from_vec("timestamp".into(), cols.ts)
            .into_datetime(TimeUnit::Milliseconds, Some(TimeZone::UTC));
        let mut columns = vec![
            cols.user_id.finish().into_column(),
            cols.session_id.finish().into_column(),
            cols.event.finish().into_column(),
            ts.into_column(),
            cols.page.finish().into_column(),
            cols.product_id.finish().into_column(),
            cols.device.finish().into_column(),
            cols.channel.finish().into_column(),
        ];
        if let Some(a) = cols.amount {
            columns.push(
                Float64Chunked::from_iter_options("amount".into(), a.into_iter()).into_column(),
            );
        }
        DataFrame::new(cols.rows, columns)
    }
}

enum Out {
    Csv(CsvOut),
    Parquet(Box<ParquetOut>),
}

pub(crate) struct EventSink {
    guard: TempFile,
    out: Out,
    buf: Vec<u8>,
    scratch: Vec<u8>,
    amount: bool,
}

impl EventSink {
    /// `amount`: add the `amount` column (`generate --experiment`).
    pub(crate) fn create(dest: &Path, format: Format, amount: bool) -> anyhow::Result<EventSink> {
        let (guard, file) = TempFile::create(dest)?;
        let mut buf = Vec::with_capacity(CSV_FLUSH_BYTES + 64 * 1024);
        let out = match format {
            Format::Csv => Out::Csv(CsvOut::Plain(file)),
            // mtime 0 in the default header keeps .csv.gz byte-identical per seed.
            Format::CsvGz => Out::Csv(CsvOut::Gz(Box::new(GzEncoder::new(
                file,
                Compression::default(),
            )))),
            Format::Parquet => Out::Parquet(Box::new(ParquetOut {
                writer: None,
                file: Some(file),
                cols: Columns::new(amount),
            })),
        };
        if matches!(out, Out::Csv(_)) {
            buf.extend_from_slice(if amount { HEADER_AMOUNT } else { HEADER }.as_bytes());
        }
        Ok(EventSink {
            guard,
            out,
            buf,
            scratch: Vec::with_capacity(64),
            amount,
        })
    }

    pub(crate) fn write_user(
        &mut self,
        idx: u64,
        user: &UserTruth,
        events: &[Event],
    ) -> anyhow::Result<()> {
        match &mut self.out {
            Out::Csv(out) => {
                for ev in events {
                    csv_row(&mut self.buf, idx, user, ev, self.amount);
                }
                if self.buf.len() >= CSV_FLUSH_BYTES {
                    out.write_all(&self.buf)?;
                    self.buf.clear();
                }
            }
            Out::Parquet(pq) => {
                let s = &mut self.scratch;
                let c = &mut pq.cols;
                for ev in events {
                    s.clear();
                    push_user_id(s, idx);
                    c.user_id.append_value(as_str(s));
                    s.extend_from_slice(b"-s");
                    push_uint(s, u64::from(ev.session), 1);
                    c.session_id.append_value(as_str(s));
                    c.event.append_value(ev.name);
                    c.ts.push(ev.ts);
                    s.clear();
                    push_page(s, ev.page);
                    c.page.append_value(as_str(s));
                    s.clear();
                    if push_item(s, ev.item) {
                        c.product_id.append_value(as_str(s));
                    } else {
                        c.product_id.append_null();
                    }
                    c.device.append_value(user.device.as_str());
                    c.channel.append_value(user.channel.as_str());
                    if let Some(a) = &mut c.amount {
                        a.push(ev.amount.map(f64::from));
                    }
                }
                c.rows += events.len();
                if c.rows >= PARQUET_BATCH_ROWS {
                    pq.flush()?;
                }
            }
        }
        Ok(())
    }

    pub(crate) fn finish(mut self) -> anyhow::Result<()> {
        match &mut self.out {
            Out::Csv(out) => {
                out.write_all(&self.buf)?;
                match out {
                    CsvOut::Plain(f) => f.flush()?,
                    CsvOut::Gz(gz) => gz.try_finish()?,
                }
            }
            Out::Parquet(pq) => {
                pq.flush_all()?;
            }
        }
        drop(self.out);
        self.guard.commit()
    }
}

impl Write for CsvOut {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        match self {
            CsvOut::Plain(f) => f.write(b),
            CsvOut::Gz(g) => g.write(b),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            CsvOut::Plain(f) => f.flush(),
            CsvOut::Gz(g) => g.flush(),
        }
    }
}

impl ParquetOut {
    fn flush(&mut self) -> anyhow::Result<()> {
        let df = self.cols.take_frame()?;
        if self.writer.is_none() {
            let file = self
                .file
                .take()
                .expect("parquet file present until first batch");
            self.writer = Some(ParquetWriter::new(file).batched(df.schema())?);
        }
        self.writer
            .as_mut()
            .expect("writer set above")
            .write_batch(&df)?;
        Ok(())
    }

    fn flush_all(&mut self) -> anyhow::Result<()> {
        // Also runs with zero rows so that an empty data set still has a schema.
        if self.cols.rows > 0 || self.writer.is_none() {
            self.flush()?;
        }
        self.writer.as_mut().expect("flushed above").finish()?;
        Ok(())
    }
}

/// Truth CSV: `user_id,segment,p_convert,converted`.
pub(crate) struct TruthSink {
    guard: TempFile,
    w: BufWriter<File>,
    scratch: Vec<u8>,
}

impl TruthSink {
    pub(crate) fn create(dest: &Path) -> anyhow::Result<TruthSink> {
        let (guard, file) = TempFile::create(dest)?;
        let mut w = BufWriter::with_capacity(1 << 16, file);
        w.write_all(b"user_id,segment,p_convert,converted\n")?;
        Ok(TruthSink {
            guard,
            w,
            scratch: Vec::with_capacity(16),
        })
    }

    pub(crate) fn write_user(&mut self, idx: u64, user: &UserTruth) -> anyhow::Result<()> {
        self.scratch.clear();
        push_user_id(&mut self.scratch, idx);
        self.w.write_all(&self.scratch)?;
        writeln!(
            self.w,
            ",{},{:.6},{}",
            user.segment,
            user.p_convert,
            u8::from(user.converted)
        )?;
        Ok(())
    }

    pub(crate) fn finish(self) -> anyhow::Result<()> {
        drop(self.w.into_inner().map_err(|e| e.into_error())?);
        self.guard.commit()
    }
}

/// The treated users of `generate --rollout`: user_id.
pub(crate) fn treated_users(path: &Path, users: &[u64]) -> anyhow::Result<()> {
    let mut buf = Vec::with_capacity(users.len() * 10 + 8);
    buf.extend_from_slice(b"user_id\n");
    for &idx in users {
        push_user_id(&mut buf, idx);
        buf.push(b'\n');
    }
    crate::atomic::write_bytes(path, &buf)
}

/// The assignments CSV of `generate --experiment`: user_id,arm,assigned_at.
pub(crate) fn assignments(path: &Path, rows: &[(u64, usize, i64)]) -> anyhow::Result<()> {
    let mut buf = Vec::with_capacity(rows.len() * 48 + 32);
    buf.extend_from_slice(b"user_id,arm,assigned_at\n");
    for &(idx, arm, t0) in rows {
        push_user_id(&mut buf, idx);
        buf.push(b',');
        buf.extend_from_slice(super::experiment::ARMS[arm].as_bytes());
        buf.push(b',');
        super::format::push_timestamp(&mut buf, t0);
        buf.push(b'\n');
    }
    crate::atomic::write_bytes(path, &buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_from_extension() {
        assert_eq!(
            Format::from_path(Path::new("a/b.csv")).unwrap(),
            Format::Csv
        );
        assert_eq!(
            Format::from_path(Path::new("b.CSV.GZ")).unwrap(),
            Format::CsvGz
        );
        assert_eq!(
            Format::from_path(Path::new("b.parquet")).unwrap(),
            Format::Parquet
        );
        assert!(Format::from_path(Path::new("b.json")).is_err());
    }
}

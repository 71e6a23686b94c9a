//! `[[sources]]` in Parquet: the file's rows as text records, so the
//! customer table and the transactions go through the same per-row checks
//! and row accounting as CSV. Decoded a batch of row groups at a time (not
//! the whole file next to the tables being built). Cells become the text a
//! CSV export of the file would hold: datetimes as RFC 3339 in UTC with
//! milliseconds (a datetime without a time zone is read as UTC, as the
//! event ingest does), dates as YYYY-MM-DD, booleans as true/false, nulls
//! as empty cells. A row's "line" is its 1-based row number, as the event
//! ingest reports Parquet rows.

use std::path::Path;

use polars::prelude::*;

use crate::error::DataError;

const BATCH_ROWS: usize = 1 << 20;

pub struct ParquetRows {
    path: std::path::PathBuf,
    display: String,
    pub header: Vec<String>,
    metadata: polars::io::parquet::metadata::FileMetadataRef,
    batches: Vec<(usize, usize)>,
    next_batch: usize,
    /// The current batch's cells, column by column.
    cells: Vec<Vec<Option<String>>>,
    pos: usize,
    /// Rows before the current batch.
    offset: usize,
}

fn bad(display: &str, e: impl std::fmt::Display) -> DataError {
    DataError::Input(format!("{display}: not a readable Parquet file ({e})"))
}

fn guarded<T>(display: &str, f: impl FnOnce() -> Result<T, DataError>) -> Result<T, DataError> {
    let _named = crate::guard::Decoding::new(display);
    crate::guard::decoding(f).map_err(|panic| {
        DataError::Input(format!(
            "{display}: not a readable Parquet file: the decoder failed ({panic}); the file is damaged or uses an encoding this reader lacks"
        ))
    })?
}

impl ParquetRows {
    pub fn open(path: &Path) -> Result<ParquetRows, DataError> {
        let display = path.display().to_string();
        let shown = display.clone();
        guarded(&shown, || {
            let file = std::fs::File::open(path)
                .map_err(|e| DataError::Input(format!("{display}: cannot open: {e}")))?;
            let mut reader = ParquetReader::new(file);
            let metadata = reader.get_metadata().map_err(|e| bad(&display, e))?.clone();
            let header = reader
                .schema()
                .map_err(|e| bad(&display, e))?
                .iter_names()
                .map(|n| n.to_string())
                .collect();
            let mut batches = Vec::new();
            let (mut start, mut len) = (0, 0);
            for rg in &metadata.row_groups {
                len += rg.num_rows();
                if len >= BATCH_ROWS {
                    batches.push((start, len));
                    (start, len) = (start + len, 0);
                }
            }
            if len > 0 {
                batches.push((start, len));
            }
            Ok(ParquetRows {
                path: path.to_path_buf(),
                display,
                header,
                metadata,
                batches,
                next_batch: 0,
                cells: Vec::new(),
                pos: 0,
                offset: 0,
            })
        })
    }

    fn load(&mut self) -> Result<bool, DataError> {
        let Some(&(offset, rows)) = self.batches.get(self.next_batch) else {
            return Ok(false);
        };
        self.next_batch += 1;
        let display = self.display.clone();
        let (path, metadata) = (self.path.clone(), self.metadata.clone());
        let cells = guarded(&display, || {
            let file = std::fs::File::open(&path)
                .map_err(|e| DataError::Input(format!("{display}: cannot open: {e}")))?;
            let mut reader = ParquetReader::new(file).with_slice(Some((offset, rows)));
            reader.set_metadata(metadata);
            let df = reader.finish().map_err(|e| bad(&display, e))?;
            df.columns()
                .iter()
                .map(|c| text(c.as_materialized_series()).map_err(|e| bad(&display, e)))
                .collect::<Result<Vec<_>, _>>()
        })?;
        self.cells = cells;
        self.pos = 0;
        self.offset = offset;
        Ok(true)
    }

    /// The next row into `rec`, with its line; None at the end.
    pub fn next(&mut self, rec: &mut csv::ByteRecord) -> Result<Option<u64>, DataError> {
        loop {
            let n = self.cells.first().map_or(0, Vec::len);
            if self.pos < n {
                rec.clear();
                for col in &self.cells {
                    rec.push_field(col[self.pos].as_deref().unwrap_or("").as_bytes());
                }
                self.pos += 1;
                return Ok(Some((self.offset + self.pos) as u64));
            }
            if !self.load()? {
                return Ok(None);
            }
        }
    }
}

/// A column as the text of its cells.
fn text(s: &Series) -> PolarsResult<Vec<Option<String>>> {
    let ms_text = |ms: Option<i64>| {
        ms.and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
    };
    Ok(match s.dtype() {
        DataType::Datetime(_, tz) => {
            let ms = s.cast(&DataType::Datetime(TimeUnit::Milliseconds, tz.clone()))?;
            let ms = ms.cast(&DataType::Int64)?;
            ms.i64()?.iter().map(ms_text).collect()
        }
        DataType::Date => {
            let d = s.cast(&DataType::Datetime(TimeUnit::Milliseconds, None))?;
            let d = d.cast(&DataType::Int64)?;
            d.i64()?
                .iter()
                .map(|ms| {
                    ms.and_then(chrono::DateTime::from_timestamp_millis)
                        .map(|t| t.format("%Y-%m-%d").to_string())
                })
                .collect()
        }
        DataType::String => s.str()?.iter().map(|v| v.map(str::to_string)).collect(),
        _ => {
            let t = s.cast(&DataType::String)?;
            t.str()?.iter().map(|v| v.map(str::to_string)).collect()
        }
    })
}

//! CSV for [`super::Rows`]: rows formatted in chunks on every core, written
//! in order (formatting 280,000 score rows was most of a report's writing
//! time).

use std::path::Path;

use anyhow::Result;

use super::{Cells, CsvStyle, Rows};

/// [`super::iso`] into a reused buffer (no allocation per row for years 0–9999).
pub(super) fn iso_into(buf: &mut String, ms: i64) {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write as _;
    buf.clear();
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(d) if (0..=9999).contains(&d.year()) => {
            let _ = write!(
                buf,
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                d.year(),
                d.month(),
                d.day(),
                d.hour(),
                d.minute(),
                d.second(),
                d.timestamp_subsec_millis()
            );
        }
        Some(d) => buf.push_str(&d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        None => {}
    }
}

struct CsvCells<'a> {
    out: &'a mut csv::Writer<Vec<u8>>,
    buf: &'a mut String,
    style: CsvStyle,
    err: Option<csv::Error>,
}

impl CsvCells<'_> {
    fn field(&mut self, s: &str) {
        if self.err.is_none()
            && let Err(e) = self.out.write_field(s)
        {
            self.err = Some(e);
        }
    }
}

/// Text a spreadsheet would run as a formula.
fn formula_like(s: &str) -> bool {
    s.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

impl Cells for CsvCells<'_> {
    fn text(&mut self, v: Option<&str>) {
        let s = v.unwrap_or("");
        if self.style.spreadsheet_safe && formula_like(s) {
            let safe = format!("'{s}");
            self.field(&safe);
        } else {
            self.field(s);
        }
    }
    fn int(&mut self, v: Option<i64>) {
        use std::fmt::Write as _;
        self.buf.clear();
        if let Some(x) = v {
            let _ = write!(self.buf, "{x}");
        }
        let s = std::mem::take(self.buf);
        self.field(&s);
        *self.buf = s;
    }
    fn float(&mut self, v: Option<f64>) {
        use std::fmt::Write as _;
        self.buf.clear();
        if let Some(x) = v {
            let _ = write!(self.buf, "{x}");
        }
        let s = std::mem::take(self.buf);
        self.field(&s);
        *self.buf = s;
    }
    fn time(&mut self, ms: Option<i64>) {
        match ms {
            Some(ms) => iso_into(self.buf, ms),
            None => self.buf.clear(),
        }
        let s = std::mem::take(self.buf);
        self.field(&s);
        *self.buf = s;
    }
}

/// Writes the table and returns its size and SHA-256, hashed from memory on
/// a second thread while the bytes go to the file (hashing the file after
/// writing it read back every byte of a 141 MB scores.csv).
pub(super) fn write(path: &Path, rows: &dyn Rows, style: CsvStyle) -> Result<super::Digest> {
    let header: Vec<String> = rows.columns().into_iter().map(|c| c.name).collect();
    let parts = crate::parallel::map_ranges(rows.len(), |range| -> Result<Vec<u8>> {
        let mut out = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::with_capacity(range.len() * 112));
        let mut buf = String::new();
        for i in range {
            let mut cells = CsvCells {
                out: &mut out,
                buf: &mut buf,
                style,
                err: None,
            };
            rows.row(i, &mut cells);
            if let Some(e) = cells.err {
                return Err(e.into());
            }
            out.write_record(None::<&[u8]>)?;
        }
        Ok(out.into_inner().map_err(|e| e.into_error())?)
    });
    let mut head = csv::Writer::from_writer(Vec::new());
    head.write_record(&header)?;
    let mut chunks = vec![head.into_inner().map_err(|e| e.into_error())?];
    for part in parts {
        chunks.push(part?);
    }
    let chunks = &chunks;
    let (written, digest) = std::thread::scope(|s| {
        let hashing = s.spawn(move || super::Digest::of(chunks));
        let written = crate::atomic::write_with(path, |w| {
            for c in chunks {
                w.write_all(c)?;
            }
            Ok(())
        });
        (written, hashing.join())
    });
    written?;
    digest.map_err(|_| anyhow::anyhow!("internal: hashing {} failed", path.display()))
}

#[cfg(test)]
mod tests {
    use super::super::{ColumnSpec, Kind};
    use super::*;

    fn iso(ms: i64) -> String {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default()
    }

    #[test]
    fn iso_into_writes_what_chrono_writes() {
        let mut buf = String::from("left over");
        for ms in [
            0,
            1,
            -1,
            999,
            1_790_000_000_123,
            -62_135_596_800_000, // 0001-01-01
            253_402_300_799_999, // 9999-12-31T23:59:59.999
            253_402_300_800_000, // year 10000: chrono's own form
            -62_198_755_200_000, // year -1
        ] {
            iso_into(&mut buf, ms);
            assert_eq!(buf, iso(ms), "{ms}");
        }
    }

    struct Ids(Vec<&'static str>);
    impl Rows for Ids {
        fn columns(&self) -> Vec<ColumnSpec> {
            vec![
                ColumnSpec::new("user_id", Kind::Text),
                ColumnSpec::new("x", Kind::Float),
            ]
        }
        fn len(&self) -> usize {
            self.0.len()
        }
        fn row(&self, i: usize, out: &mut dyn Cells) {
            out.text(Some(self.0[i]));
            out.float((i > 0).then_some(0.5));
        }
    }

    #[test]
    fn formula_like_ids_are_kept_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        let ids = Ids(vec!["=SUM(A1)", "+1", "plain", "a,b"]);
        write(&p, &ids, CsvStyle::default()).unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "user_id,x\n=SUM(A1),\n+1,0.5\nplain,0.5\n\"a,b\",0.5\n"
        );
        write(
            &p,
            &ids,
            CsvStyle {
                spreadsheet_safe: true,
            },
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "user_id,x\n'=SUM(A1),\n'+1,0.5\nplain,0.5\n\"a,b\",0.5\n"
        );
    }
}

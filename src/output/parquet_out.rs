//! Parquet for [`super::Rows`], through polars.

use std::path::Path;

use anyhow::Result;
use polars::prelude::*;

use super::{Cells, Kind, Rows};

#[derive(Default)]
struct Collect {
    text: Vec<Vec<Option<String>>>,
    int: Vec<Vec<Option<i64>>>,
    float: Vec<Vec<Option<f64>>>,
    time: Vec<Vec<Option<i64>>>,
    /// (kind, index within that kind's columns) per column.
    slots: Vec<(Kind, usize)>,
    at: usize,
}

impl Collect {
    fn next(&mut self) -> usize {
        let (_, k) = self.slots[self.at];
        self.at += 1;
        k
    }
}

impl Cells for Collect {
    fn text(&mut self, v: Option<&str>) {
        let k = self.next();
        self.text[k].push(v.map(str::to_string));
    }
    fn int(&mut self, v: Option<i64>) {
        let k = self.next();
        self.int[k].push(v);
    }
    fn float(&mut self, v: Option<f64>) {
        let k = self.next();
        self.float[k].push(v);
    }
    fn time(&mut self, ms: Option<i64>) {
        let k = self.next();
        self.time[k].push(ms);
    }
}

pub(super) fn write(path: &Path, rows: &dyn Rows) -> Result<()> {
    let cols = rows.columns();
    let mut c = Collect::default();
    for col in &cols {
        let k = match col.kind {
            Kind::Text => {
                c.text.push(Vec::with_capacity(rows.len()));
                c.text.len() - 1
            }
            Kind::Int => {
                c.int.push(Vec::with_capacity(rows.len()));
                c.int.len() - 1
            }
            Kind::Float => {
                c.float.push(Vec::with_capacity(rows.len()));
                c.float.len() - 1
            }
            Kind::Time => {
                c.time.push(Vec::with_capacity(rows.len()));
                c.time.len() - 1
            }
        };
        c.slots.push((col.kind, k));
    }
    for i in 0..rows.len() {
        c.at = 0;
        rows.row(i, &mut c);
    }
    let columns: Vec<Column> = cols
        .iter()
        .zip(&c.slots)
        .map(|(spec, &(kind, k))| {
            let name: PlSmallStr = spec.name.as_str().into();
            match kind {
                Kind::Text => Column::new(name, &c.text[k]),
                Kind::Int => Column::new(name, &c.int[k]),
                Kind::Float => Column::new(name, &c.float[k]),
                Kind::Time => Int64Chunked::new(name, &c.time[k])
                    .into_datetime(TimeUnit::Milliseconds, Some(TimeZone::UTC))
                    .into_column(),
            }
        })
        .collect();
    let mut df = DataFrame::new(rows.len(), columns)?;
    crate::atomic::write_with(path, |w| {
        ParquetWriter::new(w).finish(&mut df)?;
        Ok(())
    })
}

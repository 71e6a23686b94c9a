//! Parquet through polars. Arrow strings are valid UTF-8 by construction, so
//! the row checks here are nulls, empties and timestamps.

use std::path::Path;

use anyhow::Result;
use polars::prelude::*;

use super::chunk::{Chunk, Row, TimeCell, validate};
use super::timestamp::TimeParser;
use super::{IngestOptions, Layout, PropRegistry, resolve_layout, thread_count};
use crate::error::DataError;

const PARALLEL_MIN_ROWS: usize = 200_000;

/// The timestamp column in the one physical form it is read in.
enum TimeCol {
    Text(StringChunked),
    Int(Int64Chunked),
    Float(Float64Chunked),
    Instant { ms: Int64Chunked, naive: bool },
}

pub(crate) fn read(
    path: &Path,
    display: &str,
    opts: &IngestOptions,
    parser: &TimeParser,
    registry: &mut PropRegistry,
) -> Result<(Vec<Chunk>, Layout, Vec<String>)> {
    let unreadable = |message: String| DataError::Unreadable {
        file: display.to_string(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|e| unreadable(e.to_string()))?;
    let df = ParquetReader::new(file)
        .finish()
        .map_err(|e| unreadable(format!("not a readable Parquet file ({e})")))?;
    let header: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut layout = resolve_layout(display, &header, opts, registry)?;
    let mut notes = Vec::new();

    let string_col = |i: usize| -> Result<StringChunked, String> {
        let s = df.columns()[i].as_materialized_series();
        s.cast(&DataType::String)
            .map_err(|e| {
                format!(
                    "column '{}' ({}) cannot be read as text: {e}",
                    header[i],
                    s.dtype()
                )
            })
            .and_then(|c| c.str().cloned().map_err(|e| e.to_string()))
    };
    let user = string_col(layout.user).map_err(unreadable)?;
    let event = string_col(layout.event).map_err(unreadable)?;
    let session = layout
        .session
        .map(string_col)
        .transpose()
        .map_err(unreadable)?;
    let time = time_column(
        df.columns()[layout.time].as_materialized_series(),
        &header[layout.time],
    )
    .map_err(unreadable)?;
    let mut props = Vec::new();
    layout.props.retain(|&(col, p)| match string_col(col) {
        Ok(ca) => {
            props.push((p, ca));
            true
        }
        Err(msg) => {
            notes.push(format!("{display}: skipped property {msg}"));
            false
        }
    });

    let n = df.height();
    let threads = if n >= PARALLEL_MIN_ROWS {
        thread_count(opts)
    } else {
        1
    };
    let per = n.div_ceil(threads.max(1)).max(1);
    let n_props = registry.names.len();
    let layout_ref = &layout;
    let chunks = std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .step_by(per)
            .map(|from| {
                let len = per.min(n - from);
                let (user, event, session, time, props) = (&user, &event, &session, &time, &props);
                s.spawn(move || {
                    parse_rows(
                        from,
                        len,
                        display,
                        layout_ref,
                        opts,
                        parser,
                        n_props,
                        user,
                        event,
                        session.as_ref(),
                        time,
                        props,
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("parquet worker panicked"))
            .collect::<Vec<_>>()
    });
    Ok((chunks, layout, notes))
}

impl TimeCol {
    fn slice(&self, off: i64, len: usize) -> TimeCol {
        match self {
            TimeCol::Text(ca) => TimeCol::Text(ca.slice(off, len)),
            TimeCol::Int(ca) => TimeCol::Int(ca.slice(off, len)),
            TimeCol::Float(ca) => TimeCol::Float(ca.slice(off, len)),
            TimeCol::Instant { ms, naive } => TimeCol::Instant {
                ms: ms.slice(off, len),
                naive: *naive,
            },
        }
    }
}

fn time_column(s: &Series, name: &str) -> Result<TimeCol, String> {
    let cast = |dt: &DataType| s.cast(dt).map_err(|e| format!("column '{name}': {e}"));
    Ok(match s.dtype() {
        DataType::Datetime(_, tz) => {
            let naive = tz.is_none();
            let ms = cast(&DataType::Datetime(TimeUnit::Milliseconds, tz.clone()))?;
            let ms = ms.cast(&DataType::Int64).map_err(|e| e.to_string())?;
            TimeCol::Instant {
                ms: ms.i64().map_err(|e| e.to_string())?.clone(),
                naive,
            }
        }
        DataType::Date => {
            let ms = cast(&DataType::Datetime(TimeUnit::Milliseconds, None))?;
            let ms = ms.cast(&DataType::Int64).map_err(|e| e.to_string())?;
            TimeCol::Instant {
                ms: ms.i64().map_err(|e| e.to_string())?.clone(),
                naive: true,
            }
        }
        DataType::String => TimeCol::Text(s.str().map_err(|e| e.to_string())?.clone()),
        dt if dt.is_integer() => TimeCol::Int(
            cast(&DataType::Int64)?
                .i64()
                .map_err(|e| e.to_string())?
                .clone(),
        ),
        dt if dt.is_float() => TimeCol::Float(
            cast(&DataType::Float64)?
                .f64()
                .map_err(|e| e.to_string())?
                .clone(),
        ),
        dt => {
            return Err(format!(
                "timestamp column '{name}' has type {dt}; expected a datetime, a date, epoch numbers or text (use --time-col to map another column)"
            ));
        }
    })
}

#[allow(clippy::too_many_arguments)]
fn parse_rows(
    from: usize,
    len: usize,
    display: &str,
    layout: &Layout,
    opts: &IngestOptions,
    parser: &TimeParser,
    n_props: usize,
    user: &StringChunked,
    event: &StringChunked,
    session: Option<&StringChunked>,
    time: &TimeCol,
    props: &[(usize, StringChunked)],
) -> Chunk {
    let mut chunk = Chunk::new(n_props, len);
    let off = from as i64;
    let user = user.slice(off, len);
    let event = event.slice(off, len);
    let session = session.map(|s| s.slice(off, len));
    let mut sessions = session.as_ref().map(|s| s.iter());
    let time = time.slice(off, len);
    let times: Box<dyn Iterator<Item = TimeCell>> = match &time {
        TimeCol::Text(ca) => Box::new(ca.iter().map(|v| v.map_or(TimeCell::Null, TimeCell::Text))),
        TimeCol::Int(ca) => Box::new(
            ca.iter()
                .map(|v| v.map_or(TimeCell::Null, TimeCell::EpochInt)),
        ),
        TimeCol::Float(ca) => Box::new(
            ca.iter()
                .map(|v| v.map_or(TimeCell::Null, TimeCell::EpochFloat)),
        ),
        TimeCol::Instant { ms, naive } => {
            let naive = *naive;
            Box::new(
                ms.iter()
                    .map(move |v| v.map_or(TimeCell::Null, |ms| TimeCell::Instant { ms, naive })),
            )
        }
    };
    let prop_slices: Vec<(usize, StringChunked)> = props
        .iter()
        .map(|(p, ca)| (*p, ca.slice(off, len)))
        .collect();
    let mut prop_iters: Vec<_> = prop_slices.iter().map(|(p, ca)| (*p, ca.iter())).collect();
    for (i, ((u, e), t)) in user.iter().zip(event.iter()).zip(times).enumerate() {
        chunk.read += 1;
        let row = Row {
            user: u,
            event: e,
            time: t,
            session: sessions.as_mut().map(|it| it.next().flatten()),
        };
        match validate(&row, parser, &layout.names) {
            Ok(valid) => chunk.push(
                valid,
                prop_iters
                    .iter_mut()
                    .map(|(p, it)| (*p, it.next().flatten())),
            ),
            Err(r) => {
                for (_, it) in prop_iters.iter_mut() {
                    it.next();
                }
                // Parquet has no text line; the mapped user and event identify the row.
                let locate = || {
                    let raw = format!("{},{}", u.unwrap_or(""), e.unwrap_or(""));
                    (display.to_string(), (from + i + 1) as u64, raw)
                };
                if !chunk.reject(r, opts.keep_rejects, opts.strict, locate) {
                    break;
                }
            }
        }
    }
    chunk
}

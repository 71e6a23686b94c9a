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
    sink: &mut dyn FnMut(Vec<Chunk>) -> Result<()>,
) -> Result<(Layout, Vec<String>)> {
    let _named = crate::guard::Decoding::new(display);
    crate::guard::decoding(|| {
        read_batched(path, display, opts, parser, registry, BATCH_ROWS, sink)
    })
        .map_err(|panic| DataError::Unreadable {
            file: display.to_string(),
            message: format!(
                "not a readable Parquet file: the decoder failed ({panic}); the file is damaged or uses an encoding this reader lacks"
            ),
        })?
}

fn read_batched(
    path: &Path,
    display: &str,
    opts: &IngestOptions,
    parser: &TimeParser,
    registry: &mut PropRegistry,
    batch_rows: usize,
    sink: &mut dyn FnMut(Vec<Chunk>) -> Result<()>,
) -> Result<(Layout, Vec<String>)> {
    let unreadable = |message: String| DataError::Unreadable {
        file: display.to_string(),
        message,
    };
    let open = || std::fs::File::open(path).map_err(|e| unreadable(e.to_string()));
    let bad = |e: PolarsError| unreadable(format!("not a readable Parquet file ({e})"));
    let mut reader = ParquetReader::new(open()?);
    let metadata = reader.get_metadata().map_err(bad)?.clone();
    // Columns of a type the decoder cannot build (structs, maps, 256-bit
    // decimals) are left unread: decoding them fails the whole file, and
    // a property nobody asked for must not stop the run.
    let mut header = Vec::new();
    let mut keep = Vec::new();
    let mut notes = Vec::new();
    let m = &opts.mapping;
    for (i, f) in reader.schema().map_err(bad)?.iter_values().enumerate() {
        let name = f.name.to_string();
        if readable(&f.dtype) {
            keep.push(i);
            header.push(name);
            continue;
        }
        let role = [&m.user, &m.event, &m.time]
            .into_iter()
            .chain(m.session.as_ref())
            .any(|r| *r == name);
        if role {
            return Err(unreadable(format!(
                "column '{name}' has the Parquet type {}, which cannot be read as ids, names or times; map another column or cast it when exporting",
                type_name(&f.dtype)
            ))
            .into());
        }
        notes.push(format!(
            "{}: skipped property {} (type {} is not supported)",
            crate::doc::rich::code(display),
            crate::doc::rich::code(&name),
            type_name(&f.dtype)
        ));
    }
    let mut layout = resolve_layout(display, &header, opts, registry)?;
    // Decode only the mapped columns and the properties read.
    let mut used: Vec<usize> = [layout.user, layout.event, layout.time]
        .into_iter()
        .chain(layout.session)
        .chain(layout.props.iter().map(|&(c, _)| c))
        .chain(layout.hashed.iter().map(|&(c, _)| c))
        .collect();
    used.sort_unstable();
    used.dedup();
    let at = |c: usize| used.binary_search(&c).unwrap_or(0);
    layout.user = at(layout.user);
    layout.event = at(layout.event);
    layout.time = at(layout.time);
    layout.session = layout.session.map(at);
    for p in layout.props.iter_mut().chain(layout.hashed.iter_mut()) {
        p.0 = at(p.0);
    }
    layout.n_cols = used.len();
    let width = header.len() + notes.len();
    let header: Vec<String> = used.iter().map(|&c| header[c].clone()).collect();
    let projection = (used.len() < width).then(|| used.iter().map(|&c| keep[c]).collect());

    // Read a few row groups at a time: the decoded columns of the whole file
    // next to the event table would be the run's peak memory.
    let mut batches: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    let mut len = 0;
    for rg in &metadata.row_groups {
        len += rg.num_rows();
        if len >= batch_rows {
            batches.push((start, len));
            (start, len) = (start + len, 0);
        }
    }
    if len > 0 || batches.is_empty() {
        batches.push((start, len));
    }
    // Each batch's chunks go to the sink as they are decoded: a
    // partitioned run spills them, so the file is never whole in memory.
    for (i, &(offset, rows)) in batches.iter().enumerate() {
        let mut reader = ParquetReader::new(open()?)
            .with_slice(Some((offset, rows)))
            .with_projection(projection.clone());
        reader.set_metadata(metadata.clone());
        let df = reader.finish().map_err(bad)?;
        sink(parse_frame(
            &df,
            offset,
            display,
            &header,
            &mut layout,
            // Unreadable property columns are decided (and noted) on the first batch.
            (i == 0).then_some(&mut notes),
            opts,
            parser,
            registry.names.len(),
        )?)?;
    }
    Ok((layout, notes))
}

/// Whether the Parquet decoder can build a column of this type (polars is
/// built with datetime and decimal types only; see Cargo.toml). Small
/// integers and half floats need polars' dtype-i8/i16/u8/u16 features, not
/// built in: pandas' downcast flags (int8) failed whole files before.
fn readable(dt: &ArrowDataType) -> bool {
    use ArrowDataType as A;
    match dt {
        A::Struct(_) | A::Map(..) | A::Union(_) | A::Extension(_) | A::Unknown => false,
        A::Int8 | A::Int16 | A::UInt8 | A::UInt16 | A::Float16 => false,
        A::Decimal256(..) => false,
        A::Decimal(p, _) | A::Decimal32(p, _) | A::Decimal64(p, _) => *p <= 38,
        A::Dictionary(_, inner, _) => readable(inner),
        // Readable, but a list has no text form to match or group by.
        A::List(_) | A::LargeList(_) | A::FixedSizeList(..) => false,
        _ => true,
    }
}

fn type_name(dt: &ArrowDataType) -> String {
    use ArrowDataType as A;
    match dt {
        A::Struct(_) => "struct".into(),
        A::Map(..) => "map".into(),
        A::Union(_) => "union".into(),
        A::Extension(_) => "extension".into(),
        A::Decimal256(p, s) => format!("decimal({p}, {s}) of 256 bits"),
        A::Decimal(p, s) | A::Decimal32(p, s) | A::Decimal64(p, s) => format!("decimal({p}, {s})"),
        A::Dictionary(_, inner, _) => format!("dictionary of {}", type_name(inner)),
        A::List(f) | A::LargeList(f) | A::FixedSizeList(f, _) => {
            format!("list of {}", type_name(&f.dtype))
        }
        other => format!("{other:?}").to_lowercase(),
    }
}

/// Rows per batch read (whole row groups, so at least this many).
const BATCH_ROWS: usize = 1 << 20;

/// Validates the rows of one batch (`offset`: its first row in the file).
#[allow(clippy::too_many_arguments)]
fn parse_frame(
    df: &DataFrame,
    offset: usize,
    display: &str,
    header: &[String],
    layout: &mut Layout,
    notes: Option<&mut Vec<String>>,
    opts: &IngestOptions,
    parser: &TimeParser,
    n_props: usize,
) -> Result<Vec<Chunk>> {
    let unreadable = |message: String| DataError::Unreadable {
        file: display.to_string(),
        message,
    };
    let string_col = |i: usize| -> Result<StringChunked, String> {
        let s = df.columns()[i].as_materialized_series();
        s.cast(&DataType::String)
            .map_err(|e| {
                format!(
                    "column {} ({}) cannot be read as text: {e}",
                    crate::doc::rich::code(&header[i]),
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
    let mut hashed = Vec::new();
    match notes {
        Some(notes) => {
            let mut keep = |col: usize, p: usize, into: &mut Vec<(usize, StringChunked)>| {
                match string_col(col) {
                    Ok(ca) => {
                        into.push((p, ca));
                        true
                    }
                    Err(msg) => {
                        notes.push(format!(
                            "{}: skipped property {msg}",
                            crate::doc::rich::code(display)
                        ));
                        false
                    }
                }
            };
            layout.props.retain(|&(col, p)| keep(col, p, &mut props));
            layout.hashed.retain(|&(col, p)| keep(col, p, &mut hashed));
        }
        None => {
            for &(col, p) in &layout.props {
                props.push((p, string_col(col).map_err(unreadable)?));
            }
            for &(col, p) in &layout.hashed {
                hashed.push((p, string_col(col).map_err(unreadable)?));
            }
        }
    }

    let n = df.height();
    let threads = if n >= PARALLEL_MIN_ROWS {
        thread_count(opts)
    } else {
        1
    };
    let per = n.div_ceil(threads.max(1)).max(1);
    let layout_ref = &*layout;
    let chunks = std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .step_by(per)
            .map(|from| {
                let len = per.min(n - from);
                let (user, event, session, time) = (&user, &event, &session, &time);
                let (props, hashed) = (&props, &hashed);
                s.spawn(move || {
                    parse_rows(
                        from,
                        offset,
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
                        hashed,
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("parquet worker panicked"))
            .collect::<Vec<_>>()
    });
    Ok(chunks)
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
    offset: usize,
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
    hashed: &[(usize, StringChunked)],
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
    let hashed_slices: Vec<(usize, StringChunked)> = hashed
        .iter()
        .map(|(p, ca)| (*p, ca.slice(off, len)))
        .collect();
    let mut hashed_iters: Vec<_> = hashed_slices
        .iter()
        .map(|(p, ca)| (*p, ca.iter()))
        .collect();
    for (i, ((u, e), t)) in user.iter().zip(event.iter()).zip(times).enumerate() {
        chunk.read += 1;
        let row = Row {
            user: u,
            event: e,
            time: t,
            session: sessions.as_mut().map(|it| it.next().flatten()),
        };
        match validate(&row, parser, &layout.names) {
            Ok(valid) => {
                chunk.push(
                    valid,
                    prop_iters
                        .iter_mut()
                        .map(|(p, it)| (*p, it.next().flatten())),
                );
                if !hashed_iters.is_empty() {
                    let cells = hashed_iters
                        .iter_mut()
                        .map(|(p, it)| (*p, it.next().flatten()));
                    chunk.rest.push(super::chunk::rest_hash(cells));
                }
            }
            Err(r) => {
                for (_, it) in prop_iters.iter_mut() {
                    it.next();
                }
                for (_, it) in hashed_iters.iter_mut() {
                    it.next();
                }
                // Parquet has no text line; the mapped user and event identify the row.
                let locate = || {
                    let raw = format!("{},{}", u.unwrap_or(""), e.unwrap_or(""));
                    (display.to_string(), (offset + from + i + 1) as u64, raw)
                };
                if !chunk.reject(r, opts.keep_rejects, opts.strict, locate) {
                    break;
                }
            }
        }
    }
    chunk
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each row in file order as (user, event, ts, session, page), and each
    /// reject as (line, reason).
    type Decoded = (
        Vec<(String, String, i64, String, String)>,
        Vec<(u64, String)>,
    );

    fn decode(chunks: &[Chunk]) -> Decoded {
        let mut rows = Vec::new();
        let mut rejects = Vec::new();
        for c in chunks {
            for i in 0..c.user.len() {
                rows.push((
                    c.users.get(c.user[i]).to_string(),
                    c.events.get(c.event[i]).to_string(),
                    c.ts[i],
                    c.sessions.get(c.session[i]).to_string(),
                    c.props[0].get(c.prop_codes[0][i]).to_string(),
                ));
            }
            rejects.extend(
                c.rejects
                    .iter()
                    .map(|r| (r.line, format!("{:?}", r.reason))),
            );
        }
        (rows, rejects)
    }

    /// Reading a few row groups at a time gives the rows and reject line
    /// numbers of reading the whole file at once.
    #[test]
    fn batches_read_like_the_whole_file() {
        let n = 2500;
        let user: Vec<Option<String>> = (0..n)
            .map(|i| (i % 397 != 5).then(|| format!("u{}", i % 37)))
            .collect();
        let event: Vec<String> = (0..n).map(|i| format!("e{}", i % 5)).collect();
        let ts: Vec<String> = (0..n)
            .map(|i| {
                if i % 511 == 7 {
                    "not a time".to_string()
                } else {
                    format!("2024-01-01T00:{:02}:{:02}Z", (i / 60) % 60, i % 60)
                }
            })
            .collect();
        let session: Vec<String> = (0..n).map(|i| format!("s{}", i % 101)).collect();
        let page: Vec<String> = (0..n).map(|i| format!("/p{}", i % 7)).collect();
        let mut df = df!(
            "user_id" => user,
            "event" => event,
            "timestamp" => ts,
            "session_id" => session,
            "page" => page,
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        ParquetWriter::new(std::fs::File::create(&path).unwrap())
            .with_row_group_size(Some(300))
            .finish(&mut df)
            .unwrap();
        let groups = ParquetReader::new(std::fs::File::open(&path).unwrap())
            .get_metadata()
            .unwrap()
            .row_groups
            .len();
        assert!(groups >= 8, "{groups} row groups");
        let opts = IngestOptions {
            keep_rejects: true,
            ..Default::default()
        };
        let parser = TimeParser::new(None);
        let read = |batch: usize| {
            let mut reg = PropRegistry::default();
            let mut chunks = Vec::new();
            let mut keep = |c: Vec<Chunk>| {
                chunks.extend(c);
                Ok(())
            };
            read_batched(
                &path,
                "t.parquet",
                &opts,
                &parser,
                &mut reg,
                batch,
                &mut keep,
            )
            .unwrap();
            decode(&chunks)
        };
        let whole = read(usize::MAX);
        assert_eq!(whole.0.len() + whole.1.len(), n);
        assert!(whole.1.len() >= 10, "{:?}", whole.1);
        for batch in [1, 299, 700, 2400] {
            assert_eq!(read(batch), whole, "batch {batch}");
        }
    }
}

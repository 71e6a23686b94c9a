//! CSV and gzip CSV. polars' CSV reader cannot say which line was bad or
//! why, so rows are parsed with the `csv` crate: the file is split at record
//! boundaries and the pieces are validated in parallel.

use std::io::Read;
use std::path::Path;

use anyhow::Result;
use csv::ByteRecord;

use super::chunk::{Chunk, Row, TimeCell, validate};
use super::reject::RejectReason;
use super::timestamp::TimeParser;
use super::{Format, IngestOptions, Layout, PropRegistry, resolve_layout, thread_count};
use crate::error::DataError;

enum Buffer {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Buffer {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Buffer::Mapped(m) => m,
            Buffer::Owned(v) => v,
        }
    }
}

/// Below this size one thread is faster than splitting.
const PARALLEL_MIN_BYTES: usize = 4 << 20;

pub(crate) fn read(
    path: &Path,
    display: &str,
    format: Format,
    opts: &IngestOptions,
    parser: &TimeParser,
    registry: &mut PropRegistry,
) -> Result<(Vec<Chunk>, Option<Layout>, Vec<String>)> {
    let unreadable = |message: String| DataError::Unreadable {
        file: display.to_string(),
        message,
    };
    if path.as_os_str() == super::STDIN {
        let mut v = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut v)
            .map_err(|e| unreadable(format!("cannot read stdin ({e})")))?;
        // `zcat`-less pipes: gzip on stdin is recognized by its magic bytes.
        if v.starts_with(&[0x1f, 0x8b]) {
            v = gunzip(&v[..]).map_err(unreadable)?;
        }
        return parse(Buffer::Owned(v), display, opts, parser, registry);
    }
    let file = std::fs::File::open(path).map_err(|e| unreadable(e.to_string()))?;
    let buf = match format {
        Format::CsvGz => Buffer::Owned(gunzip(file).map_err(unreadable)?),
        // Mapping avoids copying a multi-GB export into memory first.
        // SAFETY: the map is read-only and dropped before we return. If
        // another process truncates the file meanwhile, reading a page past
        // its new end raises SIGBUS, which `guard` turns into exit 3 naming
        // the file (set below, for as long as the map lives).
        _ => match unsafe { memmap2::Mmap::map(&file) } {
            Ok(m) => Buffer::Mapped(m),
            Err(_) => {
                let mut v = Vec::new();
                std::io::BufReader::new(file)
                    .read_to_end(&mut v)
                    .map_err(|e| unreadable(e.to_string()))?;
                Buffer::Owned(v)
            }
        },
    };
    parse(buf, display, opts, parser, registry)
}

/// The whole decompressed text, held in memory; so a stream that expands
/// past what memory holds (a gzip bomb, or just a huge export) stops here
/// with advice instead of being killed for memory.
fn gunzip(r: impl Read) -> Result<Vec<u8>, String> {
    let limit = gzip_limit();
    let mut v = Vec::new();
    flate2::read::MultiGzDecoder::new(r)
        .take(limit + 1)
        .read_to_end(&mut v)
        .map_err(|e| format!("not readable gzip ({e})"))?;
    if v.len() as u64 > limit {
        return Err(format!(
            "expands to more than {:.1} GiB, over half of the free memory (or JOURNEYMAP_GZIP_LIMIT); decompress it first (gunzip -k) and read the .csv, which is mapped rather than held in memory",
            limit as f64 / f64::from(1u32 << 30)
        ));
    }
    Ok(v)
}

fn parse(
    buf: Buffer,
    display: &str,
    opts: &IngestOptions,
    parser: &TimeParser,
    registry: &mut PropRegistry,
) -> Result<(Vec<Chunk>, Option<Layout>, Vec<String>)> {
    let unreadable = |message: String| DataError::Unreadable {
        file: display.to_string(),
        message,
    };
    let _mapped = matches!(buf, Buffer::Mapped(_)).then(|| crate::guard::Mapped::new(display));
    // Spreadsheet exports often start with a UTF-8 byte order mark.
    let body_start = if buf.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let data = &buf[body_start..];

    let mut rdr = reader(opts.delimiter, data);
    let mut header_rec = ByteRecord::new();
    if !rdr
        .read_byte_record(&mut header_rec)
        .map_err(|e| unreadable(e.to_string()))?
    {
        // An empty day's file in a nightly glob is no rows, not an error.
        return Ok((Vec::new(), None, Vec::new()));
    }
    let header: Vec<String> = header_rec
        .iter()
        .map(|f| std::str::from_utf8(f).map(|s| s.trim().to_string()))
        .collect::<Result<_, _>>()
        .map_err(|_| unreadable("the header row is not valid UTF-8".into()))?;
    let mut notes = Vec::new();
    if header.len() == 1
        && opts.delimiter == b','
        && (header[0].contains(';') || header[0].contains('\t'))
    {
        notes.push(format!(
            "{}: the header has one column; is the file separated by ';' or tabs? pass --delimiter",
            crate::doc::rich::code(display)
        ));
    }
    let layout = resolve_layout(display, &header, opts, registry)?;
    let header_end = rdr.position().byte() as usize;

    let min_bytes = if opts.threads > 0 {
        0
    } else {
        PARALLEL_MIN_BYTES
    };
    let bounds = split_points(data, header_end, thread_count(opts), min_bytes);
    let n_props = registry.names.len();
    // A mapped file's pages stay in this process's memory once read; the
    // workers hand back those they have parsed (the kernel keeps them in the
    // page cache, and reading them again is correct, only slower). Offsets
    // are into `data`.
    let release = |from: usize, to: usize| {
        #[cfg(unix)]
        if let Buffer::Mapped(m) = &buf {
            let lo = (body_start + from).next_multiple_of(RELEASE_ALIGN);
            let hi = (body_start + to) / RELEASE_ALIGN * RELEASE_ALIGN;
            if hi > lo {
                // SAFETY: the map is read-only, so MADV_DONTNEED discards no
                // data: a later read of the range faults the file's bytes in
                // again, and the slices borrowed from the map stay valid.
                let _ = unsafe {
                    m.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, lo, hi - lo)
                };
            }
        }
        #[cfg(not(unix))]
        let _ = (from, to, &buf);
    };
    let ctx = ChunkContext {
        display,
        layout: &layout,
        header: &header,
        opts,
        parser,
        n_props,
        release: &release,
    };
    let parsed = std::thread::scope(|s| {
        let handles: Vec<_> = bounds
            .windows(2)
            .map(|w| {
                let (from, to) = (w[0], w[1]);
                let ctx = &ctx;
                s.spawn(move || parse_chunk(data, from, to, ctx))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("csv worker panicked"))
            .collect::<Vec<_>>()
    });
    // A chunk is trusted only if the chunk before it ended exactly on its
    // start; otherwise the split guessed wrong (a stray quote) and the file is
    // parsed again in one piece, so results never depend on the thread count.
    // A file with only a header has no piece to parse.
    let Some(last) = parsed.len().checked_sub(1) else {
        return Ok((Vec::new(), Some(layout), notes));
    };
    let stop = parsed
        .iter()
        .position(|p| p.chunk.strict_stop.is_some())
        .unwrap_or(last);
    let header_lines = newlines(&data[..header_end]);
    let chunks = if parsed[..stop].iter().all(|p| p.on_boundary) {
        // Each piece numbered its lines from its own start.
        let mut before = header_lines;
        parsed
            .into_iter()
            .map(|mut p| {
                p.chunk.shift_lines(before);
                before += p.newlines;
                p.chunk
            })
            .collect()
    } else {
        let mut p = parse_chunk(data, header_end, data.len(), &ctx);
        p.chunk.shift_lines(header_lines);
        vec![p.chunk]
    };
    Ok((chunks, Some(layout), notes))
}

/// Half the memory available now (at least 1 GiB); 16 GiB where that
/// cannot be read. JOURNEYMAP_GZIP_LIMIT (bytes) sets it instead: a tighter
/// bound on a shared machine, and how the tests reach the limit.
fn gzip_limit() -> u64 {
    if let Some(v) = std::env::var_os("JOURNEYMAP_GZIP_LIMIT")
        && let Some(n) = v.to_str().and_then(|s| s.trim().parse::<u64>().ok())
    {
        return n;
    }
    let available = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        m.lines()
            .find_map(|l| l.strip_prefix("MemAvailable:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
    });
    available.map_or(16 << 30, |a| (a / 2).max(1 << 30))
}

fn reader(delimiter: u8, data: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(data)
}

/// Chunk boundaries: byte offsets just after a newline that is outside
/// quotes. A newline ends a record iff the number of quote bytes before it is
/// even (RFC 4180 escapes a quote by doubling it, which keeps the parity).
pub(crate) fn split_points(
    data: &[u8],
    start: usize,
    threads: usize,
    min_bytes: usize,
) -> Vec<usize> {
    let len = data.len();
    let mut points = vec![start];
    if threads > 1 && len - start >= min_bytes.max(threads) {
        let step = (len - start) / threads;
        let targets: Vec<usize> = (1..threads).map(|k| start + k * step).collect();
        // Quote parity of data[start..target] for each target: the stretches
        // are counted in parallel (a serial count of a multi-GB file was a
        // visible share of the read).
        let odd: Vec<bool> = std::thread::scope(|s| {
            let handles: Vec<_> = std::iter::once(start)
                .chain(targets.iter().copied())
                .zip(targets.iter().copied())
                .map(|(a, b)| {
                    s.spawn(move || memchr::memchr_iter(b'"', &data[a..b]).count() % 2 == 1)
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("quote count panicked"))
                .collect()
        });
        let mut before_target = false;
        let mut pos = start;
        // Quote parity of data[start..pos]; the header before `start` is a whole record.
        let mut odd_here = false;
        for (k, &target) in targets.iter().enumerate() {
            before_target ^= odd[k];
            if target > pos {
                odd_here = before_target;
                pos = target;
            }
            while pos < len {
                let b = data[pos];
                pos += 1;
                if b == b'"' {
                    odd_here = !odd_here;
                } else if b == b'\n' && !odd_here {
                    break;
                }
            }
            if pos >= len {
                break;
            }
            points.push(pos);
        }
    }
    points.push(len);
    points.dedup();
    points
}

struct ChunkContext<'a> {
    display: &'a str,
    layout: &'a Layout,
    header: &'a [String],
    opts: &'a IngestOptions,
    parser: &'a TimeParser,
    n_props: usize,
    /// Called with a range of `data` that is parsed and not needed again.
    release: &'a (dyn Fn(usize, usize) + Sync),
}

/// Parsed bytes are released in steps of this many (small in unit tests, so
/// they cross many steps): small enough that the 16 pieces of a 1 GB file on
/// 16 cores each release several times (64 MiB steps released nothing there).
#[cfg(not(test))]
const RELEASE_EVERY: usize = 8 << 20;
#[cfg(test)]
const RELEASE_EVERY: usize = 64 << 10;
/// ...on boundaries that are a multiple of any page size.
const RELEASE_ALIGN: usize = 1 << 20;

fn newlines(b: &[u8]) -> u64 {
    b.iter().filter(|&&c| c == b'\n').count() as u64
}

/// One piece of the file, parsed.
struct Piece {
    /// Its rejects' line numbers count from 1 at the piece's first line.
    chunk: Chunk,
    /// Whether a record boundary fell exactly on the piece's end (or the data ended).
    on_boundary: bool,
    /// Line ends in the piece's bytes, so the next piece's numbers can be shifted.
    newlines: u64,
}

/// Parses the records of `all` that start in `from..to`.
fn parse_chunk(all: &[u8], from: usize, to: usize, ctx: &ChunkContext) -> Piece {
    let (data, limit) = (&all[from..], to - from);
    // Bytes before `released` are parsed, their line ends counted, and handed back.
    let mut released = 0;
    let mut lines_before = 0;
    let ChunkContext {
        display,
        layout,
        header,
        opts,
        parser,
        n_props,
        ..
    } = *ctx;
    let mut chunk = Chunk::new(n_props, limit / 64);
    let mut rdr = reader(opts.delimiter, data);
    let mut rec = ByteRecord::new();
    // Reaching the end of the data is a clean end only for the last chunk;
    // any other chunk that does has swallowed the next one's bytes.
    let mut on_boundary = limit >= data.len();
    // Reading from memory cannot fail with I/O; anything else ends the chunk.
    while let Ok(true) = rdr.read_byte_record(&mut rec) {
        let Some(pos) = rec.position() else { break };
        // The reader reports where it stood before skipping line ends (the
        // `\n` of a `\r\n`, blank lines); the record itself starts after them.
        let mut start = pos.byte() as usize;
        let mut line = pos.line();
        while start < data.len() && matches!(data[start], b'\r' | b'\n') {
            line += u64::from(data[start] == b'\n');
            start += 1;
        }
        if start >= limit {
            on_boundary = start == limit;
            break;
        }
        if start - released >= RELEASE_EVERY {
            lines_before += newlines(&data[released..start]);
            (ctx.release)(from + released, from + start);
            released = start;
        }
        chunk.read += 1;
        let end = rdr.position().byte();
        let locate = || {
            let raw = &data[start..(end as usize).min(data.len())];
            let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            (
                display.to_string(),
                line,
                String::from_utf8_lossy(raw).into_owned(),
            )
        };
        match check_record(&rec, layout, header, parser) {
            Ok((valid, whole)) => {
                // Every field was checked as UTF-8 in check_record.
                let props = layout
                    .props
                    .iter()
                    .map(|&(col, p)| (p, rec.range(col).and_then(|r| whole.get(r))));
                chunk.push(valid, props);
                if !layout.hashed.is_empty() {
                    let cells = layout
                        .hashed
                        .iter()
                        .map(|&(col, name)| (name, rec.range(col).and_then(|r| whole.get(r))));
                    chunk.rest.push(super::chunk::rest_hash(cells));
                }
            }
            Err(r) => {
                if !chunk.reject(r, opts.keep_rejects, opts.strict, locate) {
                    break;
                }
            }
        }
    }
    Piece {
        chunk,
        on_boundary,
        newlines: lines_before + newlines(&data[released..limit.min(data.len())]),
    }
}

fn check_record<'a>(
    rec: &'a ByteRecord,
    layout: &Layout,
    header: &[String],
    parser: &TimeParser,
) -> Result<(super::chunk::Valid<'a>, &'a str), super::chunk::Rejection> {
    use super::chunk::Rejection;
    if rec.len() != layout.n_cols {
        return Err(Rejection {
            reason: RejectReason::WrongFieldCount,
            column: String::new(),
            detail: format!("expected {} fields, found {}", layout.n_cols, rec.len()),
        });
    }
    // One UTF-8 check per record; a field is valid on its own when it also
    // starts and ends on a character boundary (a multi-byte character cut
    // by a delimiter is valid once the fields are joined, not in either).
    let whole = match std::str::from_utf8(rec.as_slice()) {
        Ok(w)
            if (0..rec.len()).all(|i| {
                rec.range(i)
                    .is_some_and(|r| w.is_char_boundary(r.start) && w.is_char_boundary(r.end))
            }) =>
        {
            w
        }
        _ => {
            let col = rec
                .iter()
                .position(|f| std::str::from_utf8(f).is_err())
                .unwrap_or(0);
            return Err(Rejection {
                reason: RejectReason::InvalidUtf8,
                column: header[col].clone(),
                detail: String::new(),
            });
        }
    };
    let field = |i: usize| rec.range(i).and_then(|r| whole.get(r));
    let (user, event, time) = (field(layout.user), field(layout.event), field(layout.time));
    let trim = super::chunk::trim;
    if user.map(trim) == Some(layout.names.user.as_str())
        && event.map(trim) == Some(layout.names.event.as_str())
        && time.map(trim) == Some(layout.names.time.as_str())
    {
        return Err(Rejection {
            reason: RejectReason::RepeatedHeader,
            column: String::new(),
            detail: String::new(),
        });
    }
    let row = Row {
        user,
        event,
        time: time.map_or(TimeCell::Null, TimeCell::Text),
        session: layout.session.map(field),
    };
    validate(&row, parser, &layout.names).map(|v| (v, whole))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_points_respect_quoted_newlines() {
        let mut data = b"a,b\n".to_vec();
        for i in 0..200_000 {
            if i % 7 == 0 {
                data.extend_from_slice(b"\"x\ny\",1\n");
            } else {
                data.extend_from_slice(b"zz,22\n");
            }
        }
        let points = split_points(&data, 4, 4, 0);
        assert!(points.len() > 2);
        for &p in &points[1..points.len() - 1] {
            assert_eq!(data[p - 1], b'\n');
            let quotes = data[..p].iter().filter(|&&b| b == b'"').count();
            assert_eq!(quotes % 2, 0, "split inside quotes at {p}");
        }
    }

    /// A multi-byte character cut by a delimiter is valid UTF-8 once the
    /// record's fields are joined, but neither field is: the row is rejected
    /// (with the column), while whole characters inside fields pass.
    #[test]
    fn a_character_cut_by_a_delimiter_is_invalid_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.csv");
        let mut data = b"user_id,event,timestamp,page\n".to_vec();
        data.extend_from_slice("u1,caf\u{e9},2026-01-01T00:00:00Z,/pr\u{e9}\n".as_bytes());
        // "\u{e9}" is C3 A9; a comma between the two bytes.
        data.extend_from_slice(b"u2,x\xC3,\xA92026-01-01T00:00:01Z,/\n");
        data.extend_from_slice(b"u3,view,2026-01-01T00:00:02Z,/\xC3,\xA9\n");
        data.extend_from_slice(b"u4,view,2026-01-01T00:00:03Z,/ok\n");
        std::fs::write(&path, &data).unwrap();
        let opts = IngestOptions {
            keep_rejects: true,
            ..IngestOptions::default()
        };
        let got =
            super::super::ingest(&[path], &opts, &crate::progress::Progress::silent()).unwrap();
        assert_eq!(got.read, 4);
        assert_eq!(got.used(), 2);
        let rejects: Vec<(u64, &str, &str)> = got
            .rejects
            .iter()
            .map(|r| (r.line, r.reason.as_str(), r.column.as_str()))
            .collect();
        // Line 3 has the cut character in the mapped event/timestamp fields;
        // line 4 has five fields (its cut character holds a delimiter).
        assert_eq!(
            rejects,
            vec![(3, "invalid_utf8", "event"), (4, "wrong_field_count", "")]
        );
        assert_eq!(got.table.event_names.get(0), "caf\u{e9}");
    }

    /// Pieces hand back their parsed pages and count their own lines: the
    /// rows and reject line numbers are those of one thread reading it all.
    #[test]
    fn released_pages_and_piece_line_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.csv");
        let mut data = b"user_id,event,timestamp,page\n".to_vec();
        let mut bad_lines = Vec::new();
        for i in 0..120_000u64 {
            if i % 997 == 0 {
                data.extend_from_slice(format!("u{},view,not a time,/p\n", i % 97).as_bytes());
                bad_lines.push(i + 2);
            } else {
                let t = format!("2026-01-01T00:{:02}:{:02}Z", i / 60 % 60, i % 60);
                data.extend_from_slice(
                    format!("u{},e{},{t},/p{}\n", i % 97, i % 5, i % 13).as_bytes(),
                );
            }
        }
        assert!(data.len() > 3 * RELEASE_ALIGN);
        std::fs::write(&path, &data).unwrap();
        let run = |threads| {
            let opts = IngestOptions {
                keep_rejects: true,
                threads,
                ..IngestOptions::default()
            };
            super::super::ingest(
                std::slice::from_ref(&path),
                &opts,
                &crate::progress::Progress::silent(),
            )
            .unwrap()
        };
        let one = run(1);
        let lines: Vec<u64> = one.rejects.iter().map(|r| r.line).collect();
        assert_eq!(lines, bad_lines);
        assert_eq!(one.read, 120_000);
        for threads in [2, 3, 7] {
            let many = run(threads);
            assert_eq!(many.rejects, one.rejects);
            assert_eq!(many.table.ts, one.table.ts);
            assert_eq!(many.table.event, one.table.event);
            assert_eq!(many.table.user_names, one.table.user_names);
        }
    }
}

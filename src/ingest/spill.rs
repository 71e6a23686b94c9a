//! Partitioned ingest, for inputs larger than the memory budget
//! (docs/scaling.md). Rows are read as in memory, then spilled by a hash of
//! the user id into one file per partition, in a directory that is removed
//! when the run ends (or fails). A partition loads as an ordinary
//! [`EventTable`] whose codes are the whole input's: names are interned in
//! the order the in-memory run interns them and users are in id order, so
//! each analysis sees the same codes partition by partition, and its
//! merged figures equal the in-memory run's.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::chunk::Chunk;
use super::interner::Interner;
use super::{EventTable, IngestOptions, Ingested, PropColumn, PropRegistry, RejectCounts, dedup};
use crate::error::DataError;

/// Rows a partition buffers before writing them as one block.
const BLOCK_ROWS: usize = 1 << 16;

/// Where and how finely to partition.
#[derive(Debug, Clone)]
pub struct SpillOptions {
    pub partitions: usize,
    /// The parent of the spill directory (default: the system's temp dir).
    pub dir: Option<PathBuf>,
}

/// The spill directory. Its files are unlinked as soon as they are open
/// and the directory is removed then (on Unix): the process holds the only
/// references, so however it ends (an error, a full disk, Ctrl-C, kill -9)
/// the kernel frees the space and nothing is left behind. Elsewhere the
/// directory is removed with its files when this is dropped.
struct SpillDir(PathBuf);

impl Drop for SpillDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl SpillDir {
    fn create(parent: Option<&Path>) -> Result<SpillDir> {
        let parent = parent.map_or_else(std::env::temp_dir, Path::to_path_buf);
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path = parent.join(format!("journeymap-spill-{}-{stamp:x}", std::process::id()));
        std::fs::create_dir(&path).map_err(|e| {
            anyhow::anyhow!(
                "cannot create the spill directory {}: {e}; pass --spill-dir with a writable directory",
                path.display()
            )
        })?;
        Ok(SpillDir(path))
    }
}

/// A column's values as the bytes the spill file holds (little-endian):
/// written without a copy.
#[cfg(target_endian = "little")]
fn le_bytes<T: Plain>(v: &[T]) -> &[u8] {
    // SAFETY: `Plain` types are integers: no padding, every byte initialized,
    // and on a little-endian machine their memory is their LE encoding.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
}

fn write_codes(out: &mut impl Write, v: &[u32], scratch: &mut Vec<u8>) -> std::io::Result<()> {
    let max = v.iter().copied().max().unwrap_or(0);
    let width: u8 = if max < 1 << 8 {
        1
    } else if max < 1 << 16 {
        2
    } else {
        4
    };
    out.write_all(&[width])?;
    scratch.clear();
    match width {
        1 => scratch.extend(v.iter().map(|&c| c as u8)),
        2 => v
            .iter()
            .for_each(|&c| scratch.extend((c as u16).to_le_bytes())),
        _ => return out.write_all(le_bytes(v)),
    }
    out.write_all(scratch)
}

fn read_codes(
    r: &mut impl Read,
    n: usize,
    out: &mut Vec<u32>,
    scratch: &mut Vec<u8>,
) -> std::io::Result<()> {
    let mut width = [0u8];
    r.read_exact(&mut width)?;
    match width[0] {
        4 => read_into(r, n, out),
        w @ (1 | 2) => {
            scratch.resize(n * w as usize, 0);
            r.read_exact(scratch)?;
            if w == 1 {
                out.extend(scratch.iter().map(|&b| u32::from(b)));
            } else {
                out.extend(
                    scratch
                        .chunks_exact(2)
                        .map(|c| u32::from(u16::from_le_bytes([c[0], c[1]]))),
                );
            }
            Ok(())
        }
        w => Err(std::io::Error::other(format!("a column of width {w}"))),
    }
}

fn write_times(out: &mut impl Write, v: &[i64], scratch: &mut Vec<u8>) -> std::io::Result<()> {
    let lo = v.iter().copied().min().unwrap_or(0);
    let hi = v.iter().copied().max().unwrap_or(0);
    if hi.abs_diff(lo) < 1 << 32 {
        out.write_all(&[4])?;
        out.write_all(&lo.to_le_bytes())?;
        scratch.clear();
        v.iter()
            .for_each(|&t| scratch.extend(((t - lo) as u32).to_le_bytes()));
        out.write_all(scratch)
    } else {
        out.write_all(&[8])?;
        out.write_all(le_bytes(v))
    }
}

fn read_times(
    r: &mut impl Read,
    n: usize,
    out: &mut Vec<i64>,
    scratch: &mut Vec<u8>,
) -> std::io::Result<()> {
    let mut width = [0u8];
    r.read_exact(&mut width)?;
    match width[0] {
        8 => read_into(r, n, out),
        4 => {
            let mut lo = [0u8; 8];
            r.read_exact(&mut lo)?;
            let lo = i64::from_le_bytes(lo);
            scratch.resize(n * 4, 0);
            r.read_exact(scratch)?;
            out.extend(
                scratch
                    .chunks_exact(4)
                    .map(|c| lo + i64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))),
            );
            Ok(())
        }
        w => Err(std::io::Error::other(format!("a time column of width {w}"))),
    }
}

/// Integers whose memory can be written and read as bytes.
trait Plain: Copy + Default {}
impl Plain for u32 {}
impl Plain for i64 {}
impl Plain for u64 {}

/// Reads `n` values into the end of `out`, straight into its memory.
#[cfg(target_endian = "little")]
fn read_into<T: Plain>(r: &mut impl Read, n: usize, out: &mut Vec<T>) -> std::io::Result<()> {
    let from = out.len();
    out.resize(from + n, T::default());
    let tail = &mut out[from..];
    // SAFETY: as in `le_bytes`; any bytes are a valid integer.
    let bytes = unsafe {
        std::slice::from_raw_parts_mut(tail.as_mut_ptr().cast::<u8>(), std::mem::size_of_val(tail))
    };
    r.read_exact(bytes)
}

#[cfg(not(target_endian = "little"))]
compile_error!("the spill format is little-endian; big-endian needs a byte-swapping codec here");

/// One partition's rows not yet written, all of one layout.
#[derive(Default)]
struct Block {
    n_props: usize,
    session: bool,
    hashes: bool,
    user: Vec<u32>,
    event: Vec<u32>,
    ts: Vec<i64>,
    sessions: Vec<u32>,
    props: Vec<Vec<u32>>,
    rest: Vec<u64>,
}

impl Block {
    fn layout(&mut self, n_props: usize, session: bool, hashes: bool) {
        self.n_props = n_props;
        self.session = session;
        self.hashes = hashes;
        self.props.resize_with(n_props, Vec::new);
    }
    /// Writes the block: a header (rows, properties, flags), then each
    /// column's values, little-endian.
    /// Codes are written in the fewest bytes of 1, 2 or 4 their block
    /// needs, times as offsets from the block's first when they fit 4
    /// bytes: on the shop export a row takes 22 bytes instead of 36, and
    /// writing the spill into the page cache (then reading it back) was a
    /// quarter of a 100M-event run.
    fn write(&self, out: &mut impl Write, scratch: &mut Vec<u8>) -> std::io::Result<()> {
        let mut head = Vec::with_capacity(13);
        head.extend_from_slice(&(self.user.len() as u64).to_le_bytes());
        head.extend_from_slice(&(self.n_props as u32).to_le_bytes());
        head.push(u8::from(self.session) | u8::from(self.hashes) << 1);
        out.write_all(&head)?;
        write_codes(out, &self.user, scratch)?;
        write_codes(out, &self.event, scratch)?;
        write_times(out, &self.ts, scratch)?;
        if self.session {
            write_codes(out, &self.sessions, scratch)?;
        }
        for p in &self.props {
            write_codes(out, p, scratch)?;
        }
        if self.hashes {
            out.write_all(le_bytes(&self.rest))?;
        }
        Ok(())
    }
    /// At most the bytes [`Block::write`] writes.
    fn bytes(&self) -> u64 {
        let n = self.user.len() as u64;
        13 + n
            * (16
                + 4 * (u64::from(self.session) + self.n_props as u64)
                + 8 * u64::from(self.hashes))
    }
    fn clear(&mut self) {
        self.user.clear();
        self.event.clear();
        self.ts.clear();
        self.sessions.clear();
        self.props.iter_mut().for_each(Vec::clear);
        self.rest.clear();
    }
}

struct PartWriter {
    path: PathBuf,
    file: std::fs::File,
    rows: u64,
    block: Block,
    /// This partition's session ids. A session id only has to be told
    /// from the others of its user, whose events are all in one partition,
    /// and the sessions are numbered by their first event, never by id:
    /// one dictionary per partition instead of one for the whole input
    /// (12M ids at 100M events) keeps each small enough for the cache.
    sessions: Interner,
}

/// The whole input's names, interned in the in-memory run's order
/// (session ids are per partition: [`PartWriter::sessions`]).
#[derive(Default)]
struct Names {
    users: Interner,
    events: Interner,
    props: Vec<Interner>,
}

/// Spills chunks as they are read.
struct Spiller {
    dir: SpillDir,
    parts: Vec<PartWriter>,
    names: Names,
    /// Bytes the spill may still write (JOURNEYMAP_SPILL_LIMIT, for the
    /// full-disk tests), and what was written.
    limit: Option<u64>,
    written: u64,
    scratch: Vec<u8>,
    read: u64,
    naive: u64,
    rejected: RejectCounts,
    rejects: Vec<super::Reject>,
    rows: u64,
    span: Option<(i64, i64)>,
    has_hashes: bool,
}

/// A user's partition: a fixed hash of the id's bytes (FNV-1a, then a
/// finalizer), so the split depends on the ids alone, never on the files'
/// order or the platform.
pub fn partition_of(user: &str, partitions: usize) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in user.as_bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    (h % partitions as u64) as usize
}

fn remap(local: &Interner, global: &mut Interner) -> Vec<u32> {
    local.iter().map(|n| global.intern(n)).collect()
}

impl Spiller {
    fn new(opts: &SpillOptions) -> Result<Spiller> {
        let dir = SpillDir::create(opts.dir.as_deref())?;
        let mut parts = Vec::with_capacity(opts.partitions);
        for p in 0..opts.partitions.max(1) {
            let path = dir.0.join(format!("part-{p:04}.bin"));
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)
                .map_err(|e| spill_error(&path, &e))?;
            // Unix keeps an unlinked file's data while it is open; where
            // that fails (Windows) the directory's drop removes it.
            let _ = std::fs::remove_file(&path);
            parts.push(PartWriter {
                path,
                file,
                rows: 0,
                block: Block::default(),
                sessions: Interner::new(),
            });
        }
        let _ = std::fs::remove_dir(&dir.0);
        let limit = std::env::var("JOURNEYMAP_SPILL_LIMIT")
            .ok()
            .and_then(|v| v.trim().parse().ok());
        Ok(Spiller {
            dir,
            parts,
            names: Names {
                props: Vec::new(),
                ..Names::default()
            },
            limit,
            written: 0,
            scratch: Vec::new(),
            read: 0,
            naive: 0,
            rejected: RejectCounts::default(),
            rejects: Vec::new(),
            rows: 0,
            span: None,
            has_hashes: false,
        })
    }

    fn add(&mut self, mut c: Chunk) -> Result<()> {
        self.read += c.read;
        self.naive += c.naive;
        self.rejected.merge(&c.rejected);
        self.rejects.append(&mut c.rejects);
        let n = c.user.len();
        if n == 0 {
            return Ok(());
        }
        self.rows += n as u64;
        for &t in &c.ts {
            let (lo, hi) = self.span.get_or_insert((t, t));
            *lo = (*lo).min(t);
            *hi = (*hi).max(t);
        }
        let names = &mut self.names;
        let um = remap(&c.users, &mut names.users);
        let em = remap(&c.events, &mut names.events);
        while names.props.len() < c.props.len() {
            names.props.push(Interner::with_null());
        }
        let pm: Vec<Vec<u32>> = c
            .props
            .iter()
            .zip(names.props.iter_mut())
            .map(|(l, g)| remap(l, g))
            .collect();
        let k = self.parts.len();
        let part: Vec<u32> = c.users.iter().map(|u| partition_of(u, k) as u32).collect();
        let (session, hashes, n_props) = (!c.session.is_empty(), !c.rest.is_empty(), c.props.len());
        self.has_hashes |= hashes;
        for p in 0..k {
            let b = &self.parts[p].block;
            if !b.user.is_empty() && (b.n_props, b.session, b.hashes) != (n_props, session, hashes)
            {
                self.flush(p)?;
            }
            self.parts[p].block.layout(n_props, session, hashes);
        }
        // Column by column: each pass streams one source column.
        let pid: Vec<u16> = c.user.iter().map(|&u| part[u as usize] as u16).collect();
        let parts = &mut self.parts;
        for (&p, &u) in pid.iter().zip(&c.user) {
            parts[p as usize].block.user.push(um[u as usize]);
        }
        for (&p, &e) in pid.iter().zip(&c.event) {
            parts[p as usize].block.event.push(em[e as usize]);
        }
        for (&p, &t) in pid.iter().zip(&c.ts) {
            parts[p as usize].block.ts.push(t);
        }
        if session {
            // The chunk's session code to (partition, its code there); an
            // id two users share is interned in each of their partitions.
            let mut seen: Vec<(u16, u32)> = vec![(u16::MAX, 0); c.sessions.len()];
            for (&p, &x) in pid.iter().zip(&c.session) {
                let slot = &mut seen[x as usize];
                if slot.0 != p {
                    *slot = (p, parts[p as usize].sessions.intern(c.sessions.get(x)));
                }
                parts[p as usize].block.sessions.push(slot.1);
            }
        }
        for (q, codes) in c.prop_codes.iter().enumerate() {
            for (&p, &v) in pid.iter().zip(codes) {
                parts[p as usize].block.props[q].push(pm[q][v as usize]);
            }
        }
        if hashes {
            for (&p, &h) in pid.iter().zip(&c.rest) {
                parts[p as usize].block.rest.push(h);
            }
        }
        for p in 0..k {
            if self.parts[p].block.user.len() >= BLOCK_ROWS {
                self.flush(p)?;
            }
        }
        Ok(())
    }

    fn flush(&mut self, p: usize) -> Result<()> {
        let part = &mut self.parts[p];
        if part.block.user.is_empty() {
            return Ok(());
        }
        let n = part.block.bytes();
        let result = match self.limit {
            Some(limit) if self.written + n > limit => Err(std::io::Error::from_raw_os_error(28)),
            _ => part.block.write(&mut part.file, &mut self.scratch),
        };
        result.map_err(|e| spill_error(&part.path, &e))?;
        self.written += n;
        part.rows += part.block.user.len() as u64;
        part.block.clear();
        Ok(())
    }
}

/// A spill that cannot be written is the machine's fault, not the data's:
/// an I/O error (exit 1).
fn spill_error(path: &Path, e: &std::io::Error) -> anyhow::Error {
    anyhow::anyhow!(
        "cannot write the spill file {}: {e}; the partitioned run needs about 40 bytes per event on that disk: free space there or pass --spill-dir on a disk with room (the spill files were removed)",
        path.display()
    )
}

/// An input read and spilled into partitions.
pub struct Partitioned {
    /// What was read, without the rows: file facts, row accounting,
    /// rejects, notes, and the whole input's names (users in id order) in
    /// `head.table`, which holds no rows.
    pub head: Ingested,
    /// The first and last timestamp of the whole input.
    pub span: Option<(i64, i64)>,
    pub spilled: Spilled,
    _dir: SpillDir,
}

/// The partition files and what reading them back needs.
pub struct Spilled {
    parts: Vec<(PathBuf, std::fs::File, u64)>,
    /// Each partition's session ids, moved out when it is read.
    session_names: Vec<std::sync::Mutex<Interner>>,
    /// Spill codes (first appearance) to id-order codes.
    recode: Vec<u32>,
    prop_names: Vec<String>,
    has_session: bool,
    has_hashes: bool,
    drop_duplicates: bool,
}

/// One partition's rows, read back without the names.
pub struct Rows {
    table: EventTable,
    duplicates: u64,
    dropped: bool,
}

/// Reads every file and spills its rows into `spill.partitions` partitions.
pub fn ingest(
    paths: &[PathBuf],
    opts: &IngestOptions,
    spill: &SpillOptions,
    progress: &crate::progress::Progress,
) -> Result<Partitioned> {
    let mut registry = PropRegistry::default();
    let mut spiller = Spiller::new(spill)?;
    // The spill runs on its own thread, a chunk or two behind the reader,
    // so writing overlaps decoding (10M events: read and spilled in 1.2 s
    // instead of 1.4 s).
    let (send, receive) = std::sync::mpsc::sync_channel::<Chunk>(2);
    let (head, spilled) = std::thread::scope(|scope| {
        let writer = scope.spawn(|| -> Result<Spiller> {
            for c in receive {
                spiller.add(c)?;
            }
            for p in 0..spiller.parts.len() {
                spiller.flush(p)?;
            }
            Ok(spiller)
        });
        let head = super::read_files(paths, opts, progress, &mut registry, &mut |c| {
            // A closed channel means the writer stopped on an error,
            // which `join` below returns.
            send.send(c)
                .map_err(|_| anyhow::anyhow!("the spill stopped"))
        });
        drop(send);
        let spilled = writer
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("internal: the spill thread panicked")));
        (head, spilled)
    });
    // The writer's error (a full disk) explains the reader's.
    let spiller = spilled?;
    let head = head?;
    let Spiller {
        dir,
        mut parts,
        mut names,
        read,
        naive,
        rejected,
        rejects,
        rows,
        span,
        has_hashes,
        ..
    } = spiller;
    while names.props.len() < registry.names.len() {
        names.props.push(Interner::with_null());
    }
    let (users, recode) = super::canonical_order(names.users);
    let has_session = head.session_column.is_some();
    let table = EventTable {
        user_names: users,
        event_names: names.events,
        user: Vec::new(),
        event: Vec::new(),
        ts: Vec::new(),
        session_names: Interner::new(),
        session: Vec::new(),
        props: registry
            .names
            .iter()
            .zip(names.props)
            .map(|(name, values)| PropColumn {
                name: name.clone(),
                values,
                codes: Vec::new(),
            })
            .collect(),
    };
    let mut ingested = Ingested {
        read,
        rejected,
        rejects,
        naive_timestamps: naive,
        property_names: registry.all.clone(),
        spilled_rows: Some(rows),
        ..Ingested::of(table)
    };
    head.fill(&mut ingested);
    let prop_names = ingested
        .table
        .props
        .iter()
        .map(|p| p.name.clone())
        .collect();
    Ok(Partitioned {
        head: ingested,
        span,
        spilled: Spilled {
            session_names: parts
                .iter_mut()
                .map(|p| std::sync::Mutex::new(std::mem::take(&mut p.sessions)))
                .collect(),
            parts: parts
                .into_iter()
                .map(|p| (p.path, p.file, p.rows))
                .collect(),
            recode,
            prop_names,
            has_session,
            has_hashes,
            drop_duplicates: opts.drop_duplicates,
        },
        _dir: dir,
    })
}

impl Partitioned {
    /// The files to read back, and the head to attach them to: a
    /// partition can be read while the one before is computed.
    pub fn split(&mut self) -> (&Spilled, &mut Ingested) {
        (&self.spilled, &mut self.head)
    }
}

/// A partition's rows with the whole input's names (moved in from
/// `head`; hand them back with [`give_back`] before the next one).
/// Its duplicates are counted into `head`.
pub fn attach(head: &mut Ingested, rows: Rows) -> EventTable {
    let mut t = rows.table;
    head.duplicates += rows.duplicates;
    head.duplicates_dropped |= rows.dropped;
    let h = &mut head.table;
    t.user_names = std::mem::take(&mut h.user_names);
    t.event_names = std::mem::take(&mut h.event_names);
    for (p, q) in t.props.iter_mut().zip(h.props.iter_mut()) {
        p.values = std::mem::take(&mut q.values);
    }
    t
}

/// Takes the names back from a partition's table.
pub fn give_back(head: &mut Ingested, t: EventTable) {
    let h = &mut head.table;
    h.user_names = t.user_names;
    h.event_names = t.event_names;
    for (p, q) in h.props.iter_mut().zip(t.props) {
        p.values = q.values;
    }
}

impl Spilled {
    pub fn len(&self) -> usize {
        self.parts.len()
    }
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }
    /// Rows spilled into partition `p`.
    pub fn rows(&self, p: usize) -> u64 {
        self.parts[p].2
    }

    /// Partition `p` ordered per user by (time, export order), without
    /// names ([`attach`] adds them); duplicates counted (and dropped, if
    /// asked).
    pub fn read(&self, p: usize) -> Result<Rows> {
        let (path, file, rows) = &self.parts[p];
        let n = *rows as usize;
        let n_props = self.prop_names.len();
        let unreadable = |m: String| DataError::Unreadable {
            file: path.display().to_string(),
            message: format!("the spill file cannot be read back ({m})"),
        };
        let mut f = std::io::BufReader::with_capacity(1 << 20, file);
        f.seek(std::io::SeekFrom::Start(0))
            .map_err(|e| unreadable(e.to_string()))?;
        let mut user: Vec<u32> = Vec::with_capacity(n);
        let mut event: Vec<u32> = Vec::with_capacity(n);
        let mut ts: Vec<i64> = Vec::with_capacity(n);
        let mut session: Vec<u32> = Vec::with_capacity(if self.has_session { n } else { 0 });
        let mut props: Vec<Vec<u32>> = (0..n_props).map(|_| Vec::with_capacity(n)).collect();
        let mut rest: Vec<u64> = Vec::with_capacity(if self.has_hashes { n } else { 0 });
        let mut scratch = Vec::new();
        while user.len() < n {
            let cut = |e: std::io::Error| unreadable(format!("a block is cut: {e}"));
            let mut head = [0u8; 13];
            f.read_exact(&mut head).map_err(cut)?;
            let len = u64::from_le_bytes(head[..8].try_into().unwrap_or_default()) as usize;
            let np = u32::from_le_bytes(head[8..12].try_into().unwrap_or_default()) as usize;
            let flags = head[12];
            if len > n - user.len() || np > n_props {
                return Err(
                    unreadable(format!("a block claims {len} rows of {np} properties")).into(),
                );
            }
            let from = user.len();
            read_codes(&mut f, len, &mut user, &mut scratch).map_err(cut)?;
            for u in &mut user[from..] {
                *u = *self
                    .recode
                    .get(*u as usize)
                    .ok_or_else(|| unreadable("a user code out of range".into()))?;
            }
            read_codes(&mut f, len, &mut event, &mut scratch).map_err(cut)?;
            read_times(&mut f, len, &mut ts, &mut scratch).map_err(cut)?;
            if flags & 1 != 0 {
                read_codes(&mut f, len, &mut session, &mut scratch).map_err(cut)?;
            }
            for (q, col) in props.iter_mut().enumerate() {
                if q < np {
                    read_codes(&mut f, len, col, &mut scratch).map_err(cut)?;
                } else {
                    // A file read before a later one added the column.
                    col.resize(col.len() + len, 0);
                }
            }
            if flags & 2 != 0 {
                read_into(&mut f, len, &mut rest).map_err(cut)?;
            } else if self.has_hashes {
                rest.resize(rest.len() + len, 0);
            }
        }
        drop(f);
        if user.len() != n {
            return Err(unreadable(format!("{} rows instead of {n}", user.len())).into());
        }
        let ordered = user
            .windows(2)
            .zip(ts.windows(2))
            .all(|(u, t)| u[0] < u[1] || (u[0] == u[1] && t[0] <= t[1]));
        let perm = if ordered {
            Vec::new()
        } else {
            super::order_by_user_then_time(&user, &ts, self.recode.len())
        };
        let gather = |v: Vec<u32>| -> Vec<u32> {
            if ordered || v.is_empty() {
                v
            } else {
                perm.iter().map(|&i| v[i as usize]).collect()
            }
        };
        let ts = if ordered {
            ts
        } else {
            perm.iter().map(|&i| ts[i as usize]).collect()
        };
        let rest = if ordered || rest.is_empty() {
            rest
        } else {
            perm.iter().map(|&i| rest[i as usize]).collect()
        };
        let mut table = EventTable {
            user_names: Interner::new(),
            event_names: Interner::new(),
            user: gather(user),
            event: gather(event),
            ts,
            // Read once: the partition's ids move into its table.
            session_names: std::mem::take(
                &mut *self.session_names[p]
                    .lock()
                    .map_err(|_| anyhow::anyhow!("internal: a partition read panicked"))?,
            ),
            session: gather(session),
            props: self
                .prop_names
                .iter()
                .zip(props)
                .map(|(name, codes)| PropColumn {
                    name: name.clone(),
                    values: Interner::new(),
                    codes: gather(codes),
                })
                .collect(),
        };
        let (dup, duplicates) = dedup::mark(&table, &rest);
        let dropped = self.drop_duplicates && duplicates > 0;
        if dropped {
            dedup::drop_marked(&mut table, &dup);
        }
        Ok(Rows {
            table,
            duplicates,
            dropped,
        })
    }
}

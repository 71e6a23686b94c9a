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
            DataError::Input(format!(
                "cannot create the spill directory {}: {e}; pass --spill-dir with a writable directory",
                path.display()
            ))
        })?;
        Ok(SpillDir(path))
    }
}

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
    fn encode(&self, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&(self.user.len() as u64).to_le_bytes());
        out.extend_from_slice(&(self.n_props as u32).to_le_bytes());
        out.push(u8::from(self.session) | u8::from(self.hashes) << 1);
        let u32s =
            |out: &mut Vec<u8>, v: &[u32]| v.iter().for_each(|x| out.extend(x.to_le_bytes()));
        u32s(out, &self.user);
        u32s(out, &self.event);
        self.ts.iter().for_each(|x| out.extend(x.to_le_bytes()));
        if self.session {
            u32s(out, &self.sessions);
        }
        for p in &self.props {
            u32s(out, p);
        }
        if self.hashes {
            self.rest.iter().for_each(|x| out.extend(x.to_le_bytes()));
        }
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
}

/// The whole input's names, interned in the in-memory run's order.
#[derive(Default)]
struct Names {
    users: Interner,
    events: Interner,
    sessions: Interner,
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
    bytes: Vec<u8>,
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
            bytes: Vec::new(),
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
        let sm = remap(&c.sessions, &mut names.sessions);
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
        for i in 0..n {
            let u = c.user[i] as usize;
            let b = &mut self.parts[part[u] as usize].block;
            b.user.push(um[u]);
            b.event.push(em[c.event[i] as usize]);
            b.ts.push(c.ts[i]);
            if session {
                b.sessions.push(sm[c.session[i] as usize]);
            }
            for (q, codes) in c.prop_codes.iter().enumerate() {
                b.props[q].push(pm[q][codes[i] as usize]);
            }
            if hashes {
                b.rest.push(c.rest[i]);
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
        part.block.encode(&mut self.bytes);
        let n = self.bytes.len() as u64;
        let result = match self.limit {
            Some(limit) if self.written + n > limit => Err(std::io::Error::from_raw_os_error(28)),
            _ => part.file.write_all(&self.bytes),
        };
        result.map_err(|e| spill_error(&part.path, &e))?;
        self.written += n;
        part.rows += part.block.user.len() as u64;
        part.block.clear();
        Ok(())
    }
}

fn spill_error(path: &Path, e: &std::io::Error) -> DataError {
    DataError::Input(format!(
        "cannot write the spill file {}: {e}; the partitioned run needs about 40 bytes per event on that disk: free space there or pass --spill-dir on a disk with room (the spill files were removed)",
        path.display()
    ))
}

/// An input read and spilled into partitions.
pub struct Partitioned {
    /// What was read, without the rows: file facts, row accounting,
    /// rejects, notes, and the whole input's names (users in id order) in
    /// `head.table`, which holds no rows.
    pub head: Ingested,
    /// The first and last timestamp of the whole input.
    pub span: Option<(i64, i64)>,
    parts: Vec<(PathBuf, std::fs::File, u64)>,
    /// Spill codes (first appearance) to id-order codes.
    recode: Vec<u32>,
    has_session: bool,
    has_hashes: bool,
    drop_duplicates: bool,
    _dir: SpillDir,
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
    let head = super::read_files(paths, opts, progress, &mut registry, &mut |c| {
        spiller.add(c)
    })?;
    for p in 0..spiller.parts.len() {
        spiller.flush(p)?;
    }
    let Spiller {
        dir,
        parts,
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
        session_names: if has_session {
            names.sessions
        } else {
            Interner::new()
        },
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
        table,
        files: Vec::new(),
        read,
        rejected,
        rejects,
        naive_timestamps: naive,
        session_column: None,
        notes: Vec::new(),
        first_reject: None,
        duplicates: 0,
        duplicates_dropped: false,
        property_names: registry.all.clone(),
        unread_hashes: Vec::new(),
        spilled_rows: Some(rows),
    };
    head.fill(&mut ingested);
    Ok(Partitioned {
        head: ingested,
        span,
        parts: parts
            .into_iter()
            .map(|p| (p.path, p.file, p.rows))
            .collect(),
        recode,
        has_session,
        has_hashes,
        drop_duplicates: opts.drop_duplicates,
        _dir: dir,
    })
}

impl Partitioned {
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

    /// Partition `p` as a table ordered per user by (time, export order),
    /// holding the whole input's names (moved in from `head`; hand them
    /// back with [`Partitioned::give_back`] before loading the next one).
    /// Duplicates are counted into `head` (and dropped, if asked).
    pub fn load(&mut self, p: usize) -> Result<EventTable> {
        let (path, file, rows) = &self.parts[p];
        let n = *rows as usize;
        let n_props = self.head.table.props.len();
        let unreadable = |m: String| DataError::Unreadable {
            file: path.display().to_string(),
            message: format!("the spill file cannot be read back ({m})"),
        };
        let mut bytes = Vec::with_capacity(n * (20 + 4 * n_props));
        let mut f = file;
        f.seek(std::io::SeekFrom::Start(0))
            .and_then(|_| f.read_to_end(&mut bytes))
            .map_err(|e| unreadable(e.to_string()))?;
        let mut user = Vec::with_capacity(n);
        let mut event = Vec::with_capacity(n);
        let mut ts = Vec::with_capacity(n);
        let mut session = Vec::with_capacity(if self.has_session { n } else { 0 });
        let mut props: Vec<Vec<u32>> = (0..n_props).map(|_| Vec::with_capacity(n)).collect();
        let mut rest: Vec<u64> = Vec::with_capacity(if self.has_hashes { n } else { 0 });
        let mut r = Reader { b: &bytes, at: 0 };
        while r.at < bytes.len() {
            let len = r.u64().ok_or_else(|| unreadable("a block is cut".into()))? as usize;
            let np = r.u32().ok_or_else(|| unreadable("a block is cut".into()))? as usize;
            let flags = r.u8().ok_or_else(|| unreadable("a block is cut".into()))?;
            let cut = || unreadable("a block is cut".into());
            r.u32s(len, &mut user).ok_or_else(cut)?;
            let from = user.len() - len;
            for u in &mut user[from..] {
                *u = self.recode[*u as usize];
            }
            r.u32s(len, &mut event).ok_or_else(cut)?;
            r.i64s(len, &mut ts).ok_or_else(cut)?;
            if flags & 1 != 0 {
                r.u32s(len, &mut session).ok_or_else(cut)?;
            }
            for (q, col) in props.iter_mut().enumerate() {
                if q < np {
                    r.u32s(len, col).ok_or_else(cut)?;
                } else {
                    // A file read before a later one added the column.
                    col.resize(col.len() + len, 0);
                }
            }
            if flags & 2 != 0 {
                r.u64s(len, &mut rest).ok_or_else(cut)?;
            } else if self.has_hashes {
                rest.resize(rest.len() + len, 0);
            }
        }
        drop(bytes);
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
            super::order_by_user_then_time(&user, &ts, self.head.table.user_names.len())
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
        let h = &mut self.head.table;
        let mut table = EventTable {
            user_names: std::mem::take(&mut h.user_names),
            event_names: std::mem::take(&mut h.event_names),
            user: gather(user),
            event: gather(event),
            ts,
            session_names: std::mem::take(&mut h.session_names),
            session: gather(session),
            props: h
                .props
                .iter_mut()
                .zip(props)
                .map(|(p, codes)| PropColumn {
                    name: p.name.clone(),
                    values: std::mem::take(&mut p.values),
                    codes: gather(codes),
                })
                .collect(),
        };
        let (dup, count) = dedup::mark(&table, &rest);
        self.head.duplicates += count;
        if self.drop_duplicates && count > 0 {
            dedup::drop_marked(&mut table, &dup);
            self.head.duplicates_dropped = true;
        }
        Ok(table)
    }

    /// Takes the names back from a partition's table.
    pub fn give_back(&mut self, t: EventTable) {
        let h = &mut self.head.table;
        h.user_names = t.user_names;
        h.event_names = t.event_names;
        h.session_names = t.session_names;
        for (p, q) in h.props.iter_mut().zip(t.props) {
            p.values = q.values;
        }
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|s| s[0])
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|s| u32::from_le_bytes(s.try_into().unwrap_or_default()))
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .map(|s| u64::from_le_bytes(s.try_into().unwrap_or_default()))
    }
    fn u32s(&mut self, n: usize, out: &mut Vec<u32>) -> Option<()> {
        let s = self.take(n.checked_mul(4)?)?;
        out.extend(
            s.chunks_exact(4)
                .map(|c| u32::from_le_bytes(c.try_into().unwrap_or_default())),
        );
        Some(())
    }
    fn i64s(&mut self, n: usize, out: &mut Vec<i64>) -> Option<()> {
        let s = self.take(n.checked_mul(8)?)?;
        out.extend(
            s.chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().unwrap_or_default())),
        );
        Some(())
    }
    fn u64s(&mut self, n: usize, out: &mut Vec<u64>) -> Option<()> {
        let s = self.take(n.checked_mul(8)?)?;
        out.extend(
            s.chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default())),
        );
        Some(())
    }
}

//! The training data's identity.

use super::model::{self, Fingerprint};
use crate::ingest::{EventTable, FileInfo};

/// The training data's identity: files, sizes and a content hash. The hash
/// is FNV-1a over 64-bit words (each user name's bytes, then per event the
/// FNV-1a of its name and its timestamp): a word at a time, because the
/// byte-at-a-time form was 0.2 s of a 10M-event report's critical path.
pub fn fingerprint(t: &EventTable, files: &[FileInfo]) -> Fingerprint {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let fnv = |mut h: u64, bytes: &[u8]| {
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(PRIME);
        }
        h
    };
    let word = |h: u64, w: u64| (h ^ w).wrapping_mul(PRIME);
    let names: Vec<u64> = t
        .event_names
        .iter()
        .map(|n| fnv(OFFSET, n.as_bytes()))
        .collect();
    let mut h = OFFSET;
    for r in t.user_ranges() {
        h = fnv(h, t.user_names.get(t.user[r.start]).as_bytes());
        h = fnv(h, &[0xff]);
        for i in r {
            h = word(h, names[t.event[i] as usize]);
            h = word(h, t.ts[i] as u64);
        }
    }
    Fingerprint {
        files: files
            .iter()
            .map(|f| model::FileFingerprint {
                path: f.path.clone(),
                bytes: f.bytes,
                rows_read: f.rows_read,
            })
            .collect(),
        events: t.len() as u64,
        users: t.user_names.len() as u64,
        content_hash: format!("{h:016x}"),
        period: match (t.ts.iter().min(), t.ts.iter().max()) {
            (Some(&a), Some(&b)) => Some([crate::output::iso(a), crate::output::iso(b)]),
            _ => None,
        },
    }
}

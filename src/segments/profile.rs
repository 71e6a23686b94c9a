//! Segment profiles: size, centroid in original units, the features that set
//! each segment apart, exit points, funnel stops, and the name.

use crate::ingest::EventTable;

use super::features::{Features, Kind, Roles};
use super::kmeans::KMeansFit;
use super::naming::{self, Signal};
use super::scale::{Scaler, inverse, transform};
use super::{Distinguishing, ExitCount, FeatureProfile, Segment, StepStop, r6};
use crate::features::Units;

pub(super) struct Input<'a> {
    pub t: &'a EventTable,
    pub units: &'a Units<'a>,
    pub selected: &'a [usize],
    pub levels: Option<&'a [i32]>,
    pub step_labels: Option<&'a [String]>,
    pub feats: &'a Features,
    pub scaler: &'a Scaler,
    pub fit: &'a KMeansFit,
    pub roles: &'a Roles,
}

/// At most this many distinguishing features; the first `MIN_DISTINGUISHING`
/// are always listed, the others only when |z| ≥ `naming::RULE_Z`.
const MAX_DISTINGUISHING: usize = 5;
const MIN_DISTINGUISHING: usize = 3;
const TOP_EXITS: usize = 5;

pub(super) fn build(inp: &Input) -> Vec<Segment> {
    let fit = inp.fit;
    let k = fit.k;
    let n = inp.selected.len();
    let cols = &inp.scaler.columns;
    let p = cols.len();

    // Per segment: sums of raw and transformed values, exits, levels.
    let mut raw = vec![0.0f64; k * p];
    let mut tr = vec![0.0f64; k * p];
    let mut exits = vec![vec![0u64; inp.t.event_names.len()]; k];
    let n_levels = inp.step_labels.map_or(0, |s| s.len() + 1);
    let mut stops = vec![vec![0u64; n_levels]; k];
    for (row, &u) in inp.selected.iter().enumerate() {
        let c = fit.labels[row] as usize;
        for (j, col) in cols.iter().enumerate() {
            let v = inp.feats.get(row, inp.scaler.source[j]);
            raw[c * p + j] += v;
            tr[c * p + j] += transform(col.transform, v);
        }
        exits[c][inp.t.event[inp.units.last_event(u)] as usize] += 1;
        if let Some(levels) = inp.levels {
            stops[c][levels[u].max(0) as usize] += 1;
        }
    }

    let product_view = inp.roles.product_view.map(|e| inp.t.event_names.get(e));
    let cart_add = inp.roles.cart_add.map(|e| inp.t.event_names.get(e));
    let mut segments: Vec<Segment> = (0..k)
        .map(|c| {
            let size = fit.sizes[c];
            let m = size.max(1) as f64;
            let profile: Vec<FeatureProfile> = cols
                .iter()
                .enumerate()
                .map(|(j, col)| FeatureProfile {
                    feature: col.name.clone(),
                    centroid: r6(inverse(
                        col.transform,
                        col.center + col.scale * fit.centroids[[c, j]],
                    )),
                    mean: r6(raw[c * p + j] / m),
                    z: r6((tr[c * p + j] / m - col.center) / col.std),
                })
                .collect();
            let kinds: Vec<&Kind> = inp
                .scaler
                .source
                .iter()
                .map(|&s| &inp.feats.defs[s].kind)
                .collect();
            let distinguishing = distinguishing(&profile, &kinds);
            let signals: Vec<Signal> = (0..p)
                .map(|j| Signal {
                    kind: kinds[j],
                    z: profile[j].z,
                    mean: profile[j].mean,
                })
                .collect();
            let persona = naming::persona(&signals, product_view, cart_add);
            let phrases: Vec<String> = distinguishing.iter().map(|d| d.phrase.clone()).collect();
            let mut exit_list: Vec<ExitCount> = exits[c]
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(e, &n)| ExitCount {
                    event: inp.t.event_names.get(e as u32).to_string(),
                    units: n,
                    share: r6(n as f64 / m),
                })
                .collect();
            exit_list.sort_by(|a, b| b.units.cmp(&a.units).then_with(|| a.event.cmp(&b.event)));
            exit_list.truncate(TOP_EXITS);
            let funnel_stops: Vec<StepStop> = match inp.step_labels {
                Some(labels) => (0..n_levels)
                    .filter(|&l| stops[c][l] > 0)
                    .map(|l| StepStop {
                        step: l,
                        label: if l == 0 {
                            String::new()
                        } else {
                            labels[l - 1].clone()
                        },
                        units: stops[c][l],
                        share: r6(stops[c][l] as f64 / m),
                    })
                    .collect(),
                None => Vec::new(),
            };
            // The most common step; ties go to the earlier step.
            let stops_at = funnel_stops
                .iter()
                .fold(None::<&StepStop>, |best, s| match best {
                    Some(b) if b.units >= s.units => Some(b),
                    _ => Some(s),
                });
            Segment {
                segment: c + 1,
                name: naming::name(&phrases, persona),
                persona: persona.map(str::to_string),
                units: size,
                share: r6(size as f64 / n.max(1) as f64),
                distinguishing,
                profile,
                exits: exit_list,
                stops_at: stops_at.cloned(),
                funnel_stops,
            }
        })
        .collect();
    let mut names: Vec<String> = segments.iter().map(|s| s.name.clone()).collect();
    naming::dedupe(&mut names);
    for (s, name) in segments.iter_mut().zip(names) {
        s.name = name;
    }
    segments
}

/// The features with the largest |z| (ties: feature order), at most one level
/// per categorical column, 3 always and up to 5 while |z| ≥ the rule threshold.
fn distinguishing(profile: &[FeatureProfile], kinds: &[&Kind]) -> Vec<Distinguishing> {
    let mut order: Vec<usize> = (0..profile.len()).collect();
    order.sort_by(|&a, &b| {
        profile[b]
            .z
            .abs()
            .total_cmp(&profile[a].z.abs())
            .then(a.cmp(&b))
    });
    let mut out = Vec::new();
    let mut columns_used: Vec<&str> = Vec::new();
    for j in order {
        if out.len() >= MAX_DISTINGUISHING {
            break;
        }
        let z = profile[j].z;
        if out.len() >= MIN_DISTINGUISHING && z.abs() < naming::RULE_Z {
            break;
        }
        if let Kind::Category { column, .. } = kinds[j] {
            if columns_used.contains(&column.as_str()) {
                continue;
            }
            columns_used.push(column);
        }
        out.push(Distinguishing {
            feature: profile[j].feature.clone(),
            z,
            direction: if z >= 0.0 { "high" } else { "low" }.into(),
            phrase: naming::phrase(kinds[j], z, profile[j].mean),
        });
    }
    out
}

//! Tables of a [`SegmentsReport`], shared by the terminal output and report.md.
//! They only format fields of the report; nothing is computed here.

use crate::table::{Align, Table, num, thousands};

use super::{Segment, SegmentsReport, StepStop};

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn quote(s: &str, code: bool) -> String {
    if code {
        format!("`{s}`")
    } else {
        s.to_string()
    }
}

/// "step 2 (add_to_cart)"; step 0 is "before step 1".
pub fn step_name(s: &StepStop, code: bool) -> String {
    if s.step == 0 {
        "before step 1".into()
    } else {
        format!("step {} ({})", s.step, quote(&s.label, code))
    }
}

/// One line on what was clustered.
pub fn headline(r: &SegmentsReport) -> String {
    let unit = match r.unit {
        super::Unit::User => "users",
        super::Unit::Session => "sessions",
    };
    let what = match (&r.funnel, r.on) {
        (Some(f), super::On::Abandoned) => format!(
            "abandoning {unit} (reached step {} `{}` without converting)",
            f.from_step,
            f.steps
                .get(f.from_step.saturating_sub(1))
                .map_or("", String::as_str)
        ),
        _ => format!("all {unit}"),
    };
    format!(
        "{} segments of {}: {} of {} {unit}; silhouette {}.",
        r.k,
        what,
        thousands(r.units),
        thousands(r.units_in_data),
        r.silhouette.map_or("-".into(), num)
    )
}

/// The features used and the ones dropped as constant.
pub fn features_line(r: &SegmentsReport) -> String {
    let mut out = format!("{} features used", r.features.len());
    if r.dropped_features.is_empty() {
        out.push('.');
    } else {
        let dropped: Vec<String> = r
            .dropped_features
            .iter()
            .map(|d| format!("{} ({})", d.feature, d.reason))
            .collect();
        out += &format!("; dropped: {}.", dropped.join(", "));
    }
    out
}

/// k tried, inertia and silhouette.
pub fn selection_table(r: &SegmentsReport) -> Table {
    let mut t = Table::new(
        &["k", "inertia", "silhouette", ""],
        &[Align::Right, Align::Right, Align::Right, Align::Left],
    );
    for s in &r.selection.tried {
        t.row(vec![
            s.k.to_string(),
            num(s.inertia),
            s.silhouette.map_or("-".into(), num),
            if s.k == r.selection.chosen_k {
                "chosen".into()
            } else {
                String::new()
            },
        ]);
    }
    t
}

/// One row per segment: name, size, where it stops, its top exit.
pub fn segment_table(r: &SegmentsReport, code: bool) -> Table {
    let mut t = Table::new(
        &["#", "segment", "units", "share", "stops at", "top exit"],
        &[
            Align::Right,
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Left,
            Align::Left,
        ],
    );
    for s in &r.segments {
        t.row(vec![
            s.segment.to_string(),
            s.name.clone(),
            thousands(s.units),
            pct(s.share),
            s.stops_at.as_ref().map_or("-".into(), |st| {
                format!("{} {}", step_name(st, code), pct(st.share))
            }),
            s.exits.first().map_or("-".into(), |e| {
                format!("{} {}", quote(&e.event, code), pct(e.share))
            }),
        ]);
    }
    t
}

/// Per segment: its distinguishing features with z.
pub fn distinguishing_table(r: &SegmentsReport, code: bool) -> Table {
    let mut t = Table::new(
        &["#", "what sets it apart (z against everyone)"],
        &[Align::Right, Align::Left],
    );
    for s in &r.segments {
        let parts: Vec<String> = s
            .distinguishing
            .iter()
            .map(|d| format!("{} {:+.2} ({})", quote(&d.feature, code), d.z, d.phrase))
            .collect();
        t.row(vec![s.segment.to_string(), parts.join("; ")]);
    }
    t
}

/// Per segment: its exit points (last events), top 5.
pub fn exits_table(r: &SegmentsReport, code: bool) -> Table {
    let mut t = Table::new(
        &["#", "exit points (last event of the unit)"],
        &[Align::Right, Align::Left],
    );
    for s in &r.segments {
        let parts: Vec<String> = s
            .exits
            .iter()
            .map(|e| format!("{} {}", quote(&e.event, code), pct(e.share)))
            .collect();
        t.row(vec![s.segment.to_string(), parts.join(", ")]);
    }
    t
}

/// Where each segment leaves the funnel: segments × furthest step reached.
pub fn stops_table(r: &SegmentsReport, code: bool) -> Option<Table> {
    r.funnel.as_ref()?;
    let mut steps: Vec<&StepStop> = Vec::new();
    for s in r.segments.iter().flat_map(|s| &s.funnel_stops) {
        if !steps.iter().any(|x| x.step == s.step) {
            steps.push(s);
        }
    }
    steps.sort_by_key(|s| s.step);
    let heads: Vec<String> = steps
        .iter()
        .map(|s| format!("stopped at {}", step_name(s, code)))
        .collect();
    let mut header: Vec<&str> = vec!["#", "segment"];
    header.extend(heads.iter().map(String::as_str));
    let mut align = vec![Align::Right, Align::Left];
    align.extend(steps.iter().map(|_| Align::Right));
    let mut t = Table::new(&header, &align);
    for s in &r.segments {
        let mut row = vec![s.segment.to_string(), s.name.clone()];
        for st in &steps {
            row.push(
                s.funnel_stops
                    .iter()
                    .find(|x| x.step == st.step)
                    .map_or("-".into(), |x| {
                        format!("{} ({})", thousands(x.units), pct(x.share))
                    }),
            );
        }
        t.row(row);
    }
    Some(t)
}

/// Centroids in original units: one row per feature, one column per segment.
pub fn centroid_table(r: &SegmentsReport, code: bool) -> Table {
    let heads: Vec<String> = r
        .segments
        .iter()
        .map(|s| format!("#{}", s.segment))
        .collect();
    let mut header: Vec<&str> = vec!["feature"];
    header.extend(heads.iter().map(String::as_str));
    let mut align = vec![Align::Left];
    align.extend(r.segments.iter().map(|_| Align::Right));
    let mut t = Table::new(&header, &align);
    for (j, f) in r.features.iter().enumerate() {
        let mut row = vec![quote(&f.name, code)];
        row.extend(
            r.segments
                .iter()
                .map(|s: &Segment| s.profile.get(j).map_or("-".into(), |p| num(p.centroid))),
        );
        t.row(row);
    }
    t
}

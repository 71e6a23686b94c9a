//! The segments section: what was clustered, how k was chosen, each
//! segment's profile, and where each segment leaves the funnel (the
//! journey-map annotation). `journeymap segments` prints the same document.

use crate::doc::fmt::{num, pct, thousands};
use crate::doc::{Align, Block, Cell, Chart, ChartKind, Document, Interval, Line, Table, line};
use crate::segments::{On, SegmentsReport, StepStop, Unit};

/// "step 2 (`add_to_cart`)"; step 0 is "before step 1".
fn step_name(s: &StepStop) -> Line {
    if s.step == 0 {
        line().text("before step 1").done()
    } else {
        line()
            .text(format!("step {} (", s.step))
            .name(&s.label)
            .text(")")
            .done()
    }
}

/// One line on what was clustered.
pub fn headline(r: &SegmentsReport) -> Line {
    let unit = match r.unit {
        Unit::User => "users",
        Unit::Session => "sessions",
    };
    let mut l = line().text(format!("{} segments of ", r.k));
    l = match (&r.funnel, r.on) {
        (Some(f), On::Abandoned) => {
            let mut l = l
                .text(format!("abandoning {unit} (reached step {} ", f.from_step))
                .name(
                    f.steps
                        .get(f.from_step.saturating_sub(1))
                        .map_or("", String::as_str),
                )
                .text(" but not ")
                .name(f.steps.last().map_or("", String::as_str));
            l = match &f.window {
                Some(w) => l.text(format!(" within the {w} window")),
                None => l.text(" in the same session"),
            };
            if f.converted_outside_window > 0 {
                l = l
                    .text(format!(
                        "; {} of them have a ",
                        thousands(f.converted_outside_window)
                    ))
                    .name(f.steps.last().map_or("", String::as_str))
                    .text(" event all the same, outside the window or out of step order");
            } else {
                l = l
                    .text("; none of them has a ")
                    .name(f.steps.last().map_or("", String::as_str))
                    .text(" event at all");
            }
            l.text(")")
        }
        _ => l.text(format!("all {unit}")),
    };
    l.text(format!(
        ": {} of {} {unit}; silhouette {}.",
        thousands(r.units),
        thousands(r.units_in_data),
        r.silhouette.map_or("-".into(), num)
    ))
    .done()
}

/// The features used and the ones dropped.
pub fn features_line(r: &SegmentsReport) -> Line {
    let mut l = line().text(format!("{} features used", r.features.len()));
    if r.dropped_features.is_empty() {
        return l.text(".").done();
    }
    l = l.text("; dropped: ");
    for (i, d) in r.dropped_features.iter().enumerate() {
        if i > 0 {
            l = l.text(", ");
        }
        l = l
            .name(&d.feature)
            .text(" (")
            .spans(crate::doc::rich::parse(&d.reason))
            .text(")");
    }
    l.text(".").done()
}

fn selection_table(r: &SegmentsReport) -> Table {
    let mut t = Table::new(&[
        ("k", Align::Right),
        ("inertia", Align::Right),
        ("silhouette", Align::Right),
        ("", Align::Left),
    ]);
    for s in &r.selection.tried {
        t.row(vec![
            Cell::count(s.k as u64),
            Cell::short(s.inertia),
            Cell::opt(s.silhouette.map(Cell::short)),
            Cell::text(if s.k == r.selection.chosen_k {
                "chosen"
            } else {
                ""
            }),
        ]);
    }
    t
}

fn segment_table(r: &SegmentsReport) -> Table {
    let mut t = Table::new(&[
        ("#", Align::Right),
        ("segment", Align::Left),
        ("units", Align::Right),
        ("share", Align::Right),
        ("stops at", Align::Left),
        ("top exit", Align::Left),
    ]);
    for s in &r.segments {
        t.row(vec![
            Cell::count(s.segment as u64),
            Cell::data(&s.name),
            Cell::count(s.units),
            Cell::pct(s.share),
            s.stops_at.as_ref().map_or(Cell::Missing, |st| {
                let mut l = step_name(st);
                l.push(crate::doc::Span::Text(format!(" {}", pct(st.share))));
                Cell::spans(l)
            }),
            s.exits.first().map_or(Cell::Missing, |e| {
                Cell::spans(line().name(&e.event).text(format!(" {}", pct(e.share))))
            }),
        ]);
    }
    t
}

fn distinguishing_table(r: &SegmentsReport) -> Table {
    let mut t = Table::new(&[
        ("#", Align::Right),
        ("what sets it apart (z against everyone)", Align::Left),
    ]);
    for s in &r.segments {
        let mut l = line();
        for (i, d) in s.distinguishing.iter().enumerate() {
            if i > 0 {
                l = l.text("; ");
            }
            l = l
                .name(&d.feature)
                .text(format!(" {:+.2} (", d.z))
                .data(&d.phrase)
                .text(")");
        }
        t.row(vec![Cell::count(s.segment as u64), Cell::spans(l)]);
    }
    t
}

fn exits_table(r: &SegmentsReport) -> Table {
    let mut t = Table::new(&[
        ("#", Align::Right),
        ("exit points (last event of the unit)", Align::Left),
    ]);
    for s in &r.segments {
        let mut l = line();
        for (i, e) in s.exits.iter().enumerate() {
            if i > 0 {
                l = l.text(", ");
            }
            l = l.name(&e.event).text(format!(" {}", pct(e.share)));
        }
        t.row(vec![Cell::count(s.segment as u64), Cell::spans(l)]);
    }
    t
}

/// Where each segment leaves the funnel: segments × furthest step reached.
fn stops_table(r: &SegmentsReport) -> Option<Table> {
    r.funnel.as_ref()?;
    let mut steps: Vec<&StepStop> = Vec::new();
    for s in r.segments.iter().flat_map(|s| &s.funnel_stops) {
        if !steps.iter().any(|x| x.step == s.step) {
            steps.push(s);
        }
    }
    steps.sort_by_key(|s| s.step);
    let mut cols = vec![
        (line().text("#").done(), Align::Right),
        (line().text("segment").done(), Align::Left),
    ];
    cols.extend(steps.iter().map(|s| {
        let mut l = line().text("stopped at ").done();
        l.extend(step_name(s));
        (l, Align::Right)
    }));
    let mut t = Table::with_columns(cols);
    for s in &r.segments {
        let mut row = vec![Cell::count(s.segment as u64), Cell::data(&s.name)];
        for st in &steps {
            row.push(
                s.funnel_stops
                    .iter()
                    .find(|x| x.step == st.step)
                    .map_or(Cell::Missing, |x| {
                        Cell::text(format!("{} ({})", thousands(x.units), pct(x.share)))
                    }),
            );
        }
        t.row(row);
    }
    Some(t)
}

/// Centroids in original units: one row per feature, one column per segment.
fn centroid_table(r: &SegmentsReport) -> Table {
    let mut cols = vec![(line().text("feature").done(), Align::Left)];
    cols.extend(
        r.segments
            .iter()
            .map(|s| (line().text(format!("#{}", s.segment)).done(), Align::Right)),
    );
    let mut t = Table::with_columns(cols);
    for (j, f) in r.features.iter().enumerate() {
        let mut row = vec![Cell::name(&f.name)];
        row.extend(r.segments.iter().map(|s| {
            s.profile
                .get(j)
                .map_or(Cell::Missing, |p| Cell::short(p.centroid))
        }));
        t.row(row);
    }
    t
}

pub fn document(s: &SegmentsReport) -> Document {
    let mut doc = vec![
        Block::title(2, "Abandonment segments"),
        Block::Para(headline(s)),
        Block::Para(features_line(s)),
        Block::Table(segment_table(s)),
        Chart::bars(
            "Segment sizes",
            format!("share of the {} clustered", thousands(s.units)),
            s.segments
                .iter()
                .map(|g| (line().data(&g.name).done(), g.share))
                .collect(),
        ),
    ];
    if let Some(t) = stops_table(s) {
        doc.push(Block::title(3, "Where each segment leaves the funnel"));
        doc.push(Block::Table(t));
        doc.push(Block::Grid(
            s.segments
                .iter()
                .map(|g| Chart {
                    title: format!("{}. furthest step reached", g.segment),
                    kind: ChartKind::Bars {
                        axis: "share of the segment".into(),
                        bars: g
                            .funnel_stops
                            .iter()
                            .map(|st| {
                                let label = if st.step == 0 {
                                    line().text("none").done()
                                } else {
                                    line().text(format!("{}. ", st.step)).name(&st.label).done()
                                };
                                (label, st.share)
                            })
                            .collect(),
                    },
                })
                .collect(),
        ));
    }
    doc.extend([
        Block::title(3, "What sets each segment apart"),
        Block::Table(distinguishing_table(s)),
        Block::Grid(
            s.segments
                .iter()
                .map(|g| Chart {
                    title: format!("{}. profile (z against everyone)", g.segment),
                    kind: ChartKind::Intervals {
                        axis: "z (standard deviations from the mean of all units)".into(),
                        reference: 0.0,
                        rows: g
                            .distinguishing
                            .iter()
                            .map(|d| Interval {
                                label: line().name(&d.feature).done(),
                                estimate: d.z,
                                low: d.z,
                                high: d.z,
                                text: format!("{:+.2}", d.z),
                            })
                            .collect(),
                    },
                })
                .collect(),
        ),
        Block::title(3, "Exit points"),
        Block::Table(exits_table(s)),
        Block::Grid(
            s.segments
                .iter()
                .map(|g| Chart {
                    title: format!("{}. last events", g.segment),
                    kind: ChartKind::Bars {
                        axis: "share of the segment".into(),
                        bars: g
                            .exits
                            .iter()
                            .map(|e| (line().name(&e.event).done(), e.share))
                            .collect(),
                    },
                })
                .collect(),
        ),
        Block::title(3, "Centroids in original units"),
        Block::Table(centroid_table(s)),
        Block::title(3, "Choosing k"),
        Block::text(format!(
            "k-means (k-means++, {} restarts, seed {}); silhouette on {} units.",
            s.n_init,
            s.seed,
            thousands(s.selection.silhouette_sample)
        )),
        Block::Table(selection_table(s)),
    ]);
    doc
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::config;
    use crate::funnel::FunnelOptions;
    use crate::ingest::{self, IngestOptions};
    use crate::progress::Progress;
    use crate::segments::{self, KChoice, On, SegmentsOptions};
    use crate::sessions::{self, SessionSource};

    #[test]
    fn markdown_matches_the_golden_file() {
        let data = PathBuf::from("fixtures/segments/tiny.csv");
        let ing = ingest::ingest(
            std::slice::from_ref(&data),
            &IngestOptions::default(),
            &Progress::silent(),
        )
        .unwrap();
        let s = sessions::build(&ing.table, &SessionSource::Inactivity { gap_ms: 1_800_000 });
        let cfg = config::load(&PathBuf::from("fixtures/segments/tiny.journey.toml")).unwrap();
        let opts = SegmentsOptions {
            on: On::All,
            k: KChoice::Fixed(2),
            funnel: Some(FunnelOptions::from_config(cfg.funnel.as_ref().unwrap())),
            ..SegmentsOptions::default()
        };
        let r = segments::analyze(&ing.table, &s, &opts).unwrap();
        let md = crate::doc::markdown::render(&super::document(&r.report));
        assert!(md.contains("### Where each segment leaves the funnel"));
        assert!(md.contains("stopped at step 1 (`product_view`)"));
        let golden = PathBuf::from("fixtures/segments/tiny.segments.md");
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&golden, &md).unwrap();
        }
        assert_eq!(
            md,
            std::fs::read_to_string(&golden).unwrap(),
            "report.md section differs from {}",
            golden.display()
        );
    }
}

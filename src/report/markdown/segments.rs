//! The segments section of report.md: what was clustered, how k was chosen,
//! each segment's profile, and where each segment leaves the funnel (the
//! journey-map annotation). Every number shown is a field of the report.

use std::fmt::Write;

use crate::segments::{SegmentsReport, tables};
use crate::table::thousands;

// Called from markdown::render once segments are wired into report.md.
pub fn render(s: &SegmentsReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## Abandonment segments\n");
    let _ = writeln!(out, "{}\n", tables::headline(s));
    let _ = writeln!(out, "{}\n", tables::features_line(s));
    out += &tables::segment_table(s, true).to_markdown();
    if let Some(t) = tables::stops_table(s, true) {
        let _ = writeln!(out, "\n### Where each segment leaves the funnel\n");
        out += &t.to_markdown();
    }
    let _ = writeln!(out, "\n### What sets each segment apart\n");
    out += &tables::distinguishing_table(s, true).to_markdown();
    let _ = writeln!(out, "\n### Exit points\n");
    out += &tables::exits_table(s, true).to_markdown();
    let _ = writeln!(out, "\n### Centroids in original units\n");
    out += &tables::centroid_table(s, true).to_markdown();
    let _ = writeln!(
        out,
        "\n### Choosing k\n\nk-means (k-means++, {} restarts, seed {}); silhouette on {} units.\n",
        s.n_init,
        s.seed,
        thousands(s.selection.silhouette_sample)
    );
    out += &tables::selection_table(s).to_markdown();
    out
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
            funnel: Some(FunnelOptions::from_config(cfg.funnel.as_ref().unwrap()).unwrap()),
            ..SegmentsOptions::default()
        };
        let r = segments::analyze(&ing.table, &s, &opts).unwrap();
        let md = super::render(&r.report);
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

//! Unit tests: metrics on hand examples, explanations, PostHog's odds
//! ratio, splits, labels, the cutoff (leakage) and intervention rules.

use super::config::{Milestone, Rule};
use super::explain::{self, correlations, posthog_odds_ratio};
use super::interventions;
use super::label::{Cutoff, LabelDefinition, Outcome, Status};
use super::metrics::{self, Metrics};
use super::score::{cuts, resolve_label};
use super::split;
use crate::config::StageConfig;
use crate::features::{Extractor, FeatureDef, RowScratch};
use crate::ingest::EventTable;
use crate::predicate::Predicate;
use crate::sessions::{self, SessionSource};

const H: i64 = 3_600_000;
const D: i64 = 24 * H;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn auc_on_a_hand_example_with_ties() {
    // scikit-learn's documented example.
    assert!(close(
        metrics::auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]),
        0.75
    ));
    // Pairs (pos, neg): (0.5, 0.5) tie = ½, (0.5, 0.2) = 1, (0.9, 0.5) = 1, (0.9, 0.2) = 1 → 3.5 / 4.
    assert!(close(
        metrics::auc(&[0.5, 0.5, 0.2, 0.9], &[true, false, false, true]),
        0.875
    ));
    // All tied: ½.
    assert!(close(
        metrics::auc(&[0.3; 4], &[true, false, true, false]),
        0.5
    ));
    // Perfect and reversed.
    assert!(close(metrics::auc(&[0.9, 0.1], &[true, false]), 1.0));
    assert!(close(metrics::auc(&[0.1, 0.9], &[true, false]), 0.0));
    // One class only: undefined, reported as ½.
    assert!(close(metrics::auc(&[0.1, 0.9], &[true, true]), 0.5));
}

#[test]
fn log_loss_and_brier() {
    assert!(close(
        metrics::log_loss(&[0.9, 0.1], &[true, false]),
        -(0.9f64).ln()
    ));
    assert!(close(
        metrics::log_loss(&[0.5, 0.5], &[true, false]),
        std::f64::consts::LN_2
    ));
    // Clipped, not infinite.
    assert!(metrics::log_loss(&[0.0], &[true]).is_finite());
    assert!(close(
        metrics::brier(&[0.9, 0.2], &[true, false]),
        (0.01 + 0.04) / 2.0
    ));
    let (p, r) = metrics::precision_recall(&[0.9, 0.6, 0.4, 0.1], &[true, false, true, false], 0.5);
    assert!(close(p, 0.5) && close(r, 0.5));
    let m = Metrics::of(&[0.9, 0.6, 0.4, 0.1], &[true, false, true, false], 0.5);
    assert_eq!((m.users, m.positives), (4, 2));
    assert!(close(m.base_rate, 0.5));
}

#[test]
fn calibration_bins() {
    let p = [0.05, 0.15, 0.12, 0.95, 1.0, 0.5];
    let y = [false, true, false, true, true, false];
    let c = metrics::calibration(&p, &y);
    assert_eq!(c.len(), 10);
    assert_eq!(
        c.iter().map(|b| b.users).collect::<Vec<_>>(),
        vec![1, 2, 0, 0, 0, 1, 0, 0, 0, 2]
    );
    assert_eq!(c[1].mean_predicted, Some(0.135));
    assert_eq!(c[1].observed_rate, Some(0.5));
    assert_eq!(c[2].mean_predicted, None);
    // 1.0 falls in the last bin.
    assert_eq!(c[9].observed_rate, Some(1.0));
    assert!(close(c[9].lo, 0.9) && close(c[9].hi, 1.0));
}

#[test]
fn lift_by_decile() {
    // 20 users, scores 1.0, 0.95, ..., positives are the top 4.
    let p: Vec<f64> = (0..20).map(|i| 1.0 - i as f64 * 0.05).collect();
    let y: Vec<bool> = (0..20).map(|i| i < 4).collect();
    let l = metrics::lift(&p, &y);
    assert_eq!(l.len(), 10);
    assert!(l.iter().all(|d| d.users == 2));
    assert_eq!((l[0].positives, l[1].positives, l[2].positives), (2, 2, 0));
    // Rate 1.0 against an overall 0.2: lift 5.
    assert!(close(l[0].lift, 5.0));
    assert!(close(l[0].cumulative_capture, 0.5) && close(l[1].cumulative_capture, 1.0));
    assert!(close(l[9].cumulative_capture, 1.0));
    assert!(close(l[0].max_score, 1.0));
}

#[test]
fn best_f1_threshold() {
    let p = [0.9, 0.8, 0.3, 0.2];
    let y = [true, true, false, false];
    assert!(close(metrics::best_f1_threshold(&p, &y), 0.8));
    assert!(close(metrics::best_f1_threshold(&p, &[false; 4]), 0.5));
}

#[test]
fn odds_ratio_sentences() {
    let def = FeatureDef::Milestone {
        name: "invited_teammate".into(),
        event: Predicate::Event("invite_teammate".into()),
        phrase: "invited a teammate".into(),
    };
    // A 0/1 flag with sd 0.4: the flag's odds ratio is exp(coef / sd).
    let coef = 3.1f64.ln() * 0.4;
    let e = explain::explain(&def, 0.2, 0.4, coef, "convert");
    assert_eq!(
        e.sentence,
        "Users who invited a teammate are 3.1x as likely to convert (odds ratio, other features equal)."
    );
    assert!(close(e.odds_ratio_flag.unwrap(), 3.1));
    assert!(close(e.odds_ratio_per_sd, crate::stats::round6(coef.exp())));
    let count = FeatureDef::EventCount {
        event: "use_feature".into(),
        per_session: false,
        label: None,
    };
    let e = explain::explain(&count, 1.0, 0.5, (0.45f64).ln(), "churn");
    assert_eq!(
        e.sentence,
        "Users one standard deviation higher in `use_feature` events (log scale) are 0.45x as likely to churn (odds ratio, other features equal)."
    );
    assert_eq!(e.odds_ratio_flag, None);
}

#[test]
fn posthog_correlation_toy() {
    // PostHog's test_funnel_correlation: 10 succeed and 10 fail; 5 of the
    // successes did `positively_related`, 5 of the failures `negatively_related`.
    assert!(close(posthog_odds_ratio(5, 0, 10, 10), 11.0));
    assert!(close(posthog_odds_ratio(0, 5, 10, 10), 1.0 / 11.0));
    // 5 of each with the event: (5+1)(10−5+1) / ((10−5+1)(5+1)) = 1.
    assert!(close(posthog_odds_ratio(5, 5, 10, 10), 1.0));
    let c = correlations(
        &[
            "negatively_related".into(),
            "positively_related".into(),
            "never".into(),
            "signup".into(),
        ],
        &[0, 5, 0, 10],
        &[5, 0, 0, 10],
        10,
        10,
    );
    assert_eq!(c.len(), 2, "events nobody or everybody did are left out");
    assert_eq!(c[0].event, "positively_related");
    assert!(close(c[0].odds_ratio, 11.0));
    assert!(close(c[1].odds_ratio, 0.090909));
    // Floor min(25, 2% of 20 users) = 1.
    assert!(c.iter().all(|x| x.enough_users));
}

#[test]
fn stratified_splits_keep_the_base_rate_in_every_fold() {
    let y: Vec<bool> = (0..1000).map(|i| i % 4 == 0).collect();
    let ids: Vec<String> = (0..1000).map(|i| format!("u{i}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let h = split::holdout(&y, &ids, 0.2, 7);
    assert_eq!(h.iter().zip(&y).filter(|&(&h, &y)| h && y).count(), 50);
    let f = split::folds(&y, &ids, 5, 7);
    for k in 0..5 {
        let n = f.iter().filter(|&&x| x == k).count();
        let pos = f.iter().zip(&y).filter(|&(&x, &y)| x == k && y).count();
        assert_eq!((n, pos), (200, 50));
    }
}

/// User "a": signup at 0, feature at 1h, invite at 2d, upgrade at 5d, feature at 6d.
/// User "b": signup at 0, feature at 1d.
fn toy(extra: &[(u32, &str, i64)]) -> EventTable {
    let mut rows: Vec<(u32, &str, i64)> = vec![
        (0, "signup", 0),
        (0, "use_feature", H),
        (0, "invite_teammate", 2 * D),
        (0, "upgrade", 5 * D),
        (0, "use_feature", 6 * D),
        (1, "signup", 0),
        (1, "use_feature", D),
    ];
    rows.extend_from_slice(extra);
    rows.sort_by_key(|r| (r.0, r.2));
    let mut t = EventTable {
        user_names: ["a", "b"].into_iter().collect(),
        ..EventTable::default()
    };
    for (u, e, ts) in rows {
        t.user.push(u);
        let code = t.event_names.intern(e);
        t.event.push(code);
        t.ts.push(ts);
    }
    t
}

fn conversion(window_ms: i64, horizon_ms: Option<i64>) -> LabelDefinition {
    LabelDefinition {
        cutoff: Cutoff::Observe { window_ms },
        outcome: Outcome::Conversion {
            target: Predicate::Event("upgrade".into()),
            horizon_ms,
        },
    }
}

fn statuses(t: &EventTable, def: &LabelDefinition) -> Vec<Status> {
    let r = resolve_label(def, t, true).unwrap();
    cuts(t, &r).into_iter().map(|c| c.status).collect()
}

#[test]
fn labels_at_the_cutoff() {
    let t = toy(&[]);
    // Cutoff 3d: a upgrades at 5d (within 14d... but 3d + 14d is past the end: censored).
    assert_eq!(
        statuses(&t, &conversion(3 * D, Some(14 * D))),
        vec![Status::Censored, Status::Censored]
    );
    assert_eq!(
        statuses(&t, &conversion(3 * D, Some(2 * D))),
        vec![Status::Labeled(true), Status::Labeled(false)]
    );
    assert_eq!(
        statuses(&t, &conversion(3 * D, None)),
        vec![Status::Labeled(true), Status::Labeled(false)]
    );
    // Horizon 1d: the upgrade at 5d is outside 3d..4d.
    assert_eq!(
        statuses(&t, &conversion(3 * D, Some(D))),
        vec![Status::Labeled(false), Status::Labeled(false)]
    );
    // Cutoff 6d: a already upgraded.
    assert_eq!(
        statuses(&t, &conversion(6 * D, None))[0],
        Status::ConvertedBefore
    );
    // Milestone cutoff: b never invites.
    let m = LabelDefinition {
        cutoff: Cutoff::Milestone {
            event: Predicate::Event("invite_teammate".into()),
        },
        outcome: Outcome::Conversion {
            target: Predicate::Event("upgrade".into()),
            horizon_ms: None,
        },
    };
    assert_eq!(
        statuses(&t, &m),
        vec![Status::Labeled(true), Status::NoCutoff]
    );
    // Churn: no event within 2d after a 3d cutoff; a is back at 5d (not within 3d..5d? 5d ≤ 5d: active).
    let churn = |inactive_ms| LabelDefinition {
        cutoff: Cutoff::Observe { window_ms: 3 * D },
        outcome: Outcome::Churn { inactive_ms },
    };
    assert_eq!(
        statuses(&t, &churn(2 * D)),
        vec![Status::Labeled(false), Status::Labeled(true)]
    );
    assert_eq!(
        statuses(&t, &churn(D)),
        vec![Status::Labeled(true), Status::Labeled(true)]
    );
}

fn feature_rows(t: &EventTable, def: &LabelDefinition, defs: &[FeatureDef]) -> Vec<Vec<f64>> {
    let s = sessions::build(
        t,
        &SessionSource::Inactivity {
            gap_ms: 30 * 60_000,
        },
    );
    let (ex, _) = Extractor::new(t, &s, defs, None.into()).unwrap();
    let r = resolve_label(def, t, true).unwrap();
    let mut scratch = RowScratch::default();
    cuts(t, &r)
        .into_iter()
        .map(|c| {
            let mut out = vec![0.0; ex.width()];
            ex.row(&c.unit(t), &mut scratch, &mut out);
            for (v, d) in out.iter_mut().zip(defs) {
                *v = crate::features::transform(d.transform(), *v);
            }
            out
        })
        .collect()
}

fn all_defs() -> Vec<FeatureDef> {
    vec![
        FeatureDef::Events { per_session: false },
        FeatureDef::Sessions,
        FeatureDef::ActiveDays,
        FeatureDef::RecencyHours,
        FeatureDef::TenureHours,
        FeatureDef::EventCount {
            event: "use_feature".into(),
            per_session: false,
            label: None,
        },
        FeatureDef::EventCount {
            event: "upgrade".into(),
            per_session: false,
            label: None,
        },
        FeatureDef::Milestone {
            name: "invited".into(),
            event: Predicate::Event("invite_teammate".into()),
            phrase: "invited".into(),
        },
    ]
}

#[test]
fn features_see_only_events_before_the_cutoff() {
    let def = conversion(3 * D, None);
    let base = feature_rows(&toy(&[]), &def, &all_defs());
    // a before 3d: signup, use_feature, invite (3 events, 1 feature use, invited).
    let a = &base[0];
    assert!(close(a[0], 3f64.ln_1p()));
    assert!(close(a[5], 1f64.ln_1p()));
    assert!(close(a[6], 0.0), "the target never enters a feature");
    assert!(close(a[7], 1.0));
    assert!(close(a[3], 24f64.ln_1p()), "recency: 2d to 3d = 24h");
    // Post-cutoff events, including the target itself, change nothing.
    let later = toy(&[
        (0, "upgrade", 3 * D),
        (0, "use_feature", 3 * D + 1),
        (1, "upgrade", 3 * D + 5),
        (1, "invite_teammate", 4 * D),
        (1, "use_feature", 30 * D),
    ]);
    assert_eq!(feature_rows(&later, &def, &all_defs()), base);
    // One event just before the cutoff does change them.
    let before = toy(&[(1, "use_feature", 3 * D - 1)]);
    assert_ne!(feature_rows(&before, &def, &all_defs())[1], base[1]);
    // At a milestone cutoff, the milestone event itself is not a feature.
    let m = LabelDefinition {
        cutoff: Cutoff::Milestone {
            event: Predicate::Event("invite_teammate".into()),
        },
        outcome: Outcome::Conversion {
            target: Predicate::Event("upgrade".into()),
            horizon_ms: None,
        },
    };
    let rows = feature_rows(&toy(&[]), &m, &all_defs());
    assert!(close(rows[0][0], 2f64.ln_1p()));
    assert!(close(rows[0][7], 0.0));
}

#[test]
fn stages_and_rules_first_match_wins() {
    let t = toy(&[]);
    let stages = vec![
        StageConfig {
            name: "Awareness".into(),
            events: vec![Predicate::Event("signup".into())],
        },
        StageConfig {
            name: "Consideration".into(),
            events: vec![Predicate::Event("use_feature".into())],
        },
    ];
    let st = interventions::Stager::new(&t, &stages).unwrap();
    // a's events before index 2: signup, use_feature → Consideration.
    assert_eq!(
        interventions::stage_name(&st, st.at(&t, 0, 2)),
        "Consideration"
    );
    assert_eq!(interventions::stage_name(&st, st.at(&t, 0, 1)), "Awareness");
    assert_eq!(interventions::stage_name(&st, st.at(&t, 0, 0)), "(none)");
    let milestones = vec![Milestone {
        name: "invited".into(),
        event: Predicate::Event("invite_teammate".into()),
        label: None,
    }];
    let rule =
        |stage: Option<&str>, min_risk: Option<f64>, missing: Option<&str>, action: &str| Rule {
            stage: stage.map(str::to_string),
            min_risk,
            max_risk: None,
            missing: missing.map(str::to_string),
            did: None,
            after: None,
            action: action.into(),
        };
    let rules = vec![
        rule(
            Some("Consideration"),
            Some(0.7),
            Some("invited"),
            "invite_nudge",
        ),
        rule(None, Some(0.7), None, "call"),
        rule(None, None, None, "newsletter"),
    ];
    let r = interventions::resolve(&rules, &stages, &milestones, &t).unwrap();
    let mut done = Vec::new();
    r.done(&t, 0, 2, &mut done);
    assert_eq!(done, vec![false]);
    assert_eq!(r.choose(Some(1), 0.8, &done, 0), Some(0));
    assert_eq!(r.choose(Some(0), 0.8, &done, 0), Some(1));
    assert_eq!(r.choose(Some(1), 0.8, &[true], 0), Some(1));
    assert_eq!(r.choose(Some(1), 0.2, &done, 0), Some(2));

    // Unknown stage and event: errors naming the rule, the key and the nearest name.
    let bad = vec![rule(Some("Considration"), None, None, "x")];
    let e = interventions::resolve(&bad, &stages, &milestones, &t)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("intervention rule 1: stage = \"Considration\"")
            && e.contains("did you mean \"Consideration\"?"),
        "{e}"
    );
    let bad = vec![
        rule(None, None, None, "ok"),
        rule(None, None, Some("use_featur"), "x"),
    ];
    let e = interventions::resolve(&bad, &stages, &milestones, &t)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("intervention rule 2: missing = \"use_featur\"")
            && e.contains("did you mean \"use_feature\"?"),
        "{e}"
    );
}

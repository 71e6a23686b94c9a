use std::collections::BTreeMap;

use super::*;
use crate::ingest::{Interner, PropColumn};
use crate::sessions::{self, SessionSource};

/// A table from (user, session, event) rows in time order, one second apart,
/// with sessions from the session column.
fn table(rows: &[(&str, &str, &str)]) -> (EventTable, Sessions) {
    let mut t = EventTable::default();
    for (n, &(u, s, e)) in rows.iter().enumerate() {
        t.user.push(t.user_names.intern(u));
        t.session.push(t.session_names.intern(s));
        t.event.push(t.event_names.intern(e));
        t.ts.push(n as i64 * 1000);
    }
    let s = sessions::build(
        &t,
        &SessionSource::Column {
            column: "session_id".into(),
        },
    );
    (t, s)
}

/// Rows for sessions given as event lists, one user per session.
fn sessions_of(paths: &[&[&'static str]]) -> (EventTable, Sessions) {
    let names: Vec<String> = (0..paths.len()).map(|i| format!("u{i}")).collect();
    let rows: Vec<(&str, &str, &str)> = paths
        .iter()
        .enumerate()
        .flat_map(|(i, p)| p.iter().map(move |&e| (i, e)))
        .map(|(i, e)| (names[i].as_str(), names[i].as_str(), e))
        .collect();
    table(&rows)
}

fn opts(conversion: &str) -> PathsOptions {
    PathsOptions {
        states: StateKind::Event,
        conversion: Predicate::Event(conversion.into()),
        top: 10,
        stages: Vec::new(),
        order: 1,
    }
}

fn state<'a>(m: &'a MarkovReport, name: &str) -> &'a StateStats {
    m.states.iter().find(|s| s.state == name).unwrap()
}

fn assert_rows_sum_to_one(m: &MarkovReport) {
    let mut sums: BTreeMap<&str, f64> = BTreeMap::new();
    for t in &m.transitions {
        *sums.entry(&t.from).or_default() += t.probability;
    }
    for s in &m.states {
        if s.state != CONVERSION && s.state != EXIT && s.visits > 0 {
            let sum = sums.get(s.state.as_str()).copied().unwrap_or(0.0);
            assert!((sum - 1.0).abs() < 1e-9, "row {} sums to {sum}", s.state);
        }
    }
}

/// The published toy (ChannelAttribution / DP6): google → conv ×2, mailing →
/// conv ×1, google > mailing → conv ×1, google → null ×1.
fn toy() -> (EventTable, Sessions) {
    sessions_of(&[
        &["google", "conv"],
        &["google", "conv"],
        &["mailing", "conv"],
        &["google", "mailing", "conv"],
        &["google"],
    ])
}

#[test]
fn removal_effects_on_the_published_toy() {
    let (t, s) = toy();
    let m = analyze(&t, &s, &opts("conv")).unwrap();
    assert_eq!((m.sessions, m.converted_sessions), (5, 4));
    // P(conv) = 0.8; without google 0.2 (RE 0.75); without mailing 0.4 (RE 0.5).
    assert_eq!(state(&m, START).p_conversion, 0.8);
    let g = state(&m, "google");
    let ml = state(&m, "mailing");
    assert_eq!(
        (g.removal_effect, ml.removal_effect),
        (Some(0.75), Some(0.5))
    );
    assert_eq!((g.removal_share, ml.removal_share), (Some(0.6), Some(0.4)));
    assert_eq!((g.p_conversion, ml.p_conversion), (0.75, 1.0));
    assert_eq!(state(&m, START).removal_effect, None);
    let order: Vec<&str> = m.states.iter().map(|s| s.state.as_str()).collect();
    assert_eq!(order, [START, "google", "mailing", CONVERSION, EXIT]);
    assert_rows_sum_to_one(&m);
}

#[test]
fn transition_rows_sum_to_one() {
    // Rows of 3 and 7 whose shares do not round to 6 decimals exactly.
    let (t, s) = sessions_of(&[
        &["a", "b"],
        &["a", "c"],
        &["a", "a", "d", "x"],
        &["b", "c", "d", "e", "f", "g", "h"],
        &["b", "d"],
        &["b", "e", "x"],
        &["b", "f"],
        &["b", "g", "a", "b"],
        &["b", "h"],
    ]);
    let m = analyze(&t, &s, &opts("x")).unwrap();
    assert_rows_sum_to_one(&m);
    let a_row: Vec<f64> = m
        .transitions
        .iter()
        .filter(|t| t.from == "a")
        .map(|t| t.probability)
        .collect();
    assert_eq!(a_row, [0.2, 0.4, 0.2, 0.2]);
    assert_eq!(round_row(&[1, 1, 1]), [0.333334, 0.333333, 0.333333]);
    assert_eq!(round_row(&[2, 1, 0, 1]), [0.5, 0.25, 0.0, 0.25]);
    assert_eq!(round_row(&[0, 0]), [0.0, 0.0]);
}

#[test]
fn paths_collapse_repeats_and_stop_at_the_first_conversion() {
    let (t, s) = sessions_of(&[
        &["a", "a", "b", "a", "buy", "c", "buy"],
        &["a", "b", "b", "a", "buy"],
        &["a", "a"],
        &["buy"],
    ]);
    let m = analyze(&t, &s, &opts("buy")).unwrap();
    assert_eq!(m.events_after_conversion, 2);
    let conv: Vec<(&str, u64)> = m
        .top_converting_paths
        .iter()
        .map(|p| (p.path.as_str(), p.count))
        .collect();
    assert_eq!(
        conv,
        [
            ("START > a > b > a > CONVERSION", 2),
            ("START > CONVERSION", 1)
        ]
    );
    assert_eq!(m.top_exit_paths[0].path, "START > a > EXIT");
    assert_eq!(m.top_exit_paths[0].states, [START, "a", EXIT]);
    // Self-loops are counted as transitions: a→a twice, b→b once; `c` comes
    // after a conversion and is no state.
    let count = |f: &str, to: &str| {
        m.transitions
            .iter()
            .find(|t| t.from == f && t.to == to)
            .map_or(0, |t| t.count)
    };
    assert_eq!((count("a", "a"), count("b", "b")), (2, 1));
    assert_eq!(count(START, CONVERSION), 1);
    assert!(m.states.iter().all(|s| s.state != "c" && s.state != "buy"));
    assert_eq!(state(&m, "a").visits, 7);
}

#[test]
fn top_paths_break_ties_by_text_and_keep_top_n() {
    let (t, s) = sessions_of(&[&["c"], &["b"], &["a"], &["b"], &["d", "z"]]);
    let mut o = opts("z");
    o.top = 2;
    let m = analyze(&t, &s, &o).unwrap();
    let exits: Vec<&str> = m.top_exit_paths.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(exits, ["START > b > EXIT", "START > a > EXIT"]);
    assert_eq!(m.top_exit_paths[0].share, 0.4);
    o.top = 0;
    assert!(analyze(&t, &s, &o).unwrap().top_exit_paths.is_empty());
}

#[test]
fn interleaved_sessions_are_grouped_in_time_order() {
    // One user with two tabs whose events interleave.
    let (t, s) = table(&[
        ("u", "tab1", "a"),
        ("u", "tab2", "x"),
        ("u", "tab1", "b"),
        ("u", "tab2", "y"),
        ("u", "tab1", "buy"),
    ]);
    let m = analyze(&t, &s, &opts("buy")).unwrap();
    assert_eq!(m.top_converting_paths[0].path, "START > a > b > CONVERSION");
    assert_eq!(m.top_exit_paths[0].path, "START > x > y > EXIT");
}

fn stage(name: &str, events: &[Predicate]) -> StageConfig {
    StageConfig {
        name: name.into(),
        events: events.to_vec(),
    }
}

#[test]
fn stage_states_use_the_first_matching_stage_and_skip_the_rest() {
    let (mut t, s) = sessions_of(&[
        &["view", "noise", "cart", "view", "buy"],
        &["view", "noise", "view"],
        &["noise"],
    ]);
    // A `page` property: the first "view" of session 1 is on /pricing.
    let mut values = Interner::with_null();
    let pricing = values.intern("/pricing");
    let mut codes = vec![0; t.len()];
    codes[0] = pricing;
    t.props.push(PropColumn {
        name: "page".into(),
        values,
        codes,
    });
    let on_pricing = Predicate::Where(
        [("event", "view"), ("page", "/pricing")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    let mut o = opts("buy");
    o.states = StateKind::Stage;
    o.stages = vec![
        stage("Consideration", &[on_pricing]),
        stage("Awareness", &[Predicate::Event("view".into())]),
        stage(
            "Purchase",
            &[
                Predicate::Event("cart".into()),
                Predicate::Event("buy".into()),
            ],
        ),
        stage("Later", &[Predicate::Event("cart".into())]),
    ];
    let m = analyze(&t, &s, &o).unwrap();
    assert_eq!(m.states_kind, StateKind::Stage);
    assert_eq!(m.skipped_events, 3);
    let paths: Vec<&str> = m
        .top_converting_paths
        .iter()
        .chain(&m.top_exit_paths)
        .map(|p| p.path.as_str())
        .collect();
    assert_eq!(
        paths,
        [
            "START > Consideration > Purchase > Awareness > CONVERSION",
            "START > Awareness > EXIT",
            "START > EXIT",
        ]
    );
    // `cart` went to Purchase, so Later has no events and is no state.
    let names: Vec<&str> = m.states.iter().map(|s| s.state.as_str()).collect();
    assert_eq!(
        names,
        [
            START,
            "Awareness",
            "Consideration",
            "Purchase",
            CONVERSION,
            EXIT
        ]
    );
    // view, (noise), view: a self-loop once the skipped event is gone.
    assert!(
        m.transitions
            .iter()
            .any(|t| t.from == "Awareness" && t.to == "Awareness" && t.count == 1)
    );
    assert_rows_sum_to_one(&m);

    o.stages
        .push(stage("Awareness", &[Predicate::Event("noise".into())]));
    let e = analyze(&t, &s, &o).unwrap_err().to_string();
    assert!(e.contains("\"Awareness\" is configured twice"), "{e}");
    o.stages = Vec::new();
    assert!(analyze(&t, &s, &o).is_err());
}

#[test]
fn unknown_conversion_event_suggests_the_nearest() {
    let (t, s) = toy();
    let e = analyze(&t, &s, &opts("conf")).unwrap_err().to_string();
    assert!(e.contains("did you mean \"conv\""), "{e}");
}

#[test]
fn large_vocabularies_are_counted_sparsely() {
    // More event names than the dense limit: same answers from the hash map.
    let names: Vec<String> = (0..DENSE_LIMIT + 5).map(|i| format!("e{i:04}")).collect();
    let mut rows: Vec<(String, String, &str)> = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let u = format!("u{i}");
        rows.push((u.clone(), u.clone(), n));
        if i % 2 == 0 {
            rows.push((u.clone(), u, "buy"));
        }
    }
    let refs: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|(u, s, e)| (u.as_str(), s.as_str(), *e))
        .collect();
    let (t, s) = table(&refs);
    let m = analyze(&t, &s, &opts("buy")).unwrap();
    assert_eq!(m.states.len(), DENSE_LIMIT + 5 + 3);
    assert_eq!(state(&m, "e0000").p_conversion, 1.0);
    assert_eq!(state(&m, "e0001").p_conversion, 0.0);
    assert_rows_sum_to_one(&m);
}

/// Where a session came from decides whether it converts: every session
/// through a converts after c, none through b does. A first-order chain
/// gives a, b and c the same 0.5, the observed shares are 1 and 0, and the
/// gap is flagged; a second-order chain recovers the observed shares.
fn memory_matters() -> (EventTable, Sessions) {
    let mut paths: Vec<&[&str]> = Vec::new();
    for _ in 0..40 {
        paths.push(&["a", "c", "buy"]);
        paths.push(&["b", "c"]);
    }
    sessions_of(&paths)
}

#[test]
fn first_order_gaps_are_flagged_and_a_higher_order_closes_them() {
    let (t, s) = memory_matters();
    let m = analyze(&t, &s, &opts("buy")).unwrap();
    let a = state(&m, "a");
    assert_eq!((a.p_conversion, a.sessions), (0.5, 40));
    assert_eq!(a.observed_conversion, Some(1.0));
    assert!(a.gap && state(&m, "b").gap);
    let c = state(&m, "c");
    assert_eq!(
        (c.p_conversion, c.observed_conversion, c.gap),
        (0.5, Some(0.5), false)
    );

    let m2 = analyze(
        &t,
        &s,
        &PathsOptions {
            order: 2,
            ..opts("buy")
        },
    )
    .unwrap();
    assert_eq!((m2.order, m2.chain_states), (2, 4));
    for name in ["a", "b", "c"] {
        let st = state(&m2, name);
        assert_eq!(Some(st.p_conversion), st.observed_conversion, "{name}");
        assert!(!st.gap, "{name}");
    }
    assert_eq!(state(&m2, "a").p_conversion, 1.0);
    assert_eq!(state(&m2, "b").p_conversion, 0.0);
    // Counts and transitions stay first-order; removal effects follow the
    // histories: without b nothing is lost, without a or c everything.
    assert_eq!(m2.transitions, m.transitions);
    assert_eq!(m2.removal_order, 2);
    assert_eq!(state(&m, "b").removal_effect, Some(0.5));
    assert_eq!(state(&m2, "b").removal_effect, Some(0.0));
    assert_eq!(state(&m2, "a").removal_effect, Some(1.0));
    assert_eq!(state(&m2, "c").removal_effect, Some(1.0));
    assert_eq!(state(&m2, START).p_conversion, 0.5);
}

/// On data where the last two states decide the outcome, the first-visit
/// weighting makes each state's second-order p(conversion) the observed
/// share exactly, whatever the mix of paths (a visit-weighted mean would
/// not: a is visited through two histories in different proportions).
#[test]
fn second_order_p_matches_observed_on_second_order_data() {
    let shapes: [&[&str]; 5] = [
        &["a", "c", "buy"],
        &["b", "c"],
        &["a", "d", "c", "buy"],
        &["b", "d"],
        &["d", "a", "c", "buy"],
    ];
    let mut seed = 7u64;
    for _ in 0..20 {
        let mut paths: Vec<&[&str]> = Vec::new();
        for shape in shapes {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            for _ in 0..1 + (seed >> 59) {
                paths.push(shape);
            }
        }
        let (t, s) = sessions_of(&paths);
        let m = analyze(
            &t,
            &s,
            &PathsOptions {
                order: 2,
                ..opts("buy")
            },
        )
        .unwrap();
        for st in &m.states {
            if let Some(o) = st.observed_conversion {
                assert!(
                    (st.p_conversion - o).abs() < 1e-6,
                    "{}: {} vs {o}",
                    st.state,
                    st.p_conversion
                );
            }
        }
    }
}

#[test]
fn orders_outside_one_to_four_are_refused() {
    let (t, s) = memory_matters();
    for order in [0, MAX_ORDER + 1] {
        let err = analyze(
            &t,
            &s,
            &PathsOptions {
                order,
                ..opts("buy")
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("between 1 and 4"), "{err}");
    }
}

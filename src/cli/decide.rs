//! `journeymap decide`: the nightly decision run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;

use super::input::{CsvArgs, InputArgs};
use super::{out, outln};
use crate::decide::{self, Events, Inputs, config, state::History};
use crate::duration::Duration;
use crate::error::UsageError;
use crate::progress::Progress;

const DAY: i64 = 86_400_000;

/// Decide one action (or none) per customer as of a run date: triggers
/// from transactions and app events, pathways with consent, eligibility
/// rules, caps and cool-downs, and the override file applied last. Writes
/// decisions.csv, trail.jsonl (every user's reason trail), triggers.csv,
/// history.csv (the state the next run reads), decide.json and decide.md
/// into --out, each replaced atomically.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap generate --scenario bank --users 20000 --out bank/events.csv
  journeymap decide bank/events.csv --config bank/events.journey.toml --as-of 2026-03-01 --out run/2026-03-01
  journeymap decide bank/events.csv --config bank.toml --as-of 2026-03-02 --out run/2026-03-02 --state run/2026-03-01/history.csv
  journeymap decide bank/events.csv --config new.toml --as-of 2026-03-02 --dry-run --compare bank.toml
  journeymap decide bank/events.csv --config bank.toml --backtest --from 2026-01-01 --to 2026-06-30 --out bt/
  journeymap decide bank/events.csv --config bank.toml --as-of 2026-03-01 --out run/ --pseudonymize-key secret.key --erase erasure.txt

FILES are the app event export ([input] maps its columns). The customer
table and transactions are [[sources]] of the config (paths relative to
it). The run date is a UTC day: rows up to its end count. docs/decisions.md
has every definition and the incident-response checklist.")]
pub struct DecideArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// journey.toml with [[sources]], [[triggers]], [[pathways]] and [decide]
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// The run date (YYYY-MM-DD, UTC): data up to the end of this day counts
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// Directory for the output files
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The previous run's history.csv [default: DIR/history.csv when it exists]
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Manual overrides (docs/overrides.md): suppress and force_action rules, applied last
    #[arg(long, value_name = "FILE")]
    pub overrides: Option<PathBuf>,
    /// Users to erase: one id per line; their rows are dropped at reading, from every source
    #[arg(long, value_name = "FILE")]
    pub erase: Option<PathBuf>,
    /// Replace user ids in every output by a keyed hash (HMAC-SHA256) under the key in FILE
    #[arg(long, value_name = "FILE")]
    pub pseudonymize_key: Option<PathBuf>,
    /// Decide but write nothing; print the summary
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: also decide with this config and show what changes
    #[arg(long, value_name = "OLD_TOML", requires = "dry_run")]
    pub compare: Option<PathBuf>,
    /// Evaluate the triggers on every run date from --from to --to instead of deciding
    #[arg(long, conflicts_with_all = ["as_of", "dry_run"])]
    pub backtest: bool,
    /// First back-test date (YYYY-MM-DD)
    #[arg(long, value_name = "DATE", requires = "backtest")]
    pub from: Option<String>,
    /// Last back-test date (YYYY-MM-DD)
    #[arg(long, value_name = "DATE", requires = "backtest")]
    pub to: Option<String>,
    /// Back-test step [default: 7d]
    #[arg(long, value_name = "DURATION", requires = "backtest")]
    pub every: Option<Duration>,
    /// Print the summary as JSON
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub csv: CsvArgs,
}

fn day(s: &Option<String>, flag: &str) -> Result<i64, UsageError> {
    let s = s
        .as_deref()
        .ok_or_else(|| UsageError(format!("{flag} DATE is required (YYYY-MM-DD)")))?;
    decide::state::parse_day(s)
        .ok_or_else(|| UsageError(format!("{flag} {s:?}: expected a date as YYYY-MM-DD")))
}

struct Common {
    erased: std::collections::BTreeSet<String>,
    overrides: crate::serve::overrides::Overrides,
    pseudo: Option<decide::pseudo::Pseudonymizer>,
}

fn common(args: &DecideArgs) -> Result<Common> {
    let erased = match &args.erase {
        Some(p) => {
            if !p.exists() {
                return Err(UsageError(format!("--erase {}: no such file", p.display())).into());
            }
            decide::sources::read_erasure(p)?
        }
        None => Default::default(),
    };
    let overrides = match &args.overrides {
        Some(p) => {
            let what = p.display().to_string();
            let bytes = std::fs::read(p)
                .map_err(|e| UsageError(format!("{what}: cannot read the overrides: {e}")))?;
            crate::serve::overrides::Overrides::parse(&bytes, &what)
                .map_err(crate::error::DataError::Input)?
        }
        None => Default::default(),
    };
    let pseudo = match &args.pseudonymize_key {
        Some(p) => Some(decide::pseudo::Pseudonymizer::from_file(p)?),
        None => None,
    };
    Ok(Common {
        erased,
        overrides,
        pseudo,
    })
}

pub fn run(args: &DecideArgs) -> Result<()> {
    let cfg = crate::config::load(&args.config)?;
    let plan = config::check(&cfg)?;
    let dir = cfg.dir();
    let c = common(args)?;
    let progress = Progress::new();
    let data = args.input.load(&cfg, &progress)?;
    let events = Events {
        table: &data.ingested.table,
        sessions: &data.sessions,
        session_source: &data.source,
        account: decide::events_account(&data, &args.input.files.join(" ")),
    };
    if args.backtest {
        return backtest(args, &plan, &dir, &c, events, &progress);
    }
    let as_of = day(&args.as_of, "--as-of")?;
    if args.out.is_none() && !args.dry_run {
        return Err(UsageError("--out DIR is required (or --dry-run)".into()).into());
    }
    progress.stage("sources");
    let loaded = decide::load(&plan, &dir, Some(&events), &c.erased, as_of + DAY)?;
    let history = match (&args.state, &args.out) {
        (Some(p), _) => {
            if !p.exists() {
                return Err(UsageError(format!(
                    "--state {}: no such file (the first night has no state: leave --state out)",
                    p.display()
                ))
                .into());
            }
            History::read(p, as_of)?
        }
        (None, Some(o)) if o.join("history.csv").exists() => {
            History::read(&o.join("history.csv"), as_of)?
        }
        _ => History::default(),
    };
    progress.stage("decisions");
    let run = decide::run(
        Inputs {
            plan: &plan,
            config_dir: &dir,
            events: Some(Events {
                table: events.table,
                sessions: events.sessions,
                session_source: events.session_source,
                account: events.account.clone(),
            }),
            as_of,
            erased: &c.erased,
            overrides: &c.overrides,
            history: history.clone(),
            pseudo: c.pseudo.as_ref(),
        },
        &loaded,
    )?;
    if let Some(old) = &args.compare {
        let old_cfg = crate::config::load(old)?;
        let old_plan = config::check(&old_cfg)?;
        let old_loaded = decide::load(
            &old_plan,
            &old_cfg.dir(),
            Some(&events),
            &c.erased,
            as_of + DAY,
        )?;
        let old_run = decide::run(
            Inputs {
                plan: &old_plan,
                config_dir: &old_cfg.dir(),
                events: Some(Events {
                    table: events.table,
                    sessions: events.sessions,
                    session_source: events.session_source,
                    account: events.account.clone(),
                }),
                as_of,
                erased: &c.erased,
                overrides: &c.overrides,
                history,
                pseudo: c.pseudo.as_ref(),
            },
            &old_loaded,
        )?;
        progress.done();
        let cmp = compare(&old_run, &run);
        if args.json {
            outln(&serde_json::to_string_pretty(&cmp)?)?;
        } else {
            out(&crate::doc::markdown::render(&compare_doc(
                &cmp,
                old,
                &args.config,
            )))?;
        }
        return Ok(());
    }
    if let (Some(o), false) = (&args.out, args.dry_run) {
        progress.stage("writing");
        decide::output::write_all(o, &plan, &run, as_of + DAY, args.csv.style())?;
    }
    progress.done();
    // A nightly job's log shows what the files say needs a look.
    for n in &run.report.notes {
        eprintln!("warning: {}", crate::doc::text::clean(n));
    }
    if args.json {
        outln(&serde_json::to_string_pretty(&run.report)?)?;
    } else {
        out(&crate::doc::markdown::render(&decide::document::document(
            &run.report,
            None,
        )))?;
    }
    Ok(())
}

/// How decisions differ between two configs.
#[derive(Debug, serde::Serialize)]
pub struct Comparison {
    pub customers: u64,
    pub changed: u64,
    /// "old → new" (action names, or "none") → users.
    pub changes: BTreeMap<String, u64>,
    /// For users whose decision changed: the new decision's reason code → users.
    pub new_reasons: BTreeMap<String, u64>,
}

fn compare(old: &decide::Run, new: &decide::Run) -> Comparison {
    let name = |d: &decide::engine::Decision| {
        d.action.as_ref().map_or("none".to_string(), |a| {
            format!("{} ({})", a.action, a.channel)
        })
    };
    let mut changes = BTreeMap::new();
    let mut new_reasons = BTreeMap::new();
    let mut changed = 0;
    let old_by: BTreeMap<&str, &decide::engine::Decision> = old
        .users
        .iter()
        .map(|u| (u.id.as_str(), &u.decision))
        .collect();
    for u in &new.users {
        let before = old_by
            .get(u.id.as_str())
            .map_or("none".to_string(), |d| name(d));
        let after = name(&u.decision);
        if before != after {
            changed += 1;
            *changes.entry(format!("{before} → {after}")).or_insert(0) += 1;
            let code = match &u.decision.action {
                Some(a) => a.source.to_string(),
                None => u.decision.no_action_reason().unwrap_or("none").to_string(),
            };
            *new_reasons.entry(code).or_insert(0) += 1;
        }
    }
    Comparison {
        customers: new.users.len() as u64,
        changed,
        changes,
        new_reasons,
    }
}

fn compare_doc(c: &Comparison, old: &Path, new: &Path) -> crate::doc::Document {
    use crate::doc::{Align, Block, Cell, Table};
    let mut doc = vec![Block::title(1, "Dry run: what the new config changes")];
    doc.push(Block::text(format!(
        "{} of {} customers would get a different decision with {} than with {}.",
        c.changed,
        c.customers,
        new.display(),
        old.display()
    )));
    let mut t = Table::new(&[("old → new", Align::Left), ("users", Align::Right)]);
    for (k, n) in &c.changes {
        t.row(vec![Cell::data(k), Cell::count(*n)]);
    }
    if !t.is_empty() {
        doc.push(Block::Table(t));
    }
    let mut t = Table::new(&[("why (new decision)", Align::Left), ("users", Align::Right)]);
    for (k, n) in &c.new_reasons {
        t.row(vec![Cell::text(k), Cell::count(*n)]);
    }
    if !t.is_empty() {
        doc.push(Block::Table(t));
    }
    doc
}

fn backtest(
    args: &DecideArgs,
    plan: &config::Plan,
    dir: &Path,
    c: &Common,
    events: Events,
    progress: &Progress,
) -> Result<()> {
    let from = day(&args.from, "--from")?;
    let to = day(&args.to, "--to")?;
    if to < from {
        return Err(UsageError(format!(
            "--to {} is before --from {}",
            args.to.as_deref().unwrap_or(""),
            args.from.as_deref().unwrap_or("")
        ))
        .into());
    }
    let every = args.every.map_or(Ok(7 * DAY), |d| d.positive("--every"))?;
    if every % DAY != 0 {
        return Err(UsageError(format!(
            "--every {}: run dates are days, so the step must be whole days (7d, 14d)",
            args.every.map(|d| d.to_string()).unwrap_or_default()
        ))
        .into());
    }
    progress.stage("sources");
    let loaded = decide::load(plan, dir, Some(&events), &c.erased, to + DAY)?;
    let res = decide::resolve(plan, &loaded, Some(&events))?;
    progress.stage("back-test");
    let (bt, first) = decide::backtest::run(plan, &loaded, &res, Some(&events), from, to, every);
    if let Some(o) = &args.out {
        std::fs::create_dir_all(o)
            .map_err(|e| UsageError(format!("{}: cannot create: {e}", o.display())))?;
        crate::atomic::write_bytes(
            &o.join("backtest.json"),
            (serde_json::to_string_pretty(&bt)? + "\n").as_bytes(),
        )?;
        crate::atomic::write_bytes(
            &o.join("backtest.md"),
            crate::doc::markdown::render(&decide::document::backtest(&bt)).as_bytes(),
        )?;
        let mut rows = Vec::new();
        for (u, per) in first.iter().enumerate() {
            for (t, f) in per.iter().enumerate() {
                if let Some((d, f)) = f {
                    let id = match &c.pseudo {
                        Some(p) => p.id(&loaded.customers.ids[u]),
                        None => loaded.customers.ids[u].clone(),
                    };
                    rows.push((id, plan.triggers[t].name.clone(), *d, f.at));
                }
            }
        }
        crate::output::write(
            &o.join("backtest-triggers.csv"),
            &FirstRows(rows),
            "backtest-triggers.csv",
            args.csv.style(),
        )?;
    }
    progress.done();
    if args.json {
        outln(&serde_json::to_string_pretty(&bt)?)?;
    } else {
        out(&crate::doc::markdown::render(&decide::document::backtest(
            &bt,
        )))?;
    }
    Ok(())
}

struct FirstRows(Vec<(String, String, i64, i64)>);

impl crate::output::Rows for FirstRows {
    fn columns(&self) -> Vec<crate::output::ColumnSpec> {
        use crate::output::{ColumnSpec, Kind};
        vec![
            ColumnSpec::new("user_id", Kind::Text),
            ColumnSpec::new("trigger", Kind::Text),
            ColumnSpec::new("first_run_date", Kind::Time),
            ColumnSpec::new("fired_at", Kind::Time),
        ]
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn row(&self, i: usize, out: &mut dyn crate::output::Cells) {
        let r = &self.0[i];
        out.text(Some(&r.0));
        out.text(Some(&r.1));
        out.time(Some(r.2));
        out.time(Some(r.3));
    }
}

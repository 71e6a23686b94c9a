//! `journeymap generate`: synthetic clickstream with planted ground truth.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::generate::{self, GenerateOptions, Scenario};

/// Generate a synthetic clickstream with planted behavioural segments and a
/// known logistic conversion function. Writes a truth file beside the output
/// (user, planted segment, true conversion probability, converted).
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap generate --scenario ecommerce --users 10000 --seed 7 --out shop.csv
  journeymap generate --scenario saas --users 280000 --out big.parquet   # ~10M events
  journeymap generate --scenario saas --experiment --out exp.parquet     # + exp.assignments.csv, exp.experiment-truth.json
  journeymap generate --scenario saas --retention --out ret.csv          # + ret.retention-truth.json (planted weekly returns)
  journeymap generate --scenario bank --users 20000 --out bank/events.csv  # + transactions, customers, truth, journey.toml (decide)
  journeymap generate --drift --seed 43 --out cur.csv                   # + cur.drift-truth.json (compare with a plain export)
  journeymap generate --fairness --out shop.csv                         # + shop.fairness-truth.json (tablet users under-served)
  # the truth file lands beside the output: shop.truth.csv")]
pub struct GenerateArgs {
    /// Which business to simulate
    #[arg(long, value_enum, default_value = "ecommerce")]
    pub scenario: Scenario,

    /// Number of users (about 36 events each)
    #[arg(long, default_value_t = 10_000)]
    pub users: usize,

    /// Random seed; the same seed gives byte-identical files
    #[arg(long, default_value_t = 42)]
    pub seed: u64,

    /// Output file: .csv, .csv.gz or .parquet
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,

    /// Plant a randomized experiment (saas): control / reminder / intervention,
    /// with the assignments file and the planted effects beside the output
    #[arg(long)]
    pub experiment: bool,

    /// With --experiment: randomize 36:32:32 instead of 1:1:1 (a planted sample-ratio mismatch)
    #[arg(long, requires = "experiment")]
    pub experiment_srm: bool,

    /// Plant a non-randomized rollout (saas) for difference in differences:
    /// the treated users beside the output, the planted effect in its truth
    #[arg(long, conflicts_with = "experiment")]
    pub rollout: bool,

    /// Plant a weekly retention curve (saas): `return_visit` in rolling week N
    /// with a known probability, written to <out>.retention-truth.json
    #[arg(long, conflicts_with_all = ["experiment", "rollout"])]
    pub retention: bool,

    /// Plant drift (ecommerce): 35 % of users move to the social channel and
    /// gaps inside sessions are 1.6x longer; compare with an export without it
    /// (`journeymap drift`); what should drift is in <out>.drift-truth.json
    #[arg(long, conflicts_with_all = ["experiment", "rollout", "retention"])]
    pub drift: bool,

    /// Plant a group the model under-serves (ecommerce): tablet users convert
    /// with probability 0.2 whatever they do; <out>.fairness-truth.json
    #[arg(long, conflicts_with_all = ["experiment", "rollout", "retention", "drift"])]
    pub fairness: bool,
}

pub fn run(args: &GenerateArgs) -> Result<()> {
    let summary = generate::generate_with(
        &GenerateOptions {
            scenario: args.scenario,
            users: args.users,
            seed: args.seed,
            out: args.out.clone(),
        },
        if args.rollout {
            Some(generate::ExperimentPlan::Rollout)
        } else if args.retention {
            Some(generate::ExperimentPlan::Retention)
        } else if args.drift {
            Some(generate::ExperimentPlan::Drift)
        } else if args.fairness {
            Some(generate::ExperimentPlan::Fairness)
        } else {
            args.experiment
                .then_some(generate::ExperimentPlan::Randomized {
                    srm: args.experiment_srm,
                })
        },
    )?;
    if args.scenario == Scenario::Bank {
        let p = generate::bank_paths(&args.out);
        super::outln(&format!(
            "wrote {} app events for {} customers to {}, with {} and {} ({} planted life events)",
            summary.events,
            summary.users,
            summary.out.display(),
            p.transactions.display(),
            p.customers.display(),
            summary.converted_users
        ))?;
        super::outln(&format!("truth: {}", summary.truth.display()))?;
        super::outln(&format!("config: {}", summary.journey_config.display()))?;
        return Ok(());
    }
    super::outln(&format!(
        "wrote {} events for {} users to {} ({} converted: {})",
        summary.events,
        summary.users,
        summary.out.display(),
        summary.conversion_event,
        summary.converted_users
    ))?;
    super::outln(&format!("truth: {}", summary.truth.display()))?;
    if args.rollout {
        super::outln(&format!(
            "rollout: {} (treated users), {} (planted effect)",
            generate::rollout_path(&args.out).display(),
            generate::rollout_truth_path(&args.out).display()
        ))?;
    }
    if args.fairness {
        super::outln(&format!(
            "fairness: {} (the under-served group)",
            generate::fairness_truth_path(&args.out).display()
        ))?;
    }
    if args.drift {
        super::outln(&format!(
            "drift: {} (the planted shifts)",
            generate::drift_truth_path(&args.out).display()
        ))?;
    }
    if args.retention {
        super::outln(&format!(
            "retention: {} (planted weekly return rates)",
            generate::retention_truth_path(&args.out).display()
        ))?;
    }
    if args.experiment {
        super::outln(&format!(
            "experiment: {} (assignments), {} (planted effects)",
            generate::assignments_path(&args.out).display(),
            generate::experiment_truth_path(&args.out).display()
        ))?;
    }
    Ok(())
}

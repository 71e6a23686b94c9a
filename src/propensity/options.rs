//! The training options: flags over `[propensity]`, with the defaults, checked.

use super::config::PropensitySection;
use super::config::{Milestone, Rule};
use super::label::{Cutoff, LabelDefinition, Outcome};
use super::model::{ClassWeight, RiskBands};
use super::*;
use crate::config::{FunnelConfig, StageConfig};
use crate::config::{JourneyConfig, Origins, ParamError};
use crate::duration::{Duration, Horizon};
use crate::error::UsageError;

/// Everything `train` needs, checked.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub label: LabelDefinition,
    pub milestones: Vec<Milestone>,
    pub properties: Vec<String>,
    pub funnel: Option<FunnelConfig>,
    pub stages: Vec<StageConfig>,
    pub rules: Vec<Rule>,
    pub l2: Option<f64>,
    pub class_weight: ClassWeight,
    pub holdout: f64,
    pub seed: u64,
    pub threshold: Option<f64>,
    pub bands: RiskBands,
    pub max_event_features: usize,
    /// Add the automatic property features (docs/features.md).
    pub auto_features: bool,
    /// `[propensity] purpose` (or `--purpose`); `consent` is read from it.
    pub purpose: Option<String>,
    pub consent: Option<super::consent::TrainingConsent>,
}

/// The smallest L2 strength accepted: below it the fit is an unregularized
/// one that separable data sends to infinity.
pub const MIN_L2: f64 = 1e-6;

impl TrainOptions {
    /// The flags (as a `[propensity]` section) over the config's, with the
    /// defaults; checks every value. Errors name the flag or the config key
    /// (with its line) the value came from.
    pub fn new(cfg: &JourneyConfig, flags: &PropensitySection) -> Result<TrainOptions, UsageError> {
        let mut o = Origins::default();
        let sec = cfg.propensity.clone().unwrap_or_default();
        let src = cfg.source.as_ref();
        if flags.milestone.is_some() && flags.observe.is_some() {
            return Err(UsageError(
                "--observe and --milestone both set the cutoff: pass one".into(),
            ));
        }
        let churn = o
            .pick(
                "churn",
                ("--churn", flags.churn),
                ("propensity.churn", sec.churn),
                src,
            )
            .unwrap_or(false);
        // A cutoff given by flag replaces the config's, whichever kind it is.
        let milestone = if flags.observe.is_some() {
            flags.milestone.clone()
        } else {
            o.pick(
                "milestone",
                ("--milestone", flags.milestone.clone()),
                ("propensity.milestone", sec.milestone.clone()),
                src,
            )
        };
        let positive =
            |o: &Origins, setting: &'static str, d: Duration| d.positive(&o.name(setting));
        let cutoff = match milestone {
            Some(event) => Cutoff::Milestone { event },
            None => {
                let w = o
                    .pick(
                        "observe",
                        ("--observe", flags.observe),
                        ("propensity.observe", sec.observe),
                        src,
                    )
                    .unwrap_or(DEFAULT_OBSERVE);
                Cutoff::Observe {
                    window_ms: positive(&o, "observe", w)?,
                }
            }
        };
        let outcome = if churn {
            let w = o
                .pick(
                    "inactive",
                    ("--inactive", flags.inactive),
                    ("propensity.inactive", sec.inactive),
                    src,
                )
                .unwrap_or(DEFAULT_INACTIVE);
            Outcome::Churn {
                inactive_ms: positive(&o, "inactive", w)?,
            }
        } else {
            let target = o
                .pick("target", ("--target", flags.target.clone()), ("propensity.target", sec.target.clone()), src)
                .or(cfg.conversion.as_ref().map(|c| c.event.clone()))
                .ok_or_else(|| {
                    UsageError(
                        "no target: pass --target EVENT (or set [propensity] target or [conversion] event), or --churn"
                            .into(),
                    )
                })?;
            let h = o
                .pick(
                    "horizon",
                    ("--horizon", flags.horizon),
                    ("propensity.horizon", sec.horizon),
                    src,
                )
                .unwrap_or(DEFAULT_HORIZON);
            let horizon_ms = match h {
                Horizon::All => None,
                Horizon::Within(d) => Some(positive(&o, "horizon", d)?),
            };
            Outcome::Conversion { target, horizon_ms }
        };
        let holdout = o
            .pick(
                "holdout",
                ("--holdout", flags.holdout),
                ("propensity.holdout", sec.holdout),
                src,
            )
            .unwrap_or(0.2);
        if !(0.05..=0.5).contains(&holdout) {
            return Err(o.word(ParamError::new(
                "holdout",
                format!("{holdout} is not a share between 0.05 and 0.5"),
            )));
        }
        let l2 = o.pick("l2", ("--l2", flags.l2), ("propensity.l2", sec.l2), src);
        if let Some(a) = l2
            && !(a.is_finite() && (MIN_L2..=1e9).contains(&a))
        {
            return Err(o.word(ParamError::new(
                "l2",
                format!("{a:e} is not a number between 1e-6 and 1e9 (the L2 penalty keeps the fit bounded; leave it out to choose it by cross-validation)"),
            )));
        }
        let threshold = o.pick(
            "threshold",
            ("--threshold", flags.threshold),
            ("propensity.threshold", sec.threshold),
            src,
        );
        if let Some(t) = threshold
            && !(0.0..=1.0).contains(&t)
        {
            return Err(o.word(ParamError::new(
                "threshold",
                format!("{t} is not a probability (0 to 1)"),
            )));
        }
        let class_weight = o
            .pick(
                "class_weight",
                ("--class-weight", flags.class_weight),
                ("propensity.class_weight", sec.class_weight),
                src,
            )
            .unwrap_or(ClassWeight::None);
        let bands = RiskBands {
            high: sec.high_risk.unwrap_or(DEFAULT_HIGH_RISK),
            medium: sec.medium_risk.unwrap_or(DEFAULT_MEDIUM_RISK),
        };
        config::check_static(
            &cfg.interventions,
            &sec.milestones,
            bands.high,
            bands.medium,
        )
        .map_err(|e| UsageError(format!("{}{e}", cfg.at("propensity"))))?;
        Ok(TrainOptions {
            label: LabelDefinition { cutoff, outcome },
            milestones: sec.milestones.clone(),
            properties: sec.properties.clone(),
            funnel: cfg.funnel.clone(),
            stages: cfg.stages.clone(),
            rules: cfg.interventions.clone(),
            l2,
            class_weight,
            holdout,
            seed: o
                .pick(
                    "seed",
                    ("--seed", flags.seed),
                    ("propensity.seed", sec.seed),
                    src,
                )
                .unwrap_or(42),
            threshold,
            bands,
            max_event_features: sec.max_event_features.unwrap_or(DEFAULT_MAX_EVENT_FEATURES),
            auto_features: cfg.auto_features(),
            purpose: flags.purpose.clone().or(sec.purpose.clone()),
            consent: None,
        })
    }

    /// Reads the consent of `purpose` from the config's customer table.
    pub fn with_consent(
        mut self,
        cfg: &JourneyConfig,
        flags: &PropensitySection,
    ) -> anyhow::Result<TrainOptions> {
        if let Some(p) = &self.purpose {
            let from = if flags.purpose.is_some() {
                "--purpose".to_string()
            } else {
                format!("{}[propensity] purpose =", cfg.at("propensity.purpose"))
            };
            self.consent = Some(super::consent::load(cfg, p, &from)?);
        }
        Ok(self)
    }
}

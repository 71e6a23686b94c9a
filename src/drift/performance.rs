//! Label and performance drift: where the current export's label windows
//! have closed, the model's AUC (with its DeLong interval), log loss, Brier
//! score, calibration error and the base rate, against the same figures at
//! training (model.json's hold-out) and on the reference export.

use serde::Serialize;

use crate::propensity::ModelFile;
use crate::propensity::metrics;

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Figures {
    pub labeled_users: u64,
    pub positives: u64,
    pub base_rate: f64,
    /// None with one class only.
    pub auc: Option<f64>,
    pub auc_ci: Option<[f64; 2]>,
    pub log_loss: f64,
    pub brier: f64,
    /// Σ_b (n_b/n)·|mean score − observed rate| over ten score bins.
    pub calibration_error: Option<f64>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Performance {
    /// model.json's hold-out figures (no interval or calibration stored).
    pub training: Figures,
    pub reference: Option<Figures>,
    pub current: Option<Figures>,
    pub auc_change_vs_training: Option<f64>,
    pub base_rate_change_vs_training: Option<f64>,
    /// The current AUC's 95 % interval lies wholly below the training AUC.
    pub degraded: bool,
    pub notes: Vec<String>,
}

/// Figures over the users whose label is known; None without any.
pub fn figures(scores: &[f64], labels: &[Option<bool>]) -> Option<Figures> {
    let (p, y): (Vec<f64>, Vec<bool>) = scores
        .iter()
        .zip(labels)
        .filter_map(|(&p, &l)| l.map(|l| (p, l)))
        .unzip();
    if p.is_empty() {
        return None;
    }
    let positives = y.iter().filter(|&&b| b).count() as u64;
    let two_classes = positives > 0 && positives < y.len() as u64;
    let cal = metrics::calibration(&p, &y);
    let n = p.len() as f64;
    let ece = cal
        .iter()
        .filter_map(|b| Some(b.users as f64 / n * (b.mean_predicted? - b.observed_rate?).abs()))
        .sum::<f64>();
    Some(Figures {
        labeled_users: p.len() as u64,
        positives,
        base_rate: positives as f64 / n,
        auc: two_classes.then(|| metrics::auc(&p, &y)),
        auc_ci: if two_classes {
            metrics::auc_ci(&p, &y).map(|(a, b)| [a, b])
        } else {
            None
        },
        log_loss: metrics::log_loss(&p, &y),
        brier: metrics::brier(&p, &y),
        calibration_error: Some(ece),
    })
}

pub fn compare(
    model: &ModelFile,
    reference: Option<Figures>,
    current: Option<Figures>,
    labels_available: [bool; 2],
) -> Performance {
    let h = &model.metrics.holdout;
    let training = Figures {
        labeled_users: h.users,
        positives: h.positives,
        base_rate: h.base_rate,
        auc: Some(h.auc),
        auc_ci: None,
        log_loss: h.log_loss,
        brier: h.brier,
        calibration_error: None,
    };
    let mut notes = Vec::new();
    for (side, (ok, f)) in ["reference", "current"]
        .iter()
        .zip(labels_available.iter().zip([&reference, &current]))
    {
        if !ok {
            notes.push(format!(
                "the {side} export has no target event: no labels, no performance figures"
            ));
        } else if f.is_none() {
            notes.push(format!(
                "no {side} user's label window has closed yet: no performance figures"
            ));
        }
    }
    let auc_change = current.as_ref().and_then(|c| c.auc).map(|a| a - h.auc);
    let degraded = current
        .as_ref()
        .and_then(|c| c.auc_ci)
        .is_some_and(|[_, hi]| hi < h.auc);
    Performance {
        base_rate_change_vs_training: current.as_ref().map(|c| c.base_rate - h.base_rate),
        auc_change_vs_training: auc_change,
        degraded,
        training,
        reference,
        current,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_skip_unlabeled_users_and_one_class_has_no_auc() {
        let f = figures(&[0.9, 0.2, 0.5], &[Some(true), Some(false), None]).unwrap();
        assert_eq!((f.labeled_users, f.positives), (2, 1));
        assert_eq!(f.auc, Some(1.0));
        let one = figures(&[0.9, 0.2], &[Some(true), Some(true)]).unwrap();
        assert!(one.auc.is_none() && one.auc_ci.is_none());
        assert!(figures(&[0.3], &[None]).is_none());
    }
}

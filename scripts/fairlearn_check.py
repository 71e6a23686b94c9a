#!/usr/bin/env python3
"""fairlearn cross-check of the report's fairness section (issue 17,
acceptance 2): the model's hold-out decisions recomputed from model.json and
the standardized features (`propensity train --features-out`), grouped by the
export's columns, through fairlearn's MetricFrame and disparity metrics; every
per-group rate and every difference/ratio must match report.json to 1e-6.

    /tmp/evvenv/bin/pip install fairlearn
    /tmp/evvenv/bin/python scripts/fairlearn_check.py [path/to/journeymap]
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import roc_auc_score

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/journeymap"


def jm(*args):
    r = subprocess.run([BIN, "-q", *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"journeymap {' '.join(args)} failed:\n{r.stderr}")
    return r.stdout


def main():
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "shop.csv")
        jm("generate", "--fairness", "--users", "20000", "--seed", "3", "--out", data)
        cfg = os.path.join(tmp, "shop.journey.toml")
        model = os.path.join(tmp, "model.json")
        feats = os.path.join(tmp, "features.csv")
        jm("propensity", "train", data, "--config", cfg, "--model-out", model, "--features-out", feats)
        out = os.path.join(tmp, "out")
        jm("report", data, "--config", cfg, "--out", out)
        rep = json.load(open(os.path.join(out, "report.json")))
        m = json.load(open(model))
        if abs(rep["propensity"]["holdout"]["auc"] - m["metrics"]["holdout"]["auc"]) > 1e-12:
            sys.exit("report and propensity train fitted different models")
        f = pd.read_csv(feats)
        hold = f[f["split"] == "holdout"]
        names = [x["name"] for x in m["features"]]
        z = hold[names].to_numpy()
        w = np.array([x["coefficient"] for x in m["features"]])
        p = 1 / (1 + np.exp(-(m["intercept"] + z @ w)))
        pred = (p >= m["threshold"]).astype(int)
        y = hold["label"].to_numpy()
        events = pd.read_csv(data, dtype=str, keep_default_na=False)
        for col in rep["fairness"]["by"]:
            name = col["column"]
            first = events[events[name] != ""].groupby("user_id")[name].first()
            g = hold["user_id"].map(first).fillna("(none)").to_numpy()
            mf = MetricFrame(
                metrics={"sel": selection_rate, "tpr": true_positive_rate, "fpr": false_positive_rate},
                y_true=y, y_pred=pred, sensitive_features=g,
            )
            theirs = {
                "demographic_parity": (demographic_parity_difference(y, pred, sensitive_features=g),
                                       demographic_parity_ratio(y, pred, sensitive_features=g)),
                "equalized_odds": (equalized_odds_difference(y, pred, sensitive_features=g),
                                   equalized_odds_ratio(y, pred, sensitive_features=g)),
            }
            for key, (d, r) in theirs.items():
                ours = col[key]
                ok = abs(ours["difference"] - d) <= 1e-6 and abs(ours["ratio"] - r) <= 1e-6
                bad += not ok
                print(f"{'ok ' if ok else 'BAD'} {name} {key}: {ours['difference']:.6f}/{ours['ratio']:.6f}"
                      f" vs fairlearn {d:.6f}/{r:.6f}")
            for grp in col["groups"]:
                row = mf.by_group.loc[grp["group"]]
                mask = g == grp["group"]
                auc = roc_auc_score(y[mask], p[mask]) if len(set(y[mask])) == 2 else None
                pairs = [("selection_rate", row["sel"]), ("tpr", row["tpr"]), ("fpr", row["fpr"]), ("auc", auc)]
                for k, v in pairs:
                    if v is None or grp[k] is None:
                        continue
                    ok = abs(grp[k] - v) <= 1e-6
                    bad += not ok
                    if not ok:
                        print(f"BAD {name}={grp['group']} {k}: {grp[k]} vs {v}")
            print(f"ok  {name}: {len(col['groups'])} groups' selection rate, TPR, FPR, AUC")
        truth = json.load(open(os.path.join(tmp, "shop.fairness-truth.json")))
        dev = next(c for c in rep["fairness"]["by"] if c["column"] == truth["column"])
        worst = min(dev["groups"], key=lambda x: x["auc"])
        if worst["group"] != truth["group"]:
            print(f"BAD the lowest AUC is {worst['group']}, planted {truth['group']}")
            bad += 1
    print("PASS" if bad == 0 else f"FAIL: {bad} mismatches")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()

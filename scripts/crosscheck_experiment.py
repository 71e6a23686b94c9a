#!/usr/bin/env python3
"""Cross-checks `journeymap experiment analyze` against scipy and statsmodels
on the same per-user table, rebuilt here from the raw files (an independent
implementation of the metric windows, not journeymap's own numbers):

  * absolute lift and p: scipy.stats.ttest_ind(equal_var=False) on
    y (no CUPED) or on y - theta*x with theta pooled over both arms (CUPED);
  * relative lift and its delta-method SE, recomputed in numpy;
  * for reference, statsmodels OLS y ~ treat + x with HC1 errors (ANCOVA,
    a within-arm theta; close to CUPED, not identical).

Usage: scripts/crosscheck_experiment.py EVENTS.csv ASSIGNMENTS.csv JOURNEY.toml [BIN]
(generate them with `journeymap generate --scenario saas --experiment --out exp.csv`).
Exits 1 when a figure differs from scipy's by more than journeymap's
6-decimal rounding (0.5e-6 + 1e-6 x |value|).
"""
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import scipy.stats as st
import statsmodels.formula.api as smf

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

events_path, assign_path, cfg_path = sys.argv[1:4]
binary = sys.argv[4] if len(sys.argv) > 4 else "journeymap"
cfg = tomllib.load(open(cfg_path, "rb"))["experiment"]
day = 86_400_000
window = int(cfg.get("window", "14d").rstrip("d")) * day
lookback = int(cfg.get("lookback", "14d").rstrip("d")) * day

ev = pd.read_csv(events_path)
EPOCH = pd.Timestamp(0, tz="UTC")


def ms(col):
    return (pd.to_datetime(col, utc=True, format="ISO8601") - EPOCH) // pd.Timedelta(milliseconds=1)


ev["ts"] = ms(ev["timestamp"])
asg = pd.read_csv(assign_path)
asg["t0"] = ms(asg["assigned_at"])
end = ev["ts"].max()
last = ev.groupby("user_id")["ts"].max()
asg = asg[asg["user_id"].isin(last.index)]
asg = asg[asg["t0"] <= asg["user_id"].map(last)]
asg = asg[asg["t0"] + window <= end]

def per_user(metric):
    e = ev[ev["event"] == metric["event"]].merge(asg[["user_id", "t0"]], on="user_id")
    post = e[(e["ts"] >= e["t0"]) & (e["ts"] <= e["t0"] + window)]
    pre = e[(e["ts"] >= e["t0"] - lookback) & (e["ts"] < e["t0"])]
    def agg(df):
        if metric["kind"] == "conversion":
            return df.groupby("user_id").size().clip(upper=1)
        if metric["kind"] == "count":
            return df.groupby("user_id").size()
        return pd.to_numeric(df[metric["property"]], errors="coerce").groupby(df["user_id"]).sum()
    out = asg[["user_id", "arm"]].set_index("user_id")
    out["y"] = agg(post).reindex(out.index).fillna(0.0).astype(float)
    out["x"] = agg(pre).reindex(out.index).fillna(0.0).astype(float)
    return out

run = subprocess.run([binary, "experiment", "analyze", events_path, "--config", cfg_path,
                      "--assignments", assign_path, "--json"], capture_output=True, check=True)
jm = json.loads(run.stdout)
worst = 0.0
print(f"{'metric':12} {'pair':25} {'figure':14} {'journeymap':>14} {'scipy/numpy':>14}")
for m in cfg["metrics"]:
    tab = per_user(m)
    binary_metric = m["kind"] == "conversion"
    res = next(r for r in jm["metrics"] if r["name"] == m["name"])
    for c in res["comparisons"]:
        a = tab[tab["arm"] == c["baseline"]]
        b = tab[tab["arm"] == c["treatment"]]
        both = pd.concat([a, b])
        theta = 0.0
        if c["cuped"]:
            theta = np.cov(both["y"], both["x"], ddof=1)[0, 1] / np.var(both["x"], ddof=1)
        ya, yb = a["y"] - theta * a["x"], b["y"] - theta * b["x"]
        t = st.ttest_ind(yb, ya, equal_var=False)
        diff = yb.mean() - ya.mean()
        # Binary metrics use p(1-p) (gbstats' proportion), not the n-1 variance.
        va = a["y"].mean() * (1 - a["y"].mean()) if binary_metric else ya.var(ddof=1)
        vb = b["y"].mean() * (1 - b["y"].mean()) if binary_metric else yb.var(ddof=1)
        if c["cuped"]:
            va, vb = ya.var(ddof=1), yb.var(ddof=1)
        ma, mb = a["y"].mean(), b["y"].mean()
        rel = diff / abs(ma)
        rel_se = np.sqrt(vb / (ma**2 * len(b)) + va * mb**2 / (ma**4 * len(a)))
        checks = [("abs effect", c["absolute"]["estimate"], diff),
                  ("rel lift", c["lift"]["estimate"], rel),
                  ("rel se", c["lift"]["se"], rel_se)]
        if not binary_metric:
            checks.append(("abs p (Welch)", c["absolute"]["p"], t.pvalue))
        if c.get("theta") is not None:
            checks.append(("theta", c["theta"], theta))
        pair = f"{c['treatment']} vs {c['baseline']}"
        for name, got, want in checks:
            # journeymap rounds to 6 decimals: allow half a unit of the 6th.
            worst = max(worst, abs(got - want) / (5e-7 + 1e-6 * abs(want)))
            print(f"{m['name']:12} {pair:25} {name:14} {got:14.6f} {want:14.6f}")
        d = both.assign(treat=(both["arm"] == c["treatment"]).astype(int))
        formula = "y ~ treat + x" if d["x"].var() > 0 else "y ~ treat"
        ols = smf.ols(formula, data=d).fit(cov_type="HC1")
        print(f"{m['name']:12} {pair:25} {'ANCOVA (ref)':14} {diff:14.6f} {ols.params['treat']:14.6f}")
print(f"worst difference: {worst:.3f} of the tolerance (0.5e-6 + 1e-6 x |value|)")
sys.exit(0 if worst <= 1.0 else 1)

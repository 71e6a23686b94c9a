#!/usr/bin/env python3
"""Issue 12 acceptance 3: `propensity train --target T --observe 1d` with no
config against scikit-learn's logistic regression given the same first-day
counts plus the properties, computed here independently with pandas.

Usage: scripts/sklearn_auto_features.py EXPORT.csv|.parquet [--target purchase] [--bin journeymap]

Needs pandas, pyarrow and scikit-learn. Prints both hold-out AUCs (on
journeymap's hold-out users, read from its --features-out file), the
Bayes-optimal AUC when a truth file lies beside the export, and the gap.
"""
import argparse, json, os, subprocess, sys, tempfile

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

p = argparse.ArgumentParser()
p.add_argument("export")
p.add_argument("--target", default="purchase")
p.add_argument("--bin", default="target/release/journeymap")
a = p.parse_args()

tmp = tempfile.mkdtemp()
feat = os.path.join(tmp, "features.csv")
out = subprocess.run([a.bin, "propensity", "train", a.export, "--target", a.target,
                      "--observe", "1d", "--horizon", "all", "--model-out", os.path.join(tmp, "m.json"),
                      "--features-out", feat, "--json"], check=True, capture_output=True, text=True)
ours = json.loads(out.stdout)["holdout"]["auc"]
split = pd.read_csv(feat, usecols=["user_id", "split", "label"])

df = pd.read_parquet(a.export) if a.export.endswith(".parquet") else pd.read_csv(a.export)
df["ts"] = pd.to_datetime(df["timestamp"], utc=True, format="ISO8601")
df = df.sort_values(["user_id", "ts"], kind="stable")
first = df.groupby("user_id")["ts"].transform("min")
day1 = df[df["ts"] < first + pd.Timedelta(days=1)]
day1 = day1[day1["event"] != a.target]
counts = pd.crosstab(day1["user_id"], day1["event"]).add_prefix("n_")
X = np.log1p(counts)
props = [c for c in ["device", "channel"] if c in df.columns]
firsts = day1.groupby("user_id")[props].first()
X = X.join(pd.get_dummies(firsts, dtype=float))
if "price" in df.columns:
    X["mean_price"] = np.log1p(day1.groupby("user_id")["price"].mean().fillna(0))
X = X.fillna(0.0)
d = split.set_index("user_id").join(X, how="left").fillna(0.0)
cols = [c for c in X.columns]
tr, ho = d[d.split == "train"], d[d.split == "holdout"]
sc = StandardScaler().fit(tr[cols])
lr = LogisticRegression(C=1.0, max_iter=5000).fit(sc.transform(tr[cols]), tr.label)
sk = roc_auc_score(ho.label, lr.predict_proba(sc.transform(ho[cols]))[:, 1])
print(f"journeymap hold-out AUC {ours:.4f}")
print(f"scikit-learn (first-day counts + device/channel + mean price) {sk:.4f}")
print(f"difference {ours - sk:+.4f}")
stem = a.export.rsplit(".", 1)[0]
truth = stem + ".truth.csv"
if os.path.exists(truth):
    t = pd.read_csv(truth).set_index("user_id")
    h = ho.join(t, how="left")
    print(f"Bayes-optimal (planted p_convert) {roc_auc_score(h.label, h.p_convert):.4f}")

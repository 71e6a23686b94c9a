#!/usr/bin/env python3
"""Evidently parity for `journeymap drift` (issue 17, acceptance 1).

Runs Evidently's default drift preset (DataDriftPreset: DatasetDriftMetric +
DataDriftTable, version pinned below) on the same tables journeymap tests and
requires, per column, the same test, the same verdict and the statistic within
1e-6; then checks that the planted drift (`generate --drift`) is found and the
rest is not.

Three cases cover Evidently's selector but its Z branch (no generated column
has at most two values and 1,000 rows; unit tests cover it): a large pair
(more than 1,000 reference rows: Wasserstein / Jensen-Shannon), an 800-user
pair (K-S on the user features) and alternate rows of a 1,800-row head
(chi-square on the event columns, p-values from 0 to 0.996).

    python3 -m venv /tmp/evvenv && /tmp/evvenv/bin/pip install "evidently==0.7.23" "pandas<3"
    /tmp/evvenv/bin/python scripts/evidently_drift.py [path/to/journeymap]
"""
import json
import os
import subprocess
import sys
import tempfile

import pandas as pd
from evidently import __version__ as ev_version
from evidently.legacy.metric_preset import DataDriftPreset
from evidently.legacy.pipeline.column_mapping import ColumnMapping
from evidently.legacy.report import Report

PINNED = "0.7.23"
BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/journeymap"
EVENT_COLUMNS = ["event", "page", "product_id", "device", "channel"]
NAMES = {
    "K-S p_value": "K-S p_value",
    "chi-square p_value": "chi-square p_value",
    "Z-test p_value": "Z-test p_value",
    "Wasserstein distance (normed)": "Wasserstein distance (normed)",
    "Jensen-Shannon distance": "Jensen-Shannon distance",
}


def run(*args):
    r = subprocess.run([BIN, "-q", *args], capture_output=True, text=True)
    if r.returncode not in (0, 4):
        sys.exit(f"journeymap {' '.join(args)} failed ({r.returncode}):\n{r.stderr}")
    return r.stdout


def evidently(ref, cur, numerical, categorical):
    mapping = ColumnMapping(
        numerical_features=numerical, categorical_features=categorical, target=None,
        prediction=None, datetime=None, id=None,
    )
    rep = Report(metrics=[DataDriftPreset()])
    rep.run(reference_data=ref, current_data=cur, column_mapping=mapping)
    out = {}
    for m in rep.as_dict()["metrics"]:
        cols = m["result"].get("drift_by_columns")
        if cols:
            out.update(cols)
    return out


def compare(ours, theirs, label):
    bad = 0
    for c in ours["columns"]:
        name = c["column"]
        e = theirs.get(name)
        if (c["level"] == "event") != (label == "event"):
            continue
        if e is None or c["method"] is None:
            print(f"  BAD {label} {name}: only one side tested ({c.get('note')})")
            bad += 1
            continue
        same_test = NAMES[c["method_name"]] == e["stattest_name"]
        diff = abs(c["statistic"] - e["drift_score"])
        ok = same_test and diff <= 1e-6 and c["drifted"] == e["drift_detected"]
        bad += not ok
        print(f"  {'ok ' if ok else 'BAD'} {label} {name:14} {c['method_name']:30} "
              f"{c['statistic']:.9f} vs {e['drift_score']:.9f} ({e['stattest_name']}) "
              f"drift {c['drifted']} vs {e['drift_detected']}")
    return bad


def alternate_rows(path, rows, parity, tag):
    """Every other row (by `parity`) of an export's first 2·rows rows, with
    its header: event columns with fewer than 1,000 reference values (the
    chi-square branch) and like distributions on both sides."""
    out = path.replace(".csv", f".{tag}.csv")
    with open(path) as f, open(out, "w") as g:
        for i, line in enumerate(f):
            if i == 0 or (i <= 2 * rows and i % 2 == parity):
                g.write(line)
    return out


def case(tmp, users, seed_ref, seed_cur, rows=None):
    ref = os.path.join(tmp, f"ref{users}.csv")
    cur = os.path.join(tmp, f"cur{users}.csv")
    run("generate", "--users", str(users), "--seed", str(seed_ref), "--out", ref)
    run("generate", "--users", str(users), "--seed", str(seed_cur), "--drift", "--out", cur)
    if rows:
        # Two slices of the same plain export: like distributions, so the
        # chi-square p-values are not all 0.
        ref, cur = alternate_rows(ref, rows, 0, "a"), alternate_rows(ref, rows, 1, "b")
    tables = os.path.join(tmp, f"tables{users}")
    ours = json.loads(run("drift", ref, cur, "--json", "--tables-out", tables))
    # Event level: the exports' own columns, empty cells missing.
    er = pd.read_csv(ref, dtype=str, keep_default_na=False).replace("", None)[EVENT_COLUMNS]
    ec = pd.read_csv(cur, dtype=str, keep_default_na=False).replace("", None)[EVENT_COLUMNS]
    bad = compare(ours, evidently(er, ec, [], EVENT_COLUMNS), "event")
    ur = pd.read_csv(os.path.join(tables, "reference_users.csv")).drop(columns=["user_id"])
    uc = pd.read_csv(os.path.join(tables, "current_users.csv")).drop(columns=["user_id"])
    bad += compare(ours, evidently(ur, uc, list(ur.columns), []), "user")
    truth = json.load(open(os.path.join(tmp, f"cur{users}.drift-truth.json")))
    flagged = {c["column"] for c in ours["columns"] if c["drifted"]}
    if users > 1000:
        for col in truth["drifted"]:
            if col not in flagged:
                print(f"  BAD planted drift in {col} not flagged")
                bad += 1
        for col in truth["stable"]:
            if col in flagged:
                print(f"  BAD {col} flagged but nothing was planted there")
                bad += 1
    return bad


def main():
    if ev_version != PINNED:
        print(f"note: evidently {ev_version}, pinned {PINNED}")
    with tempfile.TemporaryDirectory() as tmp:
        bad = case(tmp, 3000, 1, 2) + case(tmp, 800, 3, 4) + case(tmp, 100, 5, 6, rows=900)
    print("PASS" if bad == 0 else f"FAIL: {bad} mismatches")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()

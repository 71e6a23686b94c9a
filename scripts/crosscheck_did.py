#!/usr/bin/env python3
"""Cross-checks `journeymap experiment did` against statsmodels on the same
per-user table, rebuilt here from the raw files:

  * the first-difference regression dy ~ treated with HC1 errors (what
    journeymap computes: with one first difference per user, this is the
    user-clustered CRV1 of fixest's small-sample convention) must match the
    estimate, SE and p to journeymap's 6-decimal rounding;
  * the long two-period panel y ~ treated * post clustered by user
    (statsmodels' CRV1 with its own small-sample factor) is printed for
    reference: the same estimate, an SE within a fraction of a percent.

Usage: scripts/crosscheck_did.py EVENTS.csv TREATED.csv START METRIC_EVENT [BIN]
       (a count metric over 14 days before and after START; generate data with
        `journeymap generate --scenario saas --rollout --out ro.csv`)
"""
import json
import subprocess
import sys

import pandas as pd
import statsmodels.formula.api as smf

events_path, treated_path, start, event = sys.argv[1:5]
binary = sys.argv[5] if len(sys.argv) > 5 else "journeymap"
EPOCH = pd.Timestamp(0, tz="UTC")
DAY = 86_400_000


def ms(col):
    return (pd.to_datetime(col, utc=True, format="ISO8601") - EPOCH) // pd.Timedelta(milliseconds=1)


ev = pd.read_csv(events_path)
ev["ts"] = ms(ev["timestamp"])
s = int(ms(pd.Series([start if "T" in start else start + "T00:00:00Z"]))[0])
first = ev.groupby("user_id")["ts"].min()
users = first[first < s].index
treated = set(pd.read_csv(treated_path)["user_id"])
hits = ev[ev["event"] == event]
pre = hits[(hits["ts"] >= s - 14 * DAY) & (hits["ts"] < s)].groupby("user_id").size()
post = hits[(hits["ts"] >= s) & (hits["ts"] < s + 14 * DAY)].groupby("user_id").size()
tab = pd.DataFrame(index=users)
tab["pre"] = pre.reindex(users).fillna(0.0)
tab["post"] = post.reindex(users).fillna(0.0)
tab["treated"] = [int(u in treated) for u in users]
tab["dy"] = tab["post"] - tab["pre"]

fd = smf.ols("dy ~ treated", data=tab).fit(cov_type="HC1")
long = pd.concat([
    pd.DataFrame({"user": tab.index, "y": tab["pre"], "treated": tab["treated"], "post": 0}),
    pd.DataFrame({"user": tab.index, "y": tab["post"], "treated": tab["treated"], "post": 1}),
])
panel = smf.ols("y ~ treated * post", data=long).fit(
    cov_type="cluster", cov_kwds={"groups": pd.factorize(long["user"])[0]})

run = subprocess.run([binary, "experiment", "did", events_path, "--treated", treated_path,
                      "--start", start, "--metric", f"count:{event}", "--json"],
                     capture_output=True, check=True)
jm = json.loads(run.stdout)["effect"]
rows = [("estimate", jm["estimate"], fd.params["treated"]),
        ("SE (HC1 on first differences)", jm["se"], fd.bse["treated"])]
worst = 0.0
for name, got, want in rows:
    worst = max(worst, abs(got - want) / (5e-7 + 1e-6 * abs(want)))
    print(f"{name:34} journeymap {got:12.6f}   statsmodels {want:12.6f}")
print(f"{'panel TWFE estimate (reference)':34} journeymap {jm['estimate']:12.6f}   statsmodels {panel.params['treated:post']:12.6f}")
print(f"{'panel CRV1 SE by user (reference)':34} journeymap {jm['se']:12.6f}   statsmodels {panel.bse['treated:post']:12.6f}")
print(f"worst difference: {worst:.3f} of the tolerance (0.5e-6 + 1e-6 x |value|)")
sys.exit(0 if worst <= 1.0 else 1)

#!/usr/bin/env python3
"""Cross-checks `journeymap retention` and `journeymap lifecycle` against an
independent pandas computation on the same export (for example
retentioneering's ecom dataset, which nobody here generated):

  1. weekly calendar retention (ISO weeks from Monday, UTC), start = first
     event, return = any event, `on` N for N < 8: eligible when the cohort's
     week N has ended by the last event;
  2. daily rolling `on-or-after` N for N < 8: eligible when start + N days is
     not after the last event, returned when any event is at or after it;
  3. the weekly lifecycle (PostHog's states, creation = first event).

Every cell's eligible and returned counts, and every lifecycle count, must
be equal. Prints the number of cells compared and exits 1 on a difference.

Usage: scripts/crosscheck_retention.py EVENTS.csv[.gz] [BIN]
Needs pandas (the project's /work/venv has it).
"""
import json
import subprocess
import sys

import pandas as pd

DAY = pd.Timedelta(days=1)


def run(bin_, *args):
    out = subprocess.run([bin_, *args, "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main():
    path = sys.argv[1]
    bin_ = sys.argv[2] if len(sys.argv) > 2 else "target/release/journeymap"
    df = pd.read_csv(path, usecols=["user_id", "timestamp"])
    df["ts"] = pd.to_datetime(df["timestamp"], utc=True, format="mixed")
    end = df["ts"].max()
    first = df.groupby("user_id")["ts"].min().rename("start")
    df = df.join(first, on="user_id")
    compared = 0
    bad = []

    # 1. weekly calendar, on N.
    week = lambda t: (t.dt.tz_convert(None).dt.normalize() - pd.to_timedelta(t.dt.day_of_week, unit="D"))
    df["cohort"] = week(df["start"])
    df["wk"] = week(df["ts"])
    df["n"] = ((df["wk"] - df["cohort"]).dt.days // 7).astype(int)
    sizes = df.groupby("cohort")["user_id"].nunique()
    returned = df[df["n"] < 8].groupby(["cohort", "n"])["user_id"].nunique()
    jm = run(bin_, "retention", path, "--interval", "week", "--intervals", "8")
    for row in jm["cohorts"]:
        c = pd.Timestamp(row["cohort"])
        for n, cell in enumerate(row["cells"]):
            week_end = (c + pd.Timedelta(weeks=n + 1)).tz_localize("UTC")
            eligible = int(sizes[c]) if week_end - pd.Timedelta(milliseconds=1) <= end else 0
            r = int(returned.get((c, n), 0)) if eligible else 0
            compared += 1
            if (cell["eligible"], cell["returned"]) != (eligible, r):
                bad.append(("weekly", row["cohort"], n, cell["eligible"], cell["returned"], eligible, r))

    # 2. daily rolling, on or after N.
    last = df.groupby("user_id")["ts"].max()
    users = pd.DataFrame({"start": first, "last": last})
    users["cohort"] = users["start"].dt.tz_convert(None).dt.normalize()
    jm = run(bin_, "retention", path, "--interval", "day", "--clock", "rolling",
             "--return", "on-or-after", "--intervals", "8")
    by_cohort = {k: g for k, g in users.groupby("cohort")}
    for row in jm["cohorts"]:
        g = by_cohort[pd.Timestamp(row["cohort"])]
        for n, cell in enumerate(row["cells"]):
            begin = g["start"] + n * DAY
            ok = begin <= end
            eligible = int(ok.sum())
            r = int((ok & (g["last"] >= begin)).sum())
            compared += 1
            if (cell["eligible"], cell["returned"]) != (eligible, r):
                bad.append(("rolling", row["cohort"], n, cell["eligible"], cell["returned"], eligible, r))

    # 3. weekly lifecycle.
    act = df[["user_id", "wk"]].drop_duplicates().sort_values(["user_id", "wk"])
    weeks = pd.date_range(df["wk"].min(), df["wk"].max(), freq="7D")
    counts = {w: {"new": 0, "returning": 0, "resurrecting": 0, "dormant": 0} for w in weeks}
    for _, g in act.groupby("user_id"):
        ws = list(g["wk"])
        for k, w in enumerate(ws):
            prev = ws[0] if k == 0 else ws[k - 1]
            if k == 0:
                state = "new"
            elif w - pd.Timedelta(weeks=1) == prev:
                state = "returning"
            else:
                state = "resurrecting"
            counts[w][state] += 1
            nxt = w + pd.Timedelta(weeks=1)
            if (k + 1 == len(ws) or ws[k + 1] != nxt) and nxt in counts:
                counts[nxt]["dormant"] += 1
    jm = run(bin_, "lifecycle", path, "--interval", "week")
    for row in jm["intervals"]:
        w = pd.Timestamp(row["interval"])
        want = counts[w]
        got = {"new": row["new"], "returning": row["returning"],
               "resurrecting": row["resurrecting"], "dormant": -row["dormant"]}
        compared += 4
        if got != want:
            bad.append(("lifecycle", row["interval"], got, want))

    print(f"{len(df):,} events, {len(first):,} users; {compared} cells and counts compared")
    for b in bad[:20]:
        print("DIFF", b)
    if bad:
        print(f"{len(bad)} differences")
        sys.exit(1)
    print("all equal")


if __name__ == "__main__":
    main()

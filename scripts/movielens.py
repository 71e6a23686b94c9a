#!/usr/bin/env python3
"""MovieLens-100k through `journeymap recommend evaluate`, and EASE again in numpy.

The data ships inside the recbole wheel on PyPI (no torch needed):
    pip download --no-deps recbole -d /tmp/recbole
This script finds the wheel (or downloads it), turns ml-100k.inter into an
event export (user_id, timestamp, event=rate, item_id; rows in file order),
runs journeymap's evaluation with every model, then re-implements the exact
protocol in numpy -- temporal leave-last-out (each user's last rating by
timestamp, ties in file order), binary user-item matrix of the rest, EASE
with the lambda journeymap chose, full ranking over the catalog with
journeymap's tiers (positive scores first, then training popularity, ties
by item id in byte order), already-seen items excluded -- and checks that
HR@10, NDCG@10 and MRR agree to 1e-6. Finally it checks the published order
of methods on recall@10: EASE > item-kNN (journeymap's cooc) > popularity.

Usage: scripts/movielens.py [--journeymap PATH] [--wheel-dir DIR] [--work DIR]
Exit 1 when parity or the order fails.
"""
import argparse
import datetime
import glob
import json
import os
import subprocess
import sys
import zipfile

import numpy as np


def find_wheel(wheel_dir):
    found = sorted(glob.glob(os.path.join(wheel_dir, "recbole-*.whl")))
    if not found:
        os.makedirs(wheel_dir, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "recbole", "-d", wheel_dir],
                       check=True, stdout=subprocess.DEVNULL)
        found = sorted(glob.glob(os.path.join(wheel_dir, "recbole-*.whl")))
    return found[-1]


def load_inter(wheel):
    with zipfile.ZipFile(wheel) as z:
        text = z.read("recbole/dataset_example/ml-100k/ml-100k.inter").decode()
    rows = []
    for line in text.splitlines()[1:]:
        u, i, _r, t = line.split("\t")
        rows.append((u, i, int(float(t))))
    return rows


def write_events(rows, path):
    with open(path, "w") as f:
        f.write("user_id,timestamp,event,item_id\n")
        for u, i, t in rows:
            ts = datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            f.write(f"{u},{ts},rate,{i}\n")


def numpy_ease(rows, lam, k):
    items = sorted({i for _, i, _ in rows})  # byte order, as journeymap's ids
    idx = {it: n for n, it in enumerate(items)}
    users = {}
    for line, (u, i, t) in enumerate(rows):
        users.setdefault(u, []).append((t, line, idx[i]))
    hist, target = {}, {}
    for u, evs in users.items():
        evs.sort()  # by time, then file order
        last = evs[-1][2]
        s = len(evs) - 1
        while s > 0 and evs[s - 1][2] == last:
            s -= 1
        hist[u] = [e[2] for e in evs[:s]]
        target[u] = last
    order = sorted(users)
    n = len(items)
    X = np.zeros((len(order), n))
    for r, u in enumerate(order):
        X[r, hist[u]] = 1.0
    pop = X.sum(axis=0)
    used = np.flatnonzero(pop > 0)
    G = X[:, used].T @ X[:, used] + lam * np.eye(len(used))
    P = np.linalg.inv(G)
    B = -P / np.diag(P)[None, :]
    np.fill_diagonal(B, 0.0)
    # Popularity order: descending training count, ties by id.
    pos = np.empty(n, dtype=np.int64)
    pos[np.lexsort((np.arange(n), -pop))] = np.arange(n)
    hr = nd = mrr = 0.0
    for r, u in enumerate(order):
        s = np.zeros(n)
        s[used] = X[r, used] @ B
        seen = np.zeros(n, dtype=bool)
        seen[hist[u]] = True
        t = target[u]
        if seen[t]:
            continue
        tier0 = (s > 0) & ~seen
        ids = np.arange(n)
        if tier0[t]:
            before = np.sum(tier0 & ((s > s[t]) | ((s == s[t]) & (ids < t))))
        else:
            before = np.sum(tier0) + np.sum(~tier0 & ~seen & (pos < pos[t]))
        rank = before + 1
        if rank <= k:
            hr += 1
            nd += 1 / np.log2(rank + 1)
        mrr += 1 / rank
    m = len(order)
    return {"hit_rate": hr / m, "ndcg": nd / m, "mrr": mrr / m}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--journeymap", default=os.path.expanduser("~/.cache/journeymap-target/release/journeymap"))
    ap.add_argument("--wheel-dir", default="/tmp/recbole")
    ap.add_argument("--work", default="/tmp/movielens")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    rows = load_inter(find_wheel(a.wheel_dir))
    events = os.path.join(a.work, "ml100k.csv")
    write_events(rows, events)
    out = subprocess.run(
        [a.journeymap, "recommend", "evaluate", events, "--item-col", "item_id",
         "--models", "popularity,cooc,markov,ease", "--cooc-window", "100000d", "--json", "-q"],
        check=True, capture_output=True, text=True).stdout
    rep = json.loads(out)
    ev = rep["evaluation"]
    by = {m["model"]: m for m in ev["models"]}
    print(f"ml-100k: {rep['interactions']} ratings, {rep['users']} users, {rep['items']} items; "
          f"{ev['users']} users tested, lambda {rep['ease']['lambda']} ({rep['ease']['lambda_from']})")
    for name in ["popularity", "cooc", "markov", "ease"]:
        m = by[name]
        print(f"  {name:<10} recall@10 {m['recall']:.4f}  NDCG@10 {m['ndcg']:.4f}  MRR {m['mrr']:.4f}  coverage {m['coverage']:.3f}")
    ref = numpy_ease(rows, rep["ease"]["lambda"], rep["k"])
    ok = True
    for key in ["hit_rate", "ndcg", "mrr"]:
        d = abs(by["ease"][key] - ref[key])
        print(f"  numpy EASE {key}: {ref[key]:.6f} vs journeymap {by['ease'][key]:.6f} (|diff| {d:.1e})")
        ok &= d <= 1e-6
    order = by["ease"]["recall"] > by["cooc"]["recall"] > by["popularity"]["recall"]
    print(f"  published order EASE > item-kNN (cooc) > popularity on recall@10: {'yes' if order else 'NO'}")
    if not (ok and order):
        sys.exit(1)


if __name__ == "__main__":
    main()

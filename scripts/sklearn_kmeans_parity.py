#!/usr/bin/env python3
"""k-means parity with scikit-learn on the same feature matrix.

Reads the scaled feature matrix that `journeymap segments --features-out`
wrote and the JSON report of the same run, fits scikit-learn's
KMeans(n_clusters=k, n_init=10, random_state=0) on the matrix, and compares
its inertia with ours. Exits 1 when ours is more than 1% above scikit-learn's.

    journeymap segments shop.csv --on all --k 4 --features-out x.csv --json > r.json
    python3 scripts/sklearn_kmeans_parity.py x.csv r.json

Needs numpy and scikit-learn (pip install scikit-learn); scripts only, the
binary never uses Python.
"""

import argparse
import json
import sys
import time

import numpy as np
from sklearn.cluster import KMeans


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("features", help="CSV from --features-out (header of feature names)")
    ap.add_argument("report", help="JSON report of the same run (--json)")
    ap.add_argument("--tolerance", type=float, default=0.01, help="allowed relative excess of our inertia (default 0.01)")
    ap.add_argument("--seed", type=int, default=0, help="scikit-learn random_state (default 0)")
    args = ap.parse_args()

    with open(args.report) as f:
        report = json.load(f)
    k = report["selection"]["chosen_k"]
    ours = report["inertia"]

    t0 = time.perf_counter()
    with open(args.features) as f:
        header = f.readline().strip().split(",")
    x = np.loadtxt(args.features, delimiter=",", skiprows=1, ndmin=2)
    load_s = time.perf_counter() - t0
    expected = [c["name"] for c in report["features"]]
    if header != expected:
        print(f"feature names differ from the report's:\n  csv:    {header}\n  report: {expected}", file=sys.stderr)
        return 2

    t0 = time.perf_counter()
    km = KMeans(n_clusters=k, n_init=10, random_state=args.seed).fit(x)
    fit_s = time.perf_counter() - t0
    theirs = float(km.inertia_)
    rel = (ours - theirs) / theirs
    print(f"matrix: {x.shape[0]} rows x {x.shape[1]} features (read in {load_s:.2f}s)")
    print(f"k = {k}")
    print(f"inertia journeymap: {ours:.6f}")
    print(f"inertia scikit-learn:       {theirs:.6f}  (KMeans n_init=10, random_state={args.seed}; fit {fit_s:.2f}s)")
    print(f"relative difference:        {rel * 100:+.4f}%  (positive: ours is higher)")
    ok = rel <= args.tolerance
    print("parity: OK" if ok else f"parity: FAILED (more than {args.tolerance * 100:g}% above scikit-learn)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Cross-checks journeymap's uplift figures against scikit-uplift on the same
per-user scores: `qini_coefficient_vs_perfect` against
sklift.metrics.qini_auc_score and `uplift_at_k` against
sklift.metrics.uplift_at_k(strategy="overall", k=0.3).

Usage: scripts/crosscheck_uplift.py EVENTS JOURNEY.toml [BIN]
  (an [experiment] with a conversion metric; generate one with
   `journeymap generate --scenario saas --experiment --out exp.csv`)
Needs: pip install scikit-uplift pandas. Exits 1 on a difference > 1e-6.
"""
import json
import subprocess
import sys
import tempfile
import warnings

import pandas as pd
from sklift.metrics import qini_auc_score, uplift_at_k

warnings.filterwarnings("ignore", category=FutureWarning)
events, cfg = sys.argv[1:3]
binary = sys.argv[3] if len(sys.argv) > 3 else "journeymap"
with tempfile.TemporaryDirectory() as d:
    scores = f"{d}/uplift.csv"
    run = subprocess.run([binary, "experiment", "analyze", events, "--config", cfg,
                          "--uplift-out", scores, "--json"], capture_output=True, check=True)
    jm = json.loads(run.stdout)
    table = pd.read_csv(scores)
worst = 0.0
for u in jm["uplift"]:
    s = table[(table.metric == u["metric"]) & (table.treatment == u["treatment"])
              & (table.baseline == u["baseline"])]
    t = (s.arm == u["treatment"]).astype(int).values
    q = qini_auc_score(s.outcome.values, s.uplift.values, t)
    k = uplift_at_k(s.outcome.values, s.uplift.values, t, strategy="overall", k=u["k"])
    worst = max(worst, abs(q - u["qini_coefficient_vs_perfect"]), abs(k - u["uplift_at_k"]))
    print(f"{u['metric']} {u['treatment']} vs {u['baseline']}: qini journeymap "
          f"{u['qini_coefficient_vs_perfect']:.6f} sklift {q:.6f}; uplift@{u['k']} journeymap "
          f"{u['uplift_at_k']:.6f} sklift {k:.6f}")
print(f"worst difference {worst:.2e}")
sys.exit(0 if worst <= 1e-6 else 1)

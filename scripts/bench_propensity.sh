#!/usr/bin/env bash
# Propensity benchmark at scale: generate 280k SaaS users (~10M events),
# then time `propensity train` (5-fold CV over the L2 grid, final fit,
# hold-out, scoring every user) and `propensity score` under /usr/bin/time -v
# (wall time, peak RSS). For comparison, scikit-learn's LogisticRegression
# fit alone on the same standardized matrix (--features-out), timed in-process,
# and the parity check. Usage: scripts/bench_propensity.sh [USERS] [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
USERS="${1:-280000}"
DIR="${2:-${BENCH_DIR:-/tmp/journeymap-bench}}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/journeymap-target}"
cargo build --release --quiet
BIN="$DIR/journeymap" # a private copy: other builds may replace the target's binary mid-run
mkdir -p "$DIR"
cp "$CARGO_TARGET_DIR/release/journeymap" "$BIN"
CONFIG=fixtures/propensity/saas.journey.toml

measure() { # label, command... ; prints "label wall_s peak_MiB"; stage times on stderr go to $DIR/<label>.log
  local label="$1"; shift
  local log; log=$(mktemp)
  JOURNEYMAP_PROGRESS=1 /usr/bin/time -v "$@" >/dev/null 2>"$log"
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$log")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$log")
  grep '^\[' "$log" > "$DIR/$label.log" || true
  rm -f "$log"
  printf '%-24s %9s %10s\n' "$label" "$wall" "$rss"
}

f="$DIR/saas-$USERS.parquet"
if [ ! -f "$f" ]; then
  "$BIN" generate --scenario saas --users "$USERS" --seed 1 --out "$f" >/dev/null
fi
EVENTS=$("$BIN" inspect "$f" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["rows"]["read"])')
echo "users: $USERS  events: $EVENTS  cores: $(nproc)"

printf '%-24s %9s %10s\n' step wall_s peak_MiB
measure train "$BIN" propensity train "$f" --config "$CONFIG" \
  --model-out "$DIR/model.json" --scores-out "$DIR/train_scores.csv" --features-out "$DIR/matrix.csv"
L2=$(python3 -c "import json; print(json.load(open('$DIR/model.json'))['l2'])")
measure "train.l2=$L2" "$BIN" propensity train "$f" --config "$CONFIG" --l2 "$L2" --model-out "$DIR/model_l2.json"
measure score.csv "$BIN" propensity score "$f" --model "$DIR/model.json" --out "$DIR/scores.csv"
measure score.parquet "$BIN" propensity score "$f" --model "$DIR/model.json" --out "$DIR/scores.parquet"
measure inspect "$BIN" inspect "$f" --json
cmp -s "$DIR/scores.csv" "$DIR/train_scores.csv" && echo "score reproduces the training scores: yes" \
  || echo "score reproduces the training scores: NO"
echo "stage times (train):"; sed 's/^/  /' "$DIR/train.log"

if python3 -c 'import sklearn' 2>/dev/null; then
  python3 - "$DIR/matrix.csv" "$DIR/model.json" <<'EOF'
import json, sys, time
import numpy as np
from sklearn.linear_model import LogisticRegression
m = json.load(open(sys.argv[2]))
t = time.perf_counter()
data = np.genfromtxt(sys.argv[1], delimiter=",", skip_header=1, usecols=range(2, 3 + len(m["features"])))
split = np.genfromtxt(sys.argv[1], delimiter=",", skip_header=1, usecols=[1], dtype=str)
read = time.perf_counter() - t
x, y = data[:, :-1], data[:, -1]
train = split == "train"
for label, kw in [("sklearn fit (defaults: tol 1e-4, max_iter 100)", {}), ("sklearn fit (tol 1e-10)", {"tol": 1e-10, "max_iter": 10000})]:
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        LogisticRegression(C=1.0 / m["l2"], **kw).fit(x[train], y[train])
        times.append(time.perf_counter() - t0)
    best = min(times)
    print(f"{label}: {best:.2f} s on {int(train.sum())} x {x.shape[1]} (best of 3; reading the CSV took {read:.1f} s)")
EOF
  python3 scripts/sklearn_logistic_parity.py "$DIR/matrix.csv" "$DIR/model.json" | grep -E 'AUC|largest|PASS|FAIL'
else
  echo "(scikit-learn not installed: pip install scikit-learn, for the baseline and the parity check)"
fi

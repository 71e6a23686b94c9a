#!/usr/bin/env bash
# Segments benchmark at scale: generate 280k users (~10M events) as Parquet,
# then time `journeymap segments` under /usr/bin/time -v (wall, peak RSS) and
# print the per-stage timings of its report (features, each k-means fit,
# silhouette). Two runs:
#   auto: the default scenario (abandoning users, --k auto: k = 2..8)
#   k4:   every user, --k 4 (one fit, the scikit-learn anchor)
# With scikit-learn installed, KMeans(n_clusters=k, n_init=10) is timed on the
# same feature matrices (--features-out) right after, on the same machine.
# Usage: scripts/bench_segments.sh [USERS] [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
USERS="${1:-280000}"
DIR="${2:-${BENCH_DIR:-/tmp/journeymap-segments-bench}}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/journeymap-target}"
cargo build --release --quiet
BIN="$CARGO_TARGET_DIR/release/journeymap"
mkdir -p "$DIR"
DATA="$DIR/events-$USERS.parquet"   # generate also writes events-$USERS.journey.toml (the funnel)
if [ ! -f "$DATA" ]; then
  "$BIN" generate --scenario ecommerce --users "$USERS" --seed 1 --out "$DATA" >/dev/null
fi
echo "data: $DATA ($("$BIN" inspect "$DATA" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["rows"]["read"])') events, $USERS users)"
echo "cpus: $(nproc), load: $(cut -d' ' -f1-3 /proc/loadavg)"

run() { # name, extra args...
  local name="$1"; shift
  local log="$DIR/$name.time"
  /usr/bin/time -v "$BIN" segments "$DATA" --timings --json --features-out "$DIR/$name.x.csv" \
    --assignments "$DIR/$name.assign.parquet" "$@" >"$DIR/$name.json" 2>"$log"
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$log")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$log")
  echo
  echo "== $name: journeymap segments $* (wall ${wall}s, peak ${rss} MiB, load, ingest and sessions included)"
  python3 - "$DIR/$name.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
t = r["timings"]
print(f"units clustered: {r['units']} of {r['units_in_data']} ({r['on']}), features: {len(r['features'])}, k chosen: {r['selection']['chosen_k']}")
print(f"funnel levels {t['funnel_s']:.2f}s  features {t['features_s']:.2f}s  scaling {t['scaling_s']:.2f}s  "
      f"silhouette {t['silhouette_s']:.2f}s ({r['selection']['silhouette_sample']} points)  profiles {t['profiles_s']:.2f}s")
scores = {s["k"]: s for s in r["selection"]["tried"]}
for f in t["fits"]:
    s = scores[f["k"]]
    print(f"  fit k={f['k']}: {f['seconds']:.2f}s  inertia {s['inertia']:.1f}  silhouette {s['silhouette']}")
print(f"  all fits: {sum(f['seconds'] for f in t['fits']):.2f}s")
PY
}

run auto
run k4 --on all --k 4

if python3 -c 'import sklearn' 2>/dev/null; then
  echo
  echo "== scikit-learn KMeans(n_init=10, random_state=0) on the same matrices (fit time only)"
  for name in auto k4; do
    KS="${SKLEARN_KS:-4}"
    python3 - "$DIR/$name.x.csv" "$KS" "$name" <<'PY'
import sys, time
import numpy as np
from sklearn.cluster import KMeans
x = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1)
for k in map(int, sys.argv[2].split(",")):
    t = time.perf_counter()
    km = KMeans(n_clusters=k, n_init=10, random_state=0).fit(x)
    print(f"  {sys.argv[3]}: {x.shape[0]} x {x.shape[1]}, k={k}: {time.perf_counter() - t:.2f}s  inertia {km.inertia_:.1f}")
PY
  done
else
  echo "(pip install scikit-learn to time KMeans on the same matrices)"
fi

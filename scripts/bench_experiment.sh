#!/usr/bin/env bash
# What the experiment analysis adds to a report, and what `experiment plan` costs, on ~10M events:
#   data     journeymap generate --scenario saas --experiment (220k users, ~10M events, Parquet)
#   without  journeymap report with the generated journey.toml minus its [experiment] section
#   with     the same report with [experiment]: 3 metrics (conversion, revenue sum, usage count),
#            CUPED on a 14-day lookback, 3 arms, 3 comparisons, Holm
#   plan     journeymap experiment plan with the same 3 metrics
# Runs alternate (without, with, plan) RUNS times; prints each run and the medians, and the
# difference with − without (the issue's goal: under 0.5 s on 2 cores; plan under 2 s).
#
# Usage: scripts/bench_experiment.sh [RUNS] [DIR]     (defaults: 5, $BENCH_DIR or /tmp/journeymap-exp)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-5}"
DIR="${2:-${BENCH_DIR:-/tmp/journeymap-exp}}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/journeymap-target}"
cargo build --release --quiet
BIN="$CARGO_TARGET_DIR/release/journeymap"
mkdir -p "$DIR"
DATA="$DIR/exp.parquet"
if [ ! -f "$DATA" ]; then
  "$BIN" generate --scenario saas --experiment --users 220000 --seed 3 --out "$DATA" >/dev/null
fi
WITH="$DIR/exp.journey.toml"
WITHOUT="$DIR/without.journey.toml"
# Everything before the generated [experiment] block.
sed '/^# `generate --experiment`/,$d' "$WITH" > "$WITHOUT"

. scripts/bench_lib.sh   # secs, median (the script runs from the repository root)

: > "$DIR/without.t"; : > "$DIR/with.t"; : > "$DIR/plan.t"
for i in $(seq "$RUNS"); do
  a=$(secs "$BIN" report "$DATA" --config "$WITHOUT" --out "$DIR/out-without")
  b=$(secs "$BIN" report "$DATA" --config "$WITH" --out "$DIR/out-with")
  c=$(secs "$BIN" experiment plan "$DATA" --metric conversion:purchase --metric sum:purchase:amount \
        --metric count:use_feature --mde 0.05 --arms 3)
  printf 'run %d: report without %.3f s, with %.3f s, plan %.3f s\n' "$i" "$a" "$b" "$c"
  echo "$a" >> "$DIR/without.t"; echo "$b" >> "$DIR/with.t"; echo "$c" >> "$DIR/plan.t"
done
mw=$(median < "$DIR/without.t"); mx=$(median < "$DIR/with.t"); mp=$(median < "$DIR/plan.t")
events=$("$BIN" inspect "$DATA" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["rows"]["used"])' 2>/dev/null || echo "?")
echo "events: $events"
echo "median report without [experiment]: $mw s"
echo "median report with [experiment]:    $mx s  (adds $(echo "$mx - $mw" | bc -l | xargs printf '%.3f') s)"
echo "median experiment plan (3 metrics): $mp s"

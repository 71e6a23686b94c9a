#!/usr/bin/env bash
# What [retention] and [lifecycle] add to a report on ~10M events (the issue's goal: retention
# weekly, first, 12 intervals, plus lifecycle, under 0.3 s on 2 cores):
#   data     the experiment bench's export: journeymap generate --scenario saas --experiment
#            (220k users, ~10M events, Parquet), made by scripts/bench_experiment.sh or here
#   without  journeymap report with the generated journey.toml minus its [experiment] section
#   with     the same plus [retention] interval = "week", intervals = 12 (start first, any event)
#            and [lifecycle] interval = "week"
# Runs alternate (without, with) RUNS times; prints each run, the medians and the difference,
# and the retention command's own stage time from its progress lines.
#
# Usage: scripts/bench_retention.sh [RUNS] [DIR]     (defaults: 5, $BENCH_DIR or /tmp/journeymap-exp)
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
WITHOUT="$DIR/without.journey.toml"
WITH="$DIR/retention.journey.toml"
sed '/^# `generate --experiment`/,$d' "$DIR/exp.journey.toml" > "$WITHOUT"
{ cat "$WITHOUT"; printf '\n[retention]\ninterval = "week"\nintervals = 12\n[lifecycle]\ninterval = "week"\n'; } > "$WITH"

. scripts/bench_lib.sh   # secs, median (the script runs from the repository root)

: > "$DIR/r-without.t"; : > "$DIR/r-with.t"
for i in $(seq "$RUNS"); do
  a=$(secs "$BIN" report "$DATA" --config "$WITHOUT" --out "$DIR/out-without")
  b=$(secs "$BIN" report "$DATA" --config "$WITH" --out "$DIR/out-retention")
  printf 'run %d: report without %.3f s, with %.3f s\n' "$i" "$a" "$b"
  echo "$a" >> "$DIR/r-without.t"; echo "$b" >> "$DIR/r-with.t"
done
mw=$(median < "$DIR/r-without.t"); mx=$(median < "$DIR/r-with.t")
echo "median report without: $mw s"
echo "median report with:    $mx s  (adds $(echo "$mx - $mw" | bc -l | xargs printf '%.3f') s)"
echo "journeymap retention's own stages (weekly, 12 intervals):"
JOURNEYMAP_PROGRESS=1 "$BIN" retention "$DATA" --interval week --intervals 12 2>&1 >/dev/null | tr '\r' '\n' | tail -3
echo "journeymap lifecycle's own stages (weekly):"
JOURNEYMAP_PROGRESS=1 "$BIN" lifecycle "$DATA" --interval week 2>&1 >/dev/null | tr '\r' '\n' | tail -3
# A named zone looks up each event's offset in the tz database; a fixed offset adds it.
echo "journeymap retention, UTC against --tz Europe/Paris (weekly, 12 intervals), alternating:"
for i in $(seq "$RUNS"); do
  a=$(secs "$BIN" retention "$DATA" --interval week --intervals 12 --json)
  b=$(secs "$BIN" retention "$DATA" --interval week --intervals 12 --json --tz Europe/Paris)
  printf 'run %d: UTC %.3f s, Europe/Paris %.3f s\n' "$i" "$a" "$b"
done

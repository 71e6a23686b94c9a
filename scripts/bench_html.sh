#!/usr/bin/env bash
# What --html adds to the report on ~10M events (the issue's goal: under 0.2 s, and
# report.html under 2 MB), on the fullest report there is:
#   data     the experiment bench's export: journeymap generate --scenario saas --experiment
#            (220k users, ~10M events, Parquet), made by scripts/bench_experiment.sh or here
#   config   its journey.toml (funnel, stages, Markov map, segments, propensity with
#            interventions, experiment) plus [segments] k = 4, [retention] weekly x 12 and
#            [lifecycle] weekly
# Runs alternate (without --html, with --html) RUNS times; prints each run, the medians and
# their difference, then the cost of drawing the page alone (`journeymap render report.json
# --html`, which also parses the JSON back: an upper bound) and the page's size.
#
# Usage: scripts/bench_html.sh [RUNS] [DIR]     (defaults: 5, $BENCH_DIR or /tmp/journeymap-exp)
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
CFG="$DIR/html.journey.toml"
{ cat "$DIR/exp.journey.toml"; printf '\n[segments]\nk = 4\n[retention]\ninterval = "week"\nintervals = 12\n[lifecycle]\ninterval = "week"\n'; } > "$CFG"

. scripts/bench_lib.sh   # secs, median (the script runs from the repository root)

: > "$DIR/h-without.t"; : > "$DIR/h-with.t"; : > "$DIR/h-render.t"
for i in $(seq "$RUNS"); do
  a=$(secs "$BIN" report "$DATA" --config "$CFG" --out "$DIR/out-html-without")
  b=$(secs "$BIN" report "$DATA" --config "$CFG" --out "$DIR/out-html" --html)
  c=$(secs "$BIN" render "$DIR/out-html/report.json" --html "$DIR/render.html")
  printf 'run %d: report %.3f s, with --html %.3f s; render alone %.3f s\n' "$i" "$a" "$b" "$c"
  echo "$a" >> "$DIR/h-without.t"; echo "$b" >> "$DIR/h-with.t"; echo "$c" >> "$DIR/h-render.t"
done
mw=$(median < "$DIR/h-without.t"); mx=$(median < "$DIR/h-with.t"); mr=$(median < "$DIR/h-render.t")
echo "median report:           $mw s"
echo "median report --html:    $mx s  (adds $(echo "$mx - $mw" | bc -l | xargs printf '%.3f') s)"
echo "median render --html:    $mr s  (read report.json back + draw the page, whole process)"
echo "report.html: $(stat -c %s "$DIR/out-html/report.html") bytes, $(grep -o '<svg' "$DIR/out-html/report.html" | wc -l) charts; report.json: $(stat -c %s "$DIR/out-html/report.json") bytes"
cmp -s "$DIR/render.html" "$DIR/out-html/report.html" && echo "render gives report.html byte for byte"

#!/usr/bin/env bash
# Drift on two ~10M-event exports (issue 17, acceptance 5): the whole
# `journeymap drift` run, and reading the same two files alone (`inspect`,
# which reads every row and column), alternating, RUNS times each.
#   scripts/bench_drift.sh [journeymap-binary]   (RUNS=3 by default)
set -euo pipefail
BIN=${1:-target/release/journeymap}
DIR=${DIR:-/tmp/journeymap-drift10m}
RUNS=${RUNS:-3}
mkdir -p "$DIR"
[ -f "$DIR/ref.parquet" ] || "$BIN" -q generate --users 275000 --seed 1 --out "$DIR/ref.parquet"
[ -f "$DIR/cur.parquet" ] || "$BIN" -q generate --users 275000 --seed 2 --drift --out "$DIR/cur.parquet"
t() { /usr/bin/time -f "%e s %M KiB" "$@" > /dev/null 2>> "$DIR/time.log"; tail -1 "$DIR/time.log"; }
for i in $(seq "$RUNS"); do
  echo "run $i"
  echo -n "  read both (inspect x2): "; t bash -c "'$BIN' -q inspect '$DIR/ref.parquet' && '$BIN' -q inspect '$DIR/cur.parquet'"
  echo -n "  drift:                  "; t "$BIN" -q drift "$DIR/ref.parquet" "$DIR/cur.parquet"
done

#!/usr/bin/env bash
# Decision engine at scale (issue: triggers and decisions for 1M customers
# with ~50M transactions; goal under 30 s and 6 GiB on 2 cores).
# Usage: scripts/bench_decide.sh [CUSTOMERS] [DIR]; prints wall time and peak RSS
# of one decide run and one back-test night, alternating, 3 times each.
set -euo pipefail
N=${1:-1000000}
DIR=${2:-/tmp/journeymap-bank-$N}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/journeymap-target}
cargo build --release -q
B=$CARGO_TARGET_DIR/release/journeymap
if [ ! -f "$DIR/bank.csv" ]; then
  /usr/bin/time -f "generate: %e s, %M KiB" "$B" generate --scenario bank --users "$N" --out "$DIR/bank.csv" -q
fi
wc -l "$DIR/bank.transactions.csv" "$DIR/bank.csv" "$DIR/bank.customers.csv"
# Stage times of one run (JOURNEYMAP_PROGRESS=1 prints them off a terminal).
JOURNEYMAP_PROGRESS=1 "$B" decide "$DIR/bank.csv" --config "$DIR/bank.journey.toml" \
  --as-of 2026-07-01 --out "$DIR/run" 2>&1 >/dev/null | tr '\r' '\n' | grep '^\['
for i in 1 2 3; do
  rm -rf "$DIR/run"
  # 2026-07-01 is after the last transaction: every row is read and kept.
  /usr/bin/time -f "decide: %e s, %M KiB" "$B" decide "$DIR/bank.csv" -q \
    --config "$DIR/bank.journey.toml" --as-of 2026-07-01 --out "$DIR/run" > /dev/null
  /usr/bin/time -f "back-test (1 date): %e s, %M KiB" "$B" decide "$DIR/bank.csv" -q \
    --config "$DIR/bank.journey.toml" --backtest --from 2026-03-01 --to 2026-03-01 > /dev/null
done

#!/usr/bin/env bash
# How the whole report scales with cores: generates the 10M-event e-commerce
# data (280,000 users) as Parquet and CSV, then times `inspect` and `report`
# pinned to 2 cores and to every core (taskset), twice each, plus one run
# with stage times. Usage: scripts/bench_cores.sh [BIN] [DIR]
# (BIN defaults to the release build; on a machine without cargo, copy one.)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/journeymap-target}"
BIN="${1:-$CARGO_TARGET_DIR/release/journeymap}"
DIR="${2:-/tmp/journeymap-cores}"
mkdir -p "$DIR"
BIN=$(realpath "$BIN")
cd "$DIR"
[ -f events.parquet ] || "$BIN" generate --scenario ecommerce --users 280000 --seed 1 --out events.parquet >/dev/null
[ -f events.csv ] || "$BIN" generate --scenario ecommerce --users 280000 --seed 1 --out events.csv >/dev/null
all="0-$(( $(nproc) - 1 ))"
for cores in 0-1 "$all"; do
  for f in events.parquet events.csv; do
    for run in 1 2; do
      /usr/bin/time -f "cores=$cores $f inspect %e s (user %U s, sys %S s) peak %M KB" \
        taskset -c "$cores" "$BIN" inspect "$f" >/dev/null
      /usr/bin/time -f "cores=$cores $f report %e s (user %U s, sys %S s) peak %M KB" \
        taskset -c "$cores" "$BIN" report "$f" --config events.journey.toml --out report >/dev/null
    done
  done
  echo "stage times, cores=$cores, Parquet report:" >&2
  JOURNEYMAP_PROGRESS=1 taskset -c "$cores" "$BIN" report events.parquet --config events.journey.toml --out report >/dev/null
done

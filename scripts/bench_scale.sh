#!/usr/bin/env bash
# Bounded-memory runs (issue 20; docs/scaling.md). Generates ecommerce
# exports of about 10M, 30M and 100M events (Parquet, one file each) and
# times the whole report (funnel, stages, first-order Markov map) with
# /usr/bin/time: in memory at 10M, and partitioned under a fixed
# --memory-limit at every size (flat event-side memory), alternating runs.
# Usage: scripts/bench_scale.sh [LIMIT] [DIR] [SIZES...]
#   LIMIT: the --memory-limit of the partitioned runs (default 6G)
#   SIZES: users per export (default 280000 840000 2800000: ~10M, 30M, 100M events)
set -euo pipefail
LIMIT=${1:-6G}
DIR=${2:-/tmp/journeymap-scale}
shift $(( $# > 2 ? 2 : $# ))
SIZES=${*:-280000 840000 2800000}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/journeymap-target}
cargo build --release -q
B=$CARGO_TARGET_DIR/release/journeymap
mkdir -p "$DIR"
cat > "$DIR/journey.toml" <<'TOML'
[funnel]
steps = ["page_view", "product_view", "add_to_cart", "begin_checkout", "purchase"]
trend = "week"
[conversion]
event = "purchase"
[[stages]]
name = "Awareness"
events = ["page_view", "search"]
[[stages]]
name = "Consideration"
events = ["product_view", "compare", "view_cart"]
[[stages]]
name = "Purchase"
events = ["add_to_cart", "begin_checkout", "add_payment_info", "purchase"]
TOML
for n in $SIZES; do
  if [ ! -f "$DIR/e$n.parquet" ]; then
    /usr/bin/time -f "generate $n users: %e s, %M KiB" "$B" generate --users "$n" --out "$DIR/e$n.parquet" -q
  fi
done
run() { # label args...
  local label=$1; shift
  rm -rf "$DIR/out"
  /usr/bin/time -f "$label: %e s, %M KiB" "$B" report "$@" --config "$DIR/journey.toml" --out "$DIR/out" > /dev/null
}
first=${SIZES%% *}
# Stage times of one partitioned run of the largest export.
last=${SIZES##* }
JOURNEYMAP_PROGRESS=1 "$B" report "$DIR/e$last.parquet" --config "$DIR/journey.toml" \
  --memory-limit "$LIMIT" --out "$DIR/out" 2>&1 >/dev/null | tr '\r' '\n' | grep '^\[' || true
for i in 1 2 3; do
  run "in memory, $first users" "$DIR/e$first.parquet" --memory-limit 1T
  for n in $SIZES; do
    run "--memory-limit $LIMIT, $n users" "$DIR/e$n.parquet" --memory-limit "$LIMIT"
  done
  # The same 10M-event export in 8 partitions: the cost of partitioning itself.
  run "8 partitions, $first users" "$DIR/e$first.parquet" --partitions 8
done

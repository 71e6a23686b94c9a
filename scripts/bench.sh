#!/usr/bin/env bash
# Ingest benchmark at scale: generate ~10M events (280k users) as CSV and
# Parquet, then time `journeymap inspect` on each under /usr/bin/time -v
# (wall time, peak RSS), next to the time polars (Python) takes just to read
# the same file. Usage: scripts/bench.sh [USERS] [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
USERS="${1:-280000}"
DIR="${2:-${BENCH_DIR:-/tmp/journeymap-bench}}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/journeymap-target}"
cargo build --release --quiet
BIN="$CARGO_TARGET_DIR/release/journeymap"
mkdir -p "$DIR"

measure() { # label, command... ; prints "label wall_s peak_MiB"
  local label="$1"; shift
  local log; log=$(mktemp)
  /usr/bin/time -v "$@" >/dev/null 2>"$log"
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$log")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$log")
  rm -f "$log"
  echo "$label $wall $rss"
}

for ext in csv parquet; do
  f="$DIR/events-$USERS.$ext"
  if [ ! -f "$f" ]; then
    measure "generate.$ext" "$BIN" generate --scenario ecommerce --users "$USERS" --seed 1 --out "$f"
  fi
done
EVENTS=$("$BIN" inspect "$DIR/events-$USERS.parquet" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["rows"]["read"])')
echo "events: $EVENTS"

printf '%-22s %9s %10s %12s\n' step wall_s peak_MiB events_per_s
for ext in csv parquet; do
  f="$DIR/events-$USERS.$ext"
  for run in 1 2 3; do
    read -r label wall rss < <(measure "inspect.$ext" "$BIN" inspect "$f" --json)
    printf '%-22s %9s %10s %12.0f\n' "$label#$run" "$wall" "$rss" "$(echo "$EVENTS / $wall" | bc -l)"
  done
  if python3 -c 'import polars' 2>/dev/null; then
    reader=$([ "$ext" = csv ] && echo read_csv || echo read_parquet)
    for run in 1 2 3; do
      # In-process read time, so Python's start-up and import are not counted against polars.
      read_s=$(python3 -c "import time, polars as pl; t=time.perf_counter(); pl.$reader('$f'); print(f'{time.perf_counter()-t:.2f}')")
      read -r label wall rss < <(measure "polars.$reader" python3 -c "import polars as pl; pl.$reader('$f')")
      printf '%-22s %9s %10s   (read alone: %ss)\n' "$label#$run" "$wall" "$rss" "$read_s"
    done
  else
    echo "(python polars not installed: pip install polars, to time the read-only baseline)"
  fi
done

# The analyses on the same data: a 5-step ordered funnel, the Markov map, and
# the whole report (funnel, stages, Markov, and whatever else the generated
# journey.toml configures), each including its own read of the file.
STEPS=product_view,add_to_cart,begin_checkout,add_payment_info,purchase
CONFIG="$DIR/events-$USERS.journey.toml"
printf '\n%-22s %9s %10s\n' step wall_s peak_MiB
for ext in csv parquet; do
  f="$DIR/events-$USERS.$ext"
  for run in 1 2; do
    measure "funnel.$ext#$run" "$BIN" funnel "$f" --steps "$STEPS" --json
    measure "paths.$ext#$run" "$BIN" paths "$f" --conversion purchase --json
    measure "report.$ext#$run" "$BIN" report "$f" --config "$CONFIG" --out "$DIR/report-$ext"
  done
done
# Stage timings of one whole report (stderr progress lines).
JOURNEYMAP_PROGRESS=1 "$BIN" report "$DIR/events-$USERS.parquet" --config "$CONFIG" --out "$DIR/report-parquet" >/dev/null

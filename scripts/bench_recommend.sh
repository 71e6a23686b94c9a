#!/usr/bin/env bash
# `recommend train` on the 10M-event bookstore (1.12M users, ~9,800 books):
# stage times from the progress lines, wall time and peak memory, for
# --model-out alone and with --out recs.parquet. Alternates the two runs
# three times. Data in /tmp/journeymap-bk10 (made once, ~15 s).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/journeymap-target}
cargo build --release --quiet
J="$CARGO_TARGET_DIR/release/journeymap"
D=/tmp/journeymap-bk10
mkdir -p "$D"
[ -f "$D/books.parquet" ] || "$J" generate --scenario bookstore --users 1120000 --out "$D/books.parquet" >/dev/null
for run in $(seq "${RUNS:-3}"); do
  for out in model both; do
    args=(--model-out "$D/recs.model")
    [ "$out" = both ] && args+=(--out "$D/recs.parquet")
    /usr/bin/time -f "%e s wall, %M KB peak" -o "$D/time.txt" env JOURNEYMAP_PROGRESS=1 \
      "$J" recommend train "$D/books.parquet" --config "$D/books.journey.toml" "${args[@]}" \
      2> "$D/stages.txt" > /dev/null
    echo "run $run, $out: $(cat "$D/time.txt")"
    grep '^\[' "$D/stages.txt" | sed 's/^/    /'
  done
done

#!/usr/bin/env bash
# The whole report against its peers on three export shapes, in one sitting, runs alternating:
#   ecommerce  `journeymap generate --scenario ecommerce` (8 columns, rows per user)
#   retail     the 9-column warehouse export: price, timestamp[ms, UTC], rows in global time order
#   wide       retail with 25 more property columns (30 properties; the config uses 4)
# For each shape and format (Parquet, CSV) it times, as whole processes under /usr/bin/time:
#   report   journeymap report --config scripts/shapes/<shape>.journey.toml
#   duckdb   scripts/peers/job_duckdb.py --shape <shape> (DuckDB SQL + scikit-learn: the same
#            funnel, transitions, per-user features, KMeans(4, n_init=10), logistic regression)
#   polars   scripts/peers/read_only.py (polars reading the file and nothing else; for CSV with
#            the timestamp parsed, as journeymap does)
#   inspect  journeymap inspect --json
# and prints medians and the ratios the speed goals are stated in (docs/performance.md).
# journeymap's ingest (read + ordering + sessions) is read from its progress lines.
#
# Usage: scripts/bench_shapes.sh [RUNS] [DIR]     (defaults: 3, $BENCH_DIR or /tmp/journeymap-shapes)
#   SHAPES="retail wide" FORMATS=parquet scripts/bench_shapes.sh 1     # a subset
# Needs python3 with duckdb, polars, pandas, pyarrow, scikit-learn ($PYTHON picks another).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-3}"
DIR="${2:-${BENCH_DIR:-/tmp/journeymap-shapes}}"
SHAPES="${SHAPES:-ecommerce retail wide}"
FORMATS="${FORMATS:-parquet csv}"
PYTHON="${PYTHON:-python3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/journeymap-target}"
if ! "$PYTHON" -c 'import duckdb, polars, pandas, pyarrow, sklearn' 2>/dev/null; then
  echo "bench_shapes: $PYTHON lacks duckdb/polars/pandas/pyarrow/scikit-learn; install them" \
    "(pip install duckdb polars pandas pyarrow scikit-learn) or set PYTHON" >&2
  exit 2
fi
cargo build --release --quiet
BIN="$CARGO_TARGET_DIR/release/journeymap"
PEERS="$PWD/scripts/peers"
mkdir -p "$DIR"

# About 10M events each: 280k ecommerce users (~36 events) or 385k retail users (~26 events).
data() { # shape format -> path, generated on first use
  local shape="$1" fmt="$2" f="$DIR/$1.$2"
  if [ ! -f "$f" ]; then
    case "$shape" in
      ecommerce) "$BIN" generate --scenario ecommerce --users 280000 --seed 1 --out "$f" >&2 ;;
      retail) "$BIN" generate --scenario retail --users 385000 --seed 1 --out "$f" >&2 ;;
      wide)
        local base; base=$(data retail parquet)
        "$PYTHON" "$PEERS/widen.py" "$base" "$DIR/wide.parquet" "$DIR/wide.csv" >&2 ;;
    esac
  fi
  echo "$f"
}

measure() { # command... ; prints "wall_s peak_MiB", keeps the command's stdout in $DIR/.stdout
  local log="$DIR/.time"
  if ! /usr/bin/time -v "$@" >"$DIR/.stdout" 2>"$log"; then
    cat "$log" "$DIR/.stdout" >&2; exit 1
  fi
  awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; w=s}
              /Maximum resident set size/ {m=$2/1024} END {printf "%.2f %.0f\n", w, m}' "$log"
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0) ? a / b : 0}'; }

SUMMARY=()
for shape in $SHAPES; do
  for fmt in $FORMATS; do
    f=$(data "$shape" "$fmt")
    cfg="scripts/shapes/$shape.journey.toml"
    out="$DIR/out-$shape-$fmt"
    mode=$([ "$fmt" = csv ] && echo polars-typed || echo polars)
    rep=(); rep_m=(); duck=(); duck_m=(); pol=(); pol_in=(); ins=(); ins_m=(); ing=()
    echo "== $shape.$fmt ($(du -h "$f" | cut -f1))"
    for run in $(seq "$RUNS"); do
      read -r w m < <(measure "$BIN" report "$f" --config "$cfg" --out "$out"); rep+=("$w"); rep_m+=("$m")
      read -r w m < <(measure "$PYTHON" "$PEERS/job_duckdb.py" "$f" --shape "$shape"); duck+=("$w"); duck_m+=("$m")
      read -r w m < <(measure "$PYTHON" "$PEERS/read_only.py" "$mode" "$f")
      pol+=("$w"); pol_in+=("$(sed -n 's/.*"read_s": \([0-9.]*\).*/\1/p' "$DIR/.stdout")")
      read -r w m < <(measure "$BIN" inspect "$f" --json); ins+=("$w"); ins_m+=("$m")
      # Ingest = the first analysis's start, from the progress lines of one more report.
      ing+=("$(JOURNEYMAP_PROGRESS=1 "$BIN" report "$f" --config "$cfg" --out "$out" 2>&1 >/dev/null \
        | sed -n 's/^\[ *\([0-9.]*\)s\] building the report.*/\1/p' | head -1)")
      printf '  run %d: report %s s %s MiB | duckdb %s s %s MiB | polars read %s s (in process %s s) | inspect %s s %s MiB | ingest %s s\n' \
        "$run" "${rep[-1]}" "${rep_m[-1]}" "${duck[-1]}" "${duck_m[-1]}" "${pol[-1]}" "${pol_in[-1]}" \
        "${ins[-1]}" "${ins_m[-1]}" "${ing[-1]}"
    done
    R=$(median "${rep[@]}"); D=$(median "${duck[@]}"); P=$(median "${pol_in[@]}"); PW=$(median "${pol[@]}")
    I=$(median "${ins[@]}"); G=$(median "${ing[@]}"); RM=$(median "${rep_m[@]}"); DM=$(median "${duck_m[@]}")
    SUMMARY+=("$(printf '%-16s %7s %8s %7s %8s %7s %7s %7s %7s | %6s %6s %6s %6s' "$shape.$fmt" "$R" "$RM" "$D" "$DM" \
      "$P" "$PW" "$G" "$I" "$(ratio "$D" "$R")" "$(ratio "$G" "$P")" "$(ratio "$I" "$P")" "$(ratio "$I" "$PW")")")
  done
done
echo
echo "medians of $RUNS alternating runs (s, MiB); polars = in-process read, polars_wall = whole process"
printf '%-16s %7s %8s %7s %8s %7s %7s %7s %7s | %6s %6s %6s %6s\n' shape.format report rep_MiB duckdb duck_MiB \
  polars pol_wall ingest inspect duck/rep ing/pol ins/pol ins/pw
printf '%s\n' "${SUMMARY[@]}"
echo "goals: duck/rep >= 4 (Parquet), >= 3 (CSV); ing/pol <= 1.5; ins/pol <= 1.5 (Parquet), 1.3 (CSV); rep_MiB < 1024"

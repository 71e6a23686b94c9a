#!/usr/bin/env bash
# Runs the same commands with two journeymap binaries on the same data and
# compares their output files byte for byte (report.json, scores.csv,
# segments.csv, the JSON printed by the single-analysis commands). Used to
# check that a refactoring changed no figure.
#
# Usage: scripts/compare_outputs.sh OLD_BIN NEW_BIN WORK_DIR [--big]
# The data is generated once, with OLD_BIN, into WORK_DIR/data and reused,
# so a change to the generator does not show up as a change of the analyses.
# --big adds the 10M-event benchmark set (280,000 users, CSV and Parquet).
set -uo pipefail
OLD="$(realpath "$1")"; NEW="$(realpath "$2")"; WORK="$3"; BIG="${4:-}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
D="$WORK/data"
mkdir -p "$D"
gen() { # scenario users seed file
  [ -f "$D/$4" ] || "$OLD" generate --scenario "$1" --users "$2" --seed "$3" --out "$D/$4" >/dev/null
}
gen ecommerce 3000 5 shop.csv
gen saas 3000 6 saas.csv
gen ecommerce 3000 5 shop.parquet
if [ "$BIG" = "--big" ]; then
  gen ecommerce 280000 1 big.parquet
  gen ecommerce 280000 1 big.csv
fi

# name|command line (after the binary); OUT is replaced by the output dir.
cases=(
  "fixture_report|report $ROOT/fixtures/shop_small.csv --out OUT"
  "fixture_report_cfg|report $ROOT/fixtures/shop_small.csv --config $ROOT/fixtures/golden/shop_small.init.toml --out OUT"
  "shop_report|report $D/shop.csv --config $D/shop.journey.toml --out OUT"
  "shop_parquet_report|report $D/shop.parquet --config $D/shop.journey.toml --out OUT"
  "saas_report|report $D/saas.csv --config $D/saas.journey.toml --out OUT"
  "saas_train|propensity train $D/saas.csv --config $D/saas.journey.toml --model-out OUT/model.json --scores-out OUT/scores.csv --features-out OUT/features.csv --json"
  "shop_segments|segments $D/shop.csv --config $D/shop.journey.toml --assignments OUT/segments.csv --json"
  "shop_segments_session|segments $D/shop.csv --config $D/shop.journey.toml --unit session --on all --k 3 --assignments OUT/segments.csv --json"
  "shop_funnel|funnel $D/shop.csv --config $D/shop.journey.toml --by device --levels OUT/levels.csv --json"
  "shop_paths|paths $D/shop.csv --config $D/shop.journey.toml --json"
  "shop_paths_stage|paths $D/shop.csv --config $D/shop.journey.toml --states stage --json"
  "shop_inspect|inspect $D/shop.csv --json"
)
if [ "$BIG" = "--big" ]; then
  cases+=(
    "big_parquet|report $D/big.parquet --config $D/big.journey.toml --out OUT"
    "big_csv|report $D/big.csv --config $D/big.journey.toml --out OUT"
  )
fi
status=0
for c in "${cases[@]}"; do
  name="${c%%|*}"; cmd="${c#*|}"
  for side in old new; do
    bin=$OLD; [ $side = new ] && bin=$NEW
    out="$WORK/$side/$name"; rm -rf "$out"; mkdir -p "$out"
    # shellcheck disable=SC2086
    (cd "$out" && "$bin" ${cmd//OUT/$out} >"$out/stdout.txt" 2>"$out/stderr.txt"; echo $? >"$out/exit")
  done
  for f in exit report.json scores.csv segments.csv features.csv levels.csv model.json stdout.txt; do
    a="$WORK/old/$name/$f"; b="$WORK/new/$name/$f"
    [ -f "$a" ] || [ -f "$b" ] || continue
    if [ "$f" = stdout.txt ] && ! grep -q -- '--json' <<<"$cmd"; then continue; fi
    if cmp -s "$a" "$b"; then echo "same     $name/$f"; else echo "DIFFERS  $name/$f"; status=1; fi
  done
done
exit $status

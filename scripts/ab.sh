#!/usr/bin/env bash
# Alternating A/B timing of two commands: runs A and B in turn N times and
# prints each run's wall seconds and peak MiB, then the medians. Use it to
# compare two builds on a noisy machine (compare within one run only).
# Usage: scripts/ab.sh N 'command A' 'command B'
set -euo pipefail
N="$1"; A="$2"; B="$3"
run() {
  local log; log=$(mktemp)
  /usr/bin/time -f '%e %M' bash -c "$1" >/dev/null 2>"$log" || { cat "$log" >&2; exit 1; }
  tail -1 "$log"; rm -f "$log"
}
wa=(); wb=()
for i in $(seq "$N"); do
  read -r ta ma < <(run "$A"); read -r tb mb < <(run "$B")
  printf 'run %2d  A %6.2f s %5d MiB   B %6.2f s %5d MiB\n' "$i" "$ta" $((ma/1024)) "$tb" $((mb/1024))
  wa+=("$ta"); wb+=("$tb")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
echo "median A $(median "${wa[@]}") s, B $(median "${wb[@]}") s"

#!/usr/bin/env bash
# Loopback load on `journeymap serve` (benches/serve.rs): 100k users' lists,
# 100k requests paced at 1,000/s (latency from the scheduled send time),
# then 100k unpaced (throughput); the server's RSS. Takes ~2 minutes.
#   scripts/bench_serve.sh                      # defaults
#   JOURNEYMAP_SERVE_REQUESTS=20000 scripts/bench_serve.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/journeymap-target}
cargo build --release --quiet
cargo bench --quiet --bench serve

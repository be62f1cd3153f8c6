#!/usr/bin/env bash
# Builds both functions' release binaries and prints their size and cold start (process start
# to the first Runtime API request, median of 7 starts). Figures: docs/benchmarks-lambda.md.
# Extra arguments go to scripts/lambda_cold_start.py (--runs N, --bin-dir DIR).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

cargo build --release --bin generate --bin telemetry-writer
target="${CARGO_TARGET_DIR:-target}"
python3 scripts/lambda_cold_start.py --bin-dir "$target/release" "$@"

#!/usr/bin/env bash
# The full test suite on a fresh machine: installs the local tools, starts the local stack
# (moto, SecantusDB) on free ports, runs every test of the workspace against it, checks the
# SAM template, and stops the stack by PID whatever happens. Any failure, the template check
# included, fails the run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

scripts/bootstrap.sh
trap 'scripts/stack.sh stop' EXIT
scripts/stack.sh start
# shellcheck disable=SC1091
source .stack/env
export PATH="$root/.venv/bin:$PATH"

# The function binaries that tests/tests/lambda_emulator.rs runs under cargo-lambda's Runtime
# API emulator, built first because a test cannot build while `cargo test` holds the target
# directory. Built together with the tests so both share one feature set: `--bin` alone would
# leave out the dev-dependencies' features and compile the dependency graph a second time. Dev
# profile: a release build of both would add minutes on two cores (docs/local-invoke.md).
cargo build --workspace --bins --tests
cargo test --workspace

# The binaries as shipped: the release profile (size optimisation, fat LTO, no overflow
# checks) is not the one the tests above ran, so the emulator test runs on it too. Selected
# with `--workspace`, the test keeps the feature set it was built with above; `-p` alone
# would rebuild the test dependencies.
cargo build --release --bin generate --bin telemetry-writer
PACKFORGE_LAMBDA_PROFILE=release cargo test --workspace --test lambda_emulator
scripts/check-template.sh

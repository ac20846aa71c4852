#!/usr/bin/env bash
# Runs every test of novac on a fresh machine: installs what it needs
# (a Python venv with the reference implementation, pytest and maturin),
# then lint, unit, snapshot, property, conformance and differential tests,
# the reference re-run that proves the checked-in expectations current, and
# the Python bindings' tests.
#
# Usage: scripts/test.sh            (from the repository root)
# Environment: NOVAC_VENV (default .venv), CARGO_TEST_ARGS (extra args).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
venv=${NOVAC_VENV:-$root/.venv}

steps=0
step() { steps=$((steps + 1)); printf '\n==> %s\n' "$*"; }

step "Python venv with the reference implementation ($venv)"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
export NOVAC_PYTHON="$venv/bin/python"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (deny warnings)"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "cargo test (unit, doc, snapshot, property, conformance)"
cargo test --workspace --quiet ${CARGO_TEST_ARGS:-}

step "differential: reference expectations are current"
"$venv/bin/python" scripts/reference/check_current.py

step "Python bindings (maturin develop + pytest)"
bindings/python/test.sh "$venv"

step "novac check on the public rules and our rulesets"
if [ -d ../shared/corpus/nova-rules ]; then
    cargo run --quiet -p novac-cli -- check ../shared/corpus/nova-rules > /dev/null
    echo "public rules: clean"
else
    echo "skipping: ../shared/corpus/nova-rules is absent"
fi
cargo run --quiet -p novac-cli -- check --deny-warnings rulesets
echo "all tests passed"
echo "test steps: $steps passed, 0 failed"

#!/usr/bin/env bash
# Builds the novac wheel (target/wheels), installs it into a virtualenv and runs its tests.
#
# Usage: bindings/python/test.sh VENV [pytest arguments...]
#   VENV is created when missing; maturin and pytest are installed into it.
#   The differential tests also need nova-hunting==0.3.1 in VENV (else they
#   are skipped with a message).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${1:?usage: bindings/python/test.sh VENV [pytest arguments...]}"
shift
case "$venv" in /*) ;; *) venv="$PWD/$venv" ;; esac

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
py="$venv/bin/python"
# pyarrow: Rules.scan_arrow's tests (tests/test_arrow.py; a 40 MB wheel, seconds).
"$py" -m pip install --quiet --disable-pip-version-check "maturin>=1.5,<2" "pytest>=7" "pyarrow>=14"

cd "$root"
# One release wheel (abi3, with the native MiniLM and LLM judges), built
# once: installed here and, by scripts/test.sh, into a fresh venv.
echo "==> maturin build --release (novac Python bindings) + pip install the wheel"
start=$(date +%s)
rm -f "$root"/target/wheels/novac-*.whl
"$venv/bin/maturin" build --release --quiet -i "$py" -m bindings/python/Cargo.toml -o "$root/target/wheels"
"$py" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$root"/target/wheels/novac-*.whl
echo "    built and installed in $(( $(date +%s) - start ))s"

echo "==> pytest bindings/python/tests"
exec "$py" -m pytest bindings/python/tests -q "$@"

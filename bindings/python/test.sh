#!/usr/bin/env bash
# Builds the novac Python package into a virtualenv and runs its tests.
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
"$py" -m pip install --quiet --disable-pip-version-check "maturin>=1.5,<2" "pytest>=7"

cd "$root"
echo "==> maturin develop --release (novac Python bindings)"
start=$(date +%s)
VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" "$venv/bin/maturin" develop --release --quiet \
    -m bindings/python/Cargo.toml
echo "    built in $(( $(date +%s) - start ))s"

echo "==> pytest bindings/python/tests"
exec "$py" -m pytest bindings/python/tests -q "$@"

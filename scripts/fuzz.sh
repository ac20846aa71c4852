#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/fuzz_targets/ for a bounded time and
# prints how many executions each ran. Fails (exit 1) if any target finds a
# crash, a timeout or an out-of-memory input; the input is left in
# fuzz/artifacts/<target>/ (turn it into a regression test, see fuzz/README.md).
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   (default 60, all targets)
# Environment: FUZZ_JOBS (parallel targets, default 1), FUZZ_NICE (nice level, default 10),
# CARGO_TARGET_DIR (honoured: the binaries are looked for there).
#
# cargo-fuzz needs nightly compiler flags (-Zsanitizer); on a stable
# toolchain RUSTC_BOOTSTRAP=1 unlocks them. cargo-fuzz itself is installed
# with `cargo install --locked cargo-fuzz` when it is missing (~2 min).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-60}
shift || true
export RUSTC_BOOTSTRAP=1
nice_level=${FUZZ_NICE:-10}

if ! cargo fuzz --version > /dev/null 2>&1; then
    echo "installing cargo-fuzz (cargo install --locked cargo-fuzz)"
    cargo install --locked --quiet cargo-fuzz
fi

if [ $# -gt 0 ]; then
    targets=("$@")
else
    targets=()
    for f in fuzz_targets/*.rs; do targets+=("$(basename "$f" .rs)"); done
fi

echo "building ${#targets[@]} fuzz target(s): ${targets[*]}"
nice -n "$nice_level" cargo fuzz build -O
# The fuzz workspace's target directory (CARGO_TARGET_DIR when set, else
# fuzz/target), as cargo itself resolves it.
target_dir=$(cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
bin=$target_dir/$(rustc -vV | sed -n 's/^host: //p')/release
if [ ! -d "$bin" ]; then
    echo "fuzz binaries not found in $bin" >&2
    exit 2
fi

failed=0
summary=()
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    # Seed the corpus from the checked-in seeds (fuzz/seeds/<target>), if any.
    if [ -d "seeds/$t" ]; then cp -n seeds/"$t"/* "corpus/$t/" 2>/dev/null || true; fi
    log=$(mktemp)
    # A Unicode-heavy dictionary (fuzz/dict/): the target's own, else the shared one.
    dict=dict/$t.dict
    [ -f "$dict" ] || dict=dict/nova.dict
    dict_arg=()
    [ -f "$dict" ] && dict_arg=(-dict="$dict")
    echo "==> fuzz $t for ${seconds}s${dict_arg:+ with $dict}"
    set +e
    nice -n "$nice_level" "$bin/$t" "corpus/$t" "${dict_arg[@]}" \
        -artifact_prefix="artifacts/$t/" -max_total_time="$seconds" \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 > "$log" 2>&1
    rc=$?
    set -e
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    if [ $rc -ne 0 ]; then
        failed=1
        echo "FAILED: $t (exit $rc) after $runs executions; last lines:"
        tail -n 40 "$log"
        summary+=("$t: FAILED after $runs executions (see fuzz/artifacts/$t/)")
    else
        summary+=("$t: $runs executions in ${seconds}s, no crash")
    fi
    rm -f "$log"
done
echo
echo "fuzz summary:"
printf '  %s\n' "${summary[@]}"
exit $failed

#!/usr/bin/env bash
# Does `novac scan --profile` cost anything when it is off?
#
# Builds the `scanloop` example (benches/examples/scanloop.rs) twice: from
# BASE (a commit before the profiling hooks, default: the parent of the
# commit that added crates/novac/src/profile.rs) and from the work tree, then
# counts the instructions of the timed scan passes under callgrind (exact and
# repeatable on a busy machine, unlike wall-clock time) and times a few
# alternating runs of each. The hooks are compiled in but off in the second
# build: the figures should agree within noise.
#
# Usage: scripts/bench/profile_overhead.sh [BASE] [WORKLOAD] [PASSES]
#   WORKLOAD: gen_1000 (default), gen_100, public_en, ...; PASSES default 1.
# Needs valgrind; the workloads are exported to target/bench-data first.
# Takes ~10 minutes on 2 cores (two release builds of the engine).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BASE=${1:-$(git log --diff-filter=A --format=%H -- crates/novac/src/profile.rs | tail -1)^}
WORKLOAD=${2:-gen_1000}
PASSES=${3:-1}
DATA=$ROOT/target/bench-data
OUT=$ROOT/target/profile-overhead
mkdir -p "$OUT"

if [ ! -f "$DATA/manifest.json" ]; then
    cargo run --release -q -p novac-benches --example export -- "$DATA"
fi

# The base tree, as files (no git worktree), built into this tree's target
# folder: the dependencies are shared, the workspace crates are built apart.
rm -rf "$OUT/base"
mkdir -p "$OUT/base"
git archive "$BASE" | tar -x -C "$OUT/base"
(cd "$OUT/base" && CARGO_TARGET_DIR=$ROOT/target cargo build --release -q -p novac-benches --example scanloop)
cp target/release/examples/scanloop "$OUT/scanloop-base"
cargo build --release -q -p novac-benches --example scanloop
cp target/release/examples/scanloop "$OUT/scanloop-head"

count() {
    valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.$1" \
        --toggle-collect='scanloop::timed_pass*' "$OUT/scanloop-$1" "$DATA" "$WORKLOAD" "$PASSES" \
        >/dev/null 2>"$OUT/cg.$1.log"
    grep -Eo 'Collected : [0-9]+' "$OUT/cg.$1.log" | grep -Eo '[0-9]+'
}
base_ir=$(count base)
head_ir=$(count head)
echo "base $(git rev-parse --short "$BASE"): $base_ir instructions in $PASSES timed pass(es) of $WORKLOAD"
echo "head (profiling compiled in, off): $head_ir instructions"
python3 -c "print(f'difference: {($head_ir - $base_ir) / $base_ir * 100:+.2f}%')"

# Wall clock, alternating, best of 5 (noisy on a shared machine).
for run in 1 2 3 4 5; do
    for side in base head; do
        start=$(date +%s.%N)
        "$OUT/scanloop-$side" "$DATA" "$WORKLOAD" 3 >/dev/null
        end=$(date +%s.%N)
        echo "$side $(python3 -c "print(f'{($end - $start) * 1000:.0f}')")"
    done
done | sort | awk '{ if (!($1 in best) || $2 < best[$1]) best[$1] = $2 } END { for (s in best) printf "%s: best of 5 wall-clock %d ms (warm-up + 3 passes)\n", s, best[s] }'

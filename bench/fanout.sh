#!/usr/bin/env bash
# Fan-out benchmark: N independent no-op container steps,
#   container "sN" { commands = { "true" } }
# run by `flowlua run -q --jobs 2`, against the C floor measured in the same
# run: bench/floor/spawn.c spawning `/bin/sh -c true` N times, 2 at a time.
#
# Run from the repository root:   bench/fanout.sh
#   N=1000           steps
#   JOBS=2           flowlua --jobs, and the floor's parallelism
#   RUNS=10 WARMUP=2 runs per command, and untimed warm-up runs
#   LIMIT_RATIO=1.5  fail when the ratio flowlua/floor is above this
#   FLOWLUA=path     binary to measure (default .build/release/flowlua if it
#                    exists, else .build/debug/flowlua)
#   BENCH_JSON=file  keep hyperfine's JSON export there
#
# Prints the mean ms per run of each command, the ratio flowlua/floor and the
# overhead per step; exits 1 when the ratio is above LIMIT_RATIO, 2 on a
# usage error.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${N:-1000}
JOBS=${JOBS:-2}
RUNS=${RUNS:-10}
WARMUP=${WARMUP:-2}
LIMIT_RATIO=${LIMIT_RATIO:-1.5}

bench_init fanout.sh
bench_int N "$N" 1
bench_int JOBS "$JOBS" 1
bench_int RUNS "$RUNS" 2
bench_int WARMUP "$WARMUP" 0
bench_number LIMIT_RATIO "$LIMIT_RATIO"

WORKFLOW=$BENCH_TMP/fanout.lua
cat >"$WORKFLOW" <<LUA
local steps = {}
for i = 1, $N do
  steps[#steps + 1] = container("s" .. i) { commands = { "true" } }
end
workflow { name = "fanout", steps = steps }
LUA

bench_against_floor "fan-out of $N independent no-op steps" "$JOBS" \
  "flowlua run -q --jobs $JOBS fanout.lua" \
  run -q --runs-dir "$RUNS_DIR" --jobs "$JOBS" "$WORKFLOW"

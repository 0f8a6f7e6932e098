#!/usr/bin/env bash
# Chain benchmark: N dependent no-op container steps, each after the one
# before,
#   container "sN" { after = { "s(N-1)" }, commands = { "true" } }
# run by `flowlua run -q` with the default --jobs, against the C floor
# measured in the same run: bench/floor/spawn.c spawning `/bin/sh -c true`
# N times, one at a time.
#
# Run from the repository root:   bench/chain.sh
#   N=1000           steps
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
RUNS=${RUNS:-10}
WARMUP=${WARMUP:-2}
LIMIT_RATIO=${LIMIT_RATIO:-1.5}

bench_init chain.sh
bench_int N "$N" 1
bench_int RUNS "$RUNS" 2
bench_int WARMUP "$WARMUP" 0
bench_number LIMIT_RATIO "$LIMIT_RATIO"

WORKFLOW=$BENCH_TMP/chain.lua
cat >"$WORKFLOW" <<LUA
local steps = {}
for i = 1, $N do
  steps[#steps + 1] = container("s" .. i) {
    after = i > 1 and { "s" .. (i - 1) } or nil,
    commands = { "true" },
  }
end
workflow { name = "chain", steps = steps }
LUA

bench_against_floor "chain of $N dependent no-op steps" 1 \
  "flowlua run -q chain.lua (default --jobs)" \
  run -q --runs-dir "$RUNS_DIR" "$WORKFLOW"

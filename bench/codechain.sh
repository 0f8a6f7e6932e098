#!/usr/bin/env bash
# Code-step chain benchmark: N dependent code steps, each after the one
# before,
#   code "cN" { after = { "c(N-1)" },
#               run = function(ctx) ctx.vars.n = (ctx.vars.n or 0) + 1 end }
# run by `flowlua run -q`, against `flowlua check` on the same file measured
# in the same run (start-up, script and planning without running). The
# figure is the overhead per step: (run mean - check mean) / N.
#
# Run from the repository root:   bench/codechain.sh
#   N=10000          steps
#   RUNS=10 WARMUP=2 runs per command, and untimed warm-up runs
#   LIMIT_US=20      fail when the overhead per step is above this (us)
#   FLOWLUA=path     binary to measure (default .build/release/flowlua if it
#                    exists, else .build/debug/flowlua)
#   BENCH_JSON=file  keep hyperfine's JSON export there
#
# Prints the mean ms per run of each command, the ratio run/check and the
# overhead per step in us; exits 1 when that is above LIMIT_US, 2 on a usage
# error.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${N:-10000}
RUNS=${RUNS:-10}
WARMUP=${WARMUP:-2}
LIMIT_US=${LIMIT_US:-20}

bench_init codechain.sh
bench_int N "$N" 1
bench_int RUNS "$RUNS" 2
bench_int WARMUP "$WARMUP" 0
bench_number LIMIT_US "$LIMIT_US"

WORKFLOW=$BENCH_TMP/codechain.lua
cat >"$WORKFLOW" <<LUA
local steps = {}
for i = 1, $N do
  steps[#steps + 1] = code("c" .. i) {
    after = i > 1 and { "c" .. (i - 1) } or nil,
    run = function(ctx) ctx.vars.n = (ctx.vars.n or 0) + 1 end,
  }
end
workflow { name = "codechain", steps = steps }
LUA

bench_must_succeed "$FLOWLUA" check "$WORKFLOW"
bench_must_succeed "$FLOWLUA" run -q --runs-dir "$RUNS_DIR" "$WORKFLOW"

flowlua=$(bench_q "$FLOWLUA")
workflow=$(bench_q "$WORKFLOW")
bench_hyperfine "$RUNS" "$WARMUP" \
  check "$flowlua check $workflow" \
  run "$flowlua run -q --runs-dir $(bench_q "$RUNS_DIR") $workflow"

ratio=$(bench_ratio "${MEAN_MS[run]}" "${MEAN_MS[check]}")
per_step=$(awk -v r="${MEAN_MS[run]}" -v c="${MEAN_MS[check]}" -v n="$N" \
  'BEGIN { printf "%.1f", (r - c) * 1000 / n }')

echo "chain of $N code steps: $RUNS runs each ($METHOD)"
echo "binary: $FLOWLUA"
bench_row "command" "mean ms"
bench_row "flowlua check codechain.lua" "${MEAN_MS[check]}"
bench_row "flowlua run -q codechain.lua" "${MEAN_MS[run]}"
echo "ratio run/check: ${ratio}x"
echo "overhead per step: $per_step us (target: at most $LIMIT_US us)"
bench_steal_line

if bench_above "$per_step" "$LIMIT_US"; then
  echo "FAIL: each code step costs $per_step us; the target is at most $LIMIT_US us" >&2
  exit 1
fi
echo "ok: $per_step us per code step, at most $LIMIT_US us"

#!/usr/bin/env bash
# Resume benchmark: N independent container steps, each writing an output
# file,
#   container "sN" { outputs = { "out/sN.txt" }, commands = { "mkdir -p out; echo N > out/sN.txt" } }
# run once to fill the cache (untimed), then timed with
# `flowlua run -q --resume`: every step is found in the cache, its output
# checked intact and copied into the new run folder, and nothing runs. The
# baseline, measured in the same run, is `flowlua check` of the same file
# (start-up, script and planning).
#
# Run from the repository root:   bench/resume.sh
#   N=1000           steps
#   RUNS=10 WARMUP=2 runs per command, and untimed warm-up runs
#   LIMIT_MS=500     fail when the resume mean is this or more
#   FLOWLUA=path     binary to measure (default .build/release/flowlua if it
#                    exists, else .build/debug/flowlua)
#   BENCH_JSON=file  keep hyperfine's JSON export there
#
# Prints the mean ms per run of each command; exits 1 when the resume mean
# is at or above LIMIT_MS, 2 on a usage error or when a resumed run ran a
# step.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${N:-1000}
RUNS=${RUNS:-10}
WARMUP=${WARMUP:-2}
LIMIT_MS=${LIMIT_MS:-500}

bench_init resume.sh
bench_int N "$N" 1
bench_int RUNS "$RUNS" 2
bench_int WARMUP "$WARMUP" 0
bench_number LIMIT_MS "$LIMIT_MS"

WORKFLOW=$BENCH_TMP/resume.lua
cat >"$WORKFLOW" <<LUA
local steps = {}
for i = 1, $N do
  steps[#steps + 1] = container("s" .. i) {
    outputs = { "out/s" .. i .. ".txt" },
    commands = { "mkdir -p out; echo " .. i .. " > out/s" .. i .. ".txt" },
  }
end
workflow { name = "resume", steps = steps }
LUA

# The run that fills the cache, then one resumed run that must run nothing.
bench_must_succeed "$FLOWLUA" run -q --runs-dir "$RUNS_DIR" "$WORKFLOW"
if ! "$FLOWLUA" run --resume --runs-dir "$RUNS_DIR" "$WORKFLOW" >"$BENCH_TMP/resumed.out" 2>&1; then
  bench_die "the resumed run failed: $(tail -n 5 "$BENCH_TMP/resumed.out")"
fi
if grep -q "^flowlua: start " "$BENCH_TMP/resumed.out"; then
  bench_die "a resumed run ran steps; the cache missed: $(grep -m3 '^flowlua: start ' "$BENCH_TMP/resumed.out")"
fi

flowlua=$(bench_q "$FLOWLUA")
workflow=$(bench_q "$WORKFLOW")
bench_hyperfine "$RUNS" "$WARMUP" \
  check "$flowlua check $workflow" \
  resume "$flowlua run -q --resume --runs-dir $(bench_q "$RUNS_DIR") $workflow"

echo "resume of $N cached steps: $RUNS runs each ($METHOD)"
echo "binary: $FLOWLUA"
bench_row "command" "mean ms"
bench_row "flowlua check resume.lua" "${MEAN_MS[check]}"
bench_row "flowlua run -q --resume resume.lua (all $N cached)" "${MEAN_MS[resume]}"
echo "target: under $LIMIT_MS ms"
if bench_at_least "${MEAN_MS[resume]}" "$LIMIT_MS"; then
  echo "FAIL: resuming takes ${MEAN_MS[resume]} ms; the target is under $LIMIT_MS ms" >&2
  exit 1
fi
echo "ok: ${MEAN_MS[resume]} ms, under $LIMIT_MS ms"

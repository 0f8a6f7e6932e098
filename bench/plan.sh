#!/usr/bin/env bash
# Planning benchmark: a fan-out of N steps behind one root step,
#   container "root" { outputs = { "root.txt" }, commands = { "touch root.txt" } }
#   container "sN"   { inputs = { "root.txt" }, commands = { "true" } }
# checked and planned without running: `flowlua check file.lua`. Measures
# wall time (hyperfine) and peak resident memory (/usr/bin/time -f "%e %M"
# around every run), against a baseline measured in the same run: lua5.4
# executing the same script with `container` and `workflow` stubbed to
# return their table, i.e. a plain Lua loop building the N step tables.
#
# Run from the repository root:   bench/plan.sh
#   N=100000         steps behind the root
#   RUNS=5 WARMUP=1  runs per command, and untimed warm-up runs
#   LIMIT_S=2        fail when the flowlua mean is at or above this (s)
#   LIMIT_MB=300     fail when flowlua's peak RSS is at or above this (MiB)
#   FLOWLUA=path     binary to measure (default .build/release/flowlua if it
#                    exists, else .build/debug/flowlua)
#   BENCH_JSON=file  keep hyperfine's JSON export there
#
# Prints the mean wall time and the max peak RSS of each command and the
# ratios flowlua/lua5.4; exits 1 when a target is missed, 2 on a usage error.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${N:-100000}
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
LIMIT_S=${LIMIT_S:-2}
LIMIT_MB=${LIMIT_MB:-300}

bench_init plan.sh
bench_int N "$N" 1
bench_int RUNS "$RUNS" 2
bench_int WARMUP "$WARMUP" 0
bench_number LIMIT_S "$LIMIT_S"
bench_number LIMIT_MB "$LIMIT_MB"
bench_need lua5.4 "it is the baseline"
if [[ ! -x /usr/bin/time ]]; then
  bench_die "/usr/bin/time is not installed (it measures the peak RSS; Debian package 'time')"
fi
LUA=$(command -v lua5.4)

WORKFLOW=$BENCH_TMP/plan.lua
cat >"$WORKFLOW" <<LUA
local steps = {
  container "root" { outputs = { "root.txt" }, commands = { "touch root.txt" } },
}
for i = 1, $N do
  steps[#steps + 1] = container("s" .. i) { inputs = { "root.txt" }, commands = { "true" } }
end
workflow { name = "plan", steps = steps }
LUA
# The baseline: the same script, the DSL reduced to returning its table.
BASELINE=$BENCH_TMP/plan-baseline.lua
{
  cat <<'LUA'
function container(name) return function(t) t.name = name; return t end end
function workflow(t) return t end
LUA
  cat "$WORKFLOW"
} >"$BASELINE"

bench_must_succeed "$FLOWLUA" check "$WORKFLOW"
bench_must_succeed "$LUA" "$BASELINE"

# Each run appends "seconds KiB" to its command's file.
timed() {
  printf '/usr/bin/time -f %s -a -o %s' "$(bench_q '%e %M')" "$(bench_q "$BENCH_TMP/rss.$1")"
}
bench_hyperfine "$RUNS" "$WARMUP" \
  lua5.4 "$(timed lua5.4) $(bench_q "$LUA") $(bench_q "$BASELINE")" \
  flowlua "$(timed flowlua) $(bench_q "$FLOWLUA") check $(bench_q "$WORKFLOW")"

declare -A MEAN_S MAX_MB
for name in lua5.4 flowlua; do
  MEAN_S[$name]=$(awk -v ms="${MEAN_MS[$name]}" 'BEGIN { printf "%.3f", ms / 1000 }')
  # Warm-up runs count too: the peak is the largest of every run.
  MAX_MB[$name]=$(awk 'NF == 2 && $2 > max { max = $2 } END { printf "%.1f", max / 1024 }' "$BENCH_TMP/rss.$name")
done

echo "check and plan of a fan-out of $N steps: $RUNS runs each ($METHOD; peak RSS from /usr/bin/time)"
echo "binary: $FLOWLUA"
bench_row "command" "mean s" "max RSS MiB"
bench_row "lua5.4 plan-baseline.lua (plain Lua loop, same tables)" "${MEAN_S[lua5.4]}" "${MAX_MB[lua5.4]}"
bench_row "flowlua check plan.lua" "${MEAN_S[flowlua]}" "${MAX_MB[flowlua]}"
echo "ratio flowlua/lua5.4: $(bench_ratio "${MEAN_MS[flowlua]}" "${MEAN_MS[lua5.4]}")x time," \
  "$(bench_ratio "${MAX_MB[flowlua]}" "${MAX_MB[lua5.4]}")x memory"
echo "targets: under $LIMIT_S s and under $LIMIT_MB MiB"
bench_steal_line

status=0
if bench_at_least "${MEAN_S[flowlua]}" "$LIMIT_S"; then
  echo "FAIL: flowlua check takes ${MEAN_S[flowlua]} s; the target is under $LIMIT_S s" >&2
  status=1
fi
if bench_at_least "${MAX_MB[flowlua]}" "$LIMIT_MB"; then
  echo "FAIL: flowlua check peaks at ${MAX_MB[flowlua]} MiB; the target is under $LIMIT_MB MiB" >&2
  status=1
fi
if ((status == 0)); then
  echo "ok: ${MEAN_S[flowlua]} s and ${MAX_MB[flowlua]} MiB, under $LIMIT_S s and $LIMIT_MB MiB"
fi
exit "$status"

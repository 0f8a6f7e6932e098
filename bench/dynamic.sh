#!/usr/bin/env bash
# Dynamic fan-out benchmark: N steps added at run time by one code step,
#   foreach "gen" { over = function() ... 1..N end, step = function(i) return container("s" .. i) {...} end }
# against the same N steps declared in the script, measured in the same run.
# Each step is a no-op container step (`true`), run --jobs JOBS at a time.
#
# Two figures: the whole process (hyperfine, dynamic / static wall time),
# and, from the run database of one more run of each, the time from the
# generator's end to the last added step's start, against the time from the
# first static step's start to the last's, and how long the generator took
# (making the steps in Lua, reading them, checking and adding them; the
# static script's generator does nothing).
#
# Run from the repository root:   bench/dynamic.sh
#   N=10000          steps
#   JOBS=2           steps at once
#   RUNS=3 WARMUP=1  runs per command, and untimed warm-up runs
#   LIMIT_RATIO=1.2  fail when dynamic / static wall time is this or more
#   FLOWLUA=path     binary to measure (default .build/release/flowlua if it
#                    exists, else .build/debug/flowlua)
#
# Exits 1 when the ratio is at or above LIMIT_RATIO, 2 on a usage error or
# when a run fails.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${N:-10000}
JOBS=${JOBS:-2}
RUNS=${RUNS:-3}
WARMUP=${WARMUP:-1}
LIMIT_RATIO=${LIMIT_RATIO:-1.2}

bench_init dynamic.sh
bench_int N "$N" 1
bench_int JOBS "$JOBS" 1
bench_int RUNS "$RUNS" 2
bench_int WARMUP "$WARMUP" 0
bench_number LIMIT_RATIO "$LIMIT_RATIO"
bench_need python3 "reads the run database's step times"

STATIC=$BENCH_TMP/static.lua
DYNAMIC=$BENCH_TMP/dynamic.lua
cat >"$STATIC" <<LUA
local steps = { code "gen" (function() end) }
for i = 1, $N do steps[#steps + 1] = container("s" .. i) { after = { "gen" }, commands = { "true" } } end
workflow { name = "static", steps = steps }
LUA
cat >"$DYNAMIC" <<LUA
workflow { name = "dynamic", steps = {
  foreach "gen" {
    over = function() local items = {} for i = 1, $N do items[i] = i end return items end,
    step = function(i) return container("s" .. i) { commands = { "true" } } end,
  },
} }
LUA

flowlua=$(bench_q "$FLOWLUA")
runs=$(bench_q "$RUNS_DIR")
bench_must_succeed "$FLOWLUA" run -q --jobs "$JOBS" --runs-dir "$RUNS_DIR/one" "$STATIC"
bench_must_succeed "$FLOWLUA" run -q --jobs "$JOBS" --runs-dir "$RUNS_DIR/one" "$DYNAMIC"

# From the generator's end to the last step's start, in ms, of the run of
# workflow $1 in the database beside $RUNS_DIR/one (static: from the first
# step's start). Read with sqlite3: the database keeps times to the microsecond.
span() {
  python3 - "$1" "$RUNS_DIR/flowlua.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[2])
run = db.execute("SELECT id FROM run WHERE workflow = ? ORDER BY createdAt DESC LIMIT 1", (sys.argv[1],)).fetchone()[0]
gen_start, gen_end = db.execute("SELECT startedAt, finishedAt FROM step WHERE runId = ? AND name = 'gen'", (run,)).fetchone()
first, last = db.execute("SELECT MIN(startedAt), MAX(startedAt) FROM step WHERE runId = ? AND name != 'gen'", (run,)).fetchone()
begin = gen_end if sys.argv[1] == "dynamic" else first
print("%.1f ms (the generator took %.1f ms)" % ((last - begin) * 1000, (gen_end - gen_start) * 1000))
PY
}
static_span=$(span static)
dynamic_span=$(span dynamic)

bench_hyperfine "$RUNS" "$WARMUP" \
  static "$flowlua run -q --jobs $JOBS --runs-dir $runs $(bench_q "$STATIC")" \
  dynamic "$flowlua run -q --jobs $JOBS --runs-dir $runs $(bench_q "$DYNAMIC")"

ratio=$(awk -v a="${MEAN_MS[dynamic]}" -v b="${MEAN_MS[static]}" 'BEGIN { printf "%.2f", a / b }')
echo "fan-out of $N steps added at run time vs declared, --jobs $JOBS: $RUNS runs each ($METHOD)"
echo "binary: $FLOWLUA"
bench_row "command" "mean ms"
bench_row "flowlua run static.lua ($N steps declared)" "${MEAN_MS[static]}"
bench_row "flowlua run dynamic.lua ($N steps added by foreach)" "${MEAN_MS[dynamic]}"
echo "ratio dynamic/static: ${ratio}x (target: under ${LIMIT_RATIO}x)"
echo "generator's end to the last step's start: dynamic ${dynamic_span}; static, first step's start to the last's: ${static_span}"
if awk -v r="$ratio" -v l="$LIMIT_RATIO" 'BEGIN { exit !(r >= l) }'; then
  echo "FAIL: steps added at run time take ${ratio}x the declared ones; the target is under ${LIMIT_RATIO}x" >&2
  exit 1
fi
echo "ok: ${ratio}x, under ${LIMIT_RATIO}x"

#!/usr/bin/env bash
# Large outputs benchmark: one step makes N files (hard links to a pool
# made once, so that the file system's inode allocation does not drown
# what flowlua adds), and a second step lists them. Three workflows:
#   folder   outputs = { "out/" }                   the folder declared
#   list     outputs = { "out/1", ..., "out/N" }    every file declared
#   resume   the list workflow again with --resume  all from the cache
# flowlua checks each output, hashes it (SHA-256) for the cache and
# records it. The baselines, measured in the same run, are the two
# commands alone in a fresh folder (`sh -c 'cp -al ...; ls out | wc -l'`)
# and, for resume (which copies the cached outputs into its run folder),
# `cp -a` of the N files.
#
# Run from the repository root:   bench/outputs.sh
#   N=100000         files
#   RUNS=5 WARMUP=1  runs per command, and untimed warm-up runs
#   LIMIT_RATIO=2.5  fail when folder or list takes more than this times the baseline
#   FLOWLUA=path     binary to measure (default .build/release/flowlua if it
#                    exists, else .build/debug/flowlua)
#   BENCH_JSON=file  keep hyperfine's JSON export there
#
# Exits 1 when a ratio is above LIMIT_RATIO, 2 on a usage error or when a
# run fails or a resumed run runs a step.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${N:-100000}
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
LIMIT_RATIO=${LIMIT_RATIO:-2.5}

bench_init outputs.sh
bench_int N "$N" 1
bench_int RUNS "$RUNS" 2
bench_int WARMUP "$WARMUP" 0
bench_number LIMIT_RATIO "$LIMIT_RATIO"

POOL=$BENCH_TMP/pool
mkdir -p "$POOL" "$RUNS_DIR"
(cd "$POOL" && seq 1 "$N" | xargs touch)
make="cp -al $POOL out"
cat >"$BENCH_TMP/folder.lua" <<LUA
workflow { name = "folder", steps = {
  container "make" { outputs = { "out/" }, commands = { "$make" } },
  container "use" { inputs = { "out/" }, commands = { "ls out | wc -l" } },
} }
LUA
cat >"$BENCH_TMP/list.lua" <<LUA
local outs = {}
for i = 1, $N do outs[i] = "out/" .. i end
workflow { name = "list", steps = {
  container "make" { outputs = outs, commands = { "$make" } },
  container "use" { inputs = { "out/" }, commands = { "ls out | wc -l" } },
} }
LUA

bench_must_succeed "$FLOWLUA" run -q --runs-dir "$RUNS_DIR/folder" "$BENCH_TMP/folder.lua"
bench_must_succeed "$FLOWLUA" run -q --runs-dir "$RUNS_DIR/list" "$BENCH_TMP/list.lua"
if ! "$FLOWLUA" run --resume --runs-dir "$RUNS_DIR/list" "$BENCH_TMP/list.lua" >"$BENCH_TMP/resumed.out" 2>&1; then
  bench_die "the resumed run failed: $(tail -n 5 "$BENCH_TMP/resumed.out")"
fi
if grep -q "^flowlua: start " "$BENCH_TMP/resumed.out"; then
  bench_die "a resumed run ran steps; the cache missed: $(grep -m3 '^flowlua: start ' "$BENCH_TMP/resumed.out")"
fi

flowlua=$(bench_q "$FLOWLUA")
copy="sh -c $(bench_q "d=\$(mktemp -d -p $(bench_q "$RUNS_DIR")) && cp -a $POOL \$d/out")"
baseline="sh -c $(bench_q "d=\$(mktemp -d -p $(bench_q "$RUNS_DIR")) && cd \$d && $make && ls out | wc -l")"
bench_hyperfine "$RUNS" "$WARMUP" \
  commands "$baseline" \
  copy "$copy" \
  folder "$flowlua run -q --runs-dir $(bench_q "$RUNS_DIR/folder") $(bench_q "$BENCH_TMP/folder.lua")" \
  list "$flowlua run -q --runs-dir $(bench_q "$RUNS_DIR/list") $(bench_q "$BENCH_TMP/list.lua")" \
  resume "$flowlua run -q --resume --runs-dir $(bench_q "$RUNS_DIR/list") $(bench_q "$BENCH_TMP/list.lua")"

echo "a step of $N output files: $RUNS runs each ($METHOD)"
echo "binary: $FLOWLUA"
bench_row "command" "mean ms" "ratio"
bench_row "the two commands alone" "${MEAN_MS[commands]}" "1"
bench_row "cp -a of the $N files" "${MEAN_MS[copy]}" "1"
status=0
for name in folder list resume; do
  if [[ $name == resume ]]; then base=${MEAN_MS[copy]}; else base=${MEAN_MS[commands]}; fi
  ratio=$(bench_ratio "${MEAN_MS[$name]}" "$base")
  case $name in
    folder) label="flowlua run, outputs = { \"out/\" }" ;;
    list) label="flowlua run, $N outputs declared" ;;
    resume) label="flowlua run --resume of that (all cached; to cp -a)" ;;
  esac
  bench_row "$label" "${MEAN_MS[$name]}" "${ratio}x"
  if [[ $name != resume ]] && bench_above "$ratio" "$LIMIT_RATIO"; then
    echo "FAIL: $name takes ${ratio}x the commands alone; the target is at most ${LIMIT_RATIO}x" >&2
    status=1
  fi
done
bench_steal_line
if ((status == 0)); then echo "ok: folder and list at most ${LIMIT_RATIO}x the commands alone"; fi
exit "$status"

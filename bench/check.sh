#!/usr/bin/env bash
# Start-up benchmark: whole-process wall time of
#   flowlua check examples/hello/workflow.lua
# against baselines measured in the same run: /bin/true (process spawn) and
# lua5.4 -e '' (a bare Lua interpreter start).
#
# Run from the repository root:   bench/check.sh
#   FLOWLUA=path     binary to measure (default .build/release/flowlua if it
#                    exists, else .build/debug/flowlua)
#   RUNS=50 WARMUP=5 runs per command, and untimed warm-up runs
#   LIMIT_MS=50      fail when the flowlua mean is at or above this
#   BENCH_JSON=file  keep hyperfine's JSON export there
#   NO_HYPERFINE=1   use the shell loop even when hyperfine is installed
#
# Prints the mean ms per run of each command and the ratio flowlua/lua5.4;
# exits 1 when the flowlua mean is >= LIMIT_MS, 2 on a usage error.
set -euo pipefail

RUNS=${RUNS:-50}
WARMUP=${WARMUP:-5}
LIMIT_MS=${LIMIT_MS:-50}
WORKFLOW=examples/hello/workflow.lua

if [[ ! -f Package.swift || ! -f $WORKFLOW ]]; then
  echo "bench/check.sh: run it from the repository root (no $WORKFLOW here)" >&2
  exit 2
fi
if [[ -z ${FLOWLUA:-} ]]; then
  if [[ -x .build/release/flowlua ]]; then FLOWLUA=.build/release/flowlua; else FLOWLUA=.build/debug/flowlua; fi
fi
if [[ ! -x $FLOWLUA ]]; then
  echo "bench/check.sh: no flowlua binary at $FLOWLUA (build it, or set FLOWLUA)" >&2
  exit 2
fi
LUA=$(command -v lua5.4 || true)
if [[ -z $LUA ]]; then
  echo "bench/check.sh: lua5.4 is not installed (it is the baseline)" >&2
  exit 2
fi
# The command under test must itself succeed.
if ! "$FLOWLUA" check "$WORKFLOW" >/dev/null 2>&1; then
  echo "bench/check.sh: '$FLOWLUA check $WORKFLOW' fails; fix that first" >&2
  "$FLOWLUA" check "$WORKFLOW" >&2 || true
  exit 2
fi

NAMES=(true lua5.4 flowlua)
COMMANDS=("/bin/true" "$LUA -e ''" "$FLOWLUA check $WORKFLOW")
declare -A MEAN_MS

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if command -v hyperfine >/dev/null && [[ -z ${NO_HYPERFINE:-} ]]; then
  method="hyperfine $(hyperfine --version | awk '{print $2}'), --shell=none"
  json=${BENCH_JSON:-$tmp/check.json}
  args=()
  for i in "${!NAMES[@]}"; do args+=(-n "${NAMES[$i]}" "${COMMANDS[$i]}"); done
  # --shell=none: each run is one exec of the command, no shell in between.
  hyperfine --shell=none --warmup "$WARMUP" --runs "$RUNS" --style basic \
    --export-json "$json" --export-csv "$tmp/check.csv" "${args[@]}" >&2
  # CSV columns: command,mean,stddev,median,user,system,min,max (seconds).
  while IFS=, read -r name mean _; do
    MEAN_MS[$name]=$(awk -v s="$mean" 'BEGIN { printf "%.2f", s * 1000 }')
  done < <(tail -n +2 "$tmp/check.csv")
else
  method="shell loop with date +%s%N"
  run_one() {
    case $1 in
      true) /bin/true ;;
      lua5.4) "$LUA" -e '' ;;
      flowlua) "$FLOWLUA" check "$WORKFLOW" ;;
    esac >/dev/null 2>&1
  }
  for name in "${NAMES[@]}"; do
    for ((r = 0; r < WARMUP; r++)); do run_one "$name"; done
    start=$(date +%s%N)
    for ((r = 0; r < RUNS; r++)); do run_one "$name"; done
    end=$(date +%s%N)
    MEAN_MS[$name]=$(awk -v ns=$((end - start)) -v n="$RUNS" 'BEGIN { printf "%.2f", ns / n / 1e6 }')
  done
fi

echo "flowlua check start-up: $RUNS runs each ($method)"
echo "binary: $FLOWLUA"
printf '  %-56s %9s\n' "command" "mean ms"
for i in "${!NAMES[@]}"; do
  printf '  %-56s %9s\n' "${COMMANDS[$i]}" "${MEAN_MS[${NAMES[$i]}]}"
done
ratio=$(awk -v f="${MEAN_MS[flowlua]}" -v l="${MEAN_MS[lua5.4]}" 'BEGIN { printf "%.1f", (l > 0 ? f / l : 0) }')
echo "ratio flowlua/lua5.4: ${ratio}x"

if awk -v f="${MEAN_MS[flowlua]}" -v lim="$LIMIT_MS" 'BEGIN { exit !(f >= lim) }'; then
  echo "FAIL: flowlua check takes ${MEAN_MS[flowlua]} ms per run; the target is under $LIMIT_MS ms" >&2
  exit 1
fi
echo "ok: ${MEAN_MS[flowlua]} ms per run, under the $LIMIT_MS ms target"

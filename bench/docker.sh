#!/usr/bin/env bash
# Docker worker benchmark: N dependent no-op steps on a docker worker,
#   container "sN" { worker = "box", after = { "s(N-1)" }, commands = { "test -f /.dockerenv" } }
# run by `flowlua run -q`, against N bare `docker run --rm IMAGE true` one
# after the other, measured in the same run.
#
# Run from the repository root:   bench/docker.sh
#   N=10              steps (and bare runs) per timed command
#   RUNS=5 WARMUP=1   runs per command, and untimed warm-up runs
#   IMAGE=local/busybox:1
#   LIMIT_RATIO=1.15  fail when the ratio flowlua/bare is above this
#   FLOWLUA=path      binary to measure (default .build/release/flowlua if it
#                     exists, else .build/debug/flowlua)
#   BENCH_JSON=file   keep hyperfine's JSON export there
#
# Needs a Docker daemon and the image (scripts/docker.sh). Prints the mean ms
# per run of each command, the ratio and the overhead per step; exits 1 when
# the ratio is above LIMIT_RATIO, 2 on a usage error.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${N:-10}
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
IMAGE=${IMAGE:-local/busybox:1}
LIMIT_RATIO=${LIMIT_RATIO:-1.15}

bench_init docker.sh
bench_int N "$N" 1
bench_int RUNS "$RUNS" 2
bench_int WARMUP "$WARMUP" 0
bench_number LIMIT_RATIO "$LIMIT_RATIO"
bench_need docker "scripts/setup.sh installs it, scripts/docker.sh starts the daemon"
if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  bench_die "no Docker daemon or no image $IMAGE (scripts/docker.sh starts the one and builds local/busybox:1)"
fi

WORKFLOW=$BENCH_TMP/docker.lua
cat >"$WORKFLOW" <<LUA
local steps = {}
for i = 1, $N do
  steps[#steps + 1] = container("s" .. i) {
    worker = "box",
    after = i > 1 and { "s" .. (i - 1) } or nil,
    commands = { "test -f /.dockerenv" },   -- true, and only in a container
  }
end
workflow { name = "docker", workers = { box = worker.docker { image = "$IMAGE" } }, steps = steps }
LUA

BARE=$BENCH_TMP/bare.sh
cat >"$BARE" <<SH
for i in \$(seq $N); do docker run --rm $IMAGE true; done
SH

bench_must_succeed sh "$BARE"
bench_must_succeed "$FLOWLUA" run -q --runs-dir "$RUNS_DIR" "$WORKFLOW"
bench_hyperfine "$RUNS" "$WARMUP" \
  bare "sh $(bench_q "$BARE")" \
  flowlua "$(bench_q "$FLOWLUA") run -q --runs-dir $(bench_q "$RUNS_DIR") $(bench_q "$WORKFLOW")"

ratio=$(bench_ratio "${MEAN_MS[flowlua]}" "${MEAN_MS[bare]}")
per_step=$(awk -v f="${MEAN_MS[flowlua]}" -v b="${MEAN_MS[bare]}" -v n="$N" 'BEGIN { printf "%.1f", (f - b) / n }')
echo "$N dependent no-op steps on a docker worker: $RUNS runs each ($METHOD)"
echo "binary: $FLOWLUA"
bench_row "command" "mean ms"
bench_row "docker run --rm $IMAGE true, $N times" "${MEAN_MS[bare]}"
bench_row "flowlua run -q docker.lua" "${MEAN_MS[flowlua]}"
echo "ratio flowlua/bare: ${ratio}x (target: at most ${LIMIT_RATIO}x)"
echo "overhead over bare docker run: $per_step ms per step"
if bench_above "$ratio" "$LIMIT_RATIO"; then
  echo "FAIL: flowlua takes ${ratio}x bare docker run; the target is at most ${LIMIT_RATIO}x" >&2
  exit 1
fi
echo "ok: ${ratio}x bare docker run, at most ${LIMIT_RATIO}x"

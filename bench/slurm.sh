#!/usr/bin/env bash
# Slurm worker benchmark: N independent trivial steps on a slurm worker,
#   container "sN" { worker = "hpc", commands = { "true" } }
# run by `flowlua run -q`, against a shell loop that submits the same N jobs
# with `sbatch --parsable` and waits until squeue lists none of them,
# measured in the same run. Both poll every POLL seconds.
#
# Run from the repository root:   bench/slurm.sh
#   N=200             jobs per timed command
#   RUNS=3 WARMUP=0   runs per command, and untimed warm-up runs
#   POLL=0.2          seconds between polls (flowlua's poll_interval, the loop's sleep)
#   LIMIT_RATIO=1.25  fail when the ratio flowlua/loop is above this
#   FLOWLUA=path      binary to measure (default .build/release/flowlua if it
#                     exists, else .build/debug/flowlua)
#   BENCH_JSON=file   keep hyperfine's JSON export there
#
# Needs a Slurm cluster (scripts/slurm.sh starts one on loopback). Prints the
# mean s per run of each command, the ratio and the overhead per job; exits
# 1 when the ratio is above LIMIT_RATIO, 2 on a usage error.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${N:-200}
RUNS=${RUNS:-3}
WARMUP=${WARMUP:-0}
POLL=${POLL:-0.2}
LIMIT_RATIO=${LIMIT_RATIO:-1.25}

bench_init slurm.sh
bench_int N "$N" 1
bench_int RUNS "$RUNS" 2
bench_int WARMUP "$WARMUP" 0
bench_number POLL "$POLL"
bench_number LIMIT_RATIO "$LIMIT_RATIO"
bench_need sbatch "scripts/slurm.sh installs and starts a single-node cluster"
if ! sinfo -h -o %T 2>/dev/null | grep -Eq '^(idle|mixed|allocated)'; then
  bench_die "no Slurm node answers (scripts/slurm.sh starts one)"
fi

WORKFLOW=$BENCH_TMP/slurm.lua
cat >"$WORKFLOW" <<LUA
local steps = {}
for i = 1, $N do
  steps[#steps + 1] = container("s" .. i) { worker = "hpc", commands = { "true" } }
end
workflow { name = "slurm", workers = { hpc = worker.slurm { poll_interval = $POLL } }, steps = steps }
LUA

# The same jobs by hand: a batch script each, logs beside it, then a wait
# for the queue to let go of all of them.
LOOP=$BENCH_TMP/loop.sh
cat >"$LOOP" <<SH
set -e
dir=\$(mktemp -d -p "$BENCH_TMP")
ids=""
for i in \$(seq $N); do
  printf '#!/bin/sh\ntrue\n' > "\$dir/s\$i.sbatch"
  ids="\$ids,\$(sbatch --parsable --chdir="\$dir" --output="\$dir/s\$i.stdout" --error="\$dir/s\$i.stderr" "\$dir/s\$i.sbatch")"
done
while [ -n "\$(squeue -h -o %i -j "\${ids#,}" 2>/dev/null)" ]; do sleep $POLL; done
SH

bench_must_succeed sh "$LOOP"
bench_must_succeed "$FLOWLUA" run -q --runs-dir "$RUNS_DIR" "$WORKFLOW"
bench_hyperfine "$RUNS" "$WARMUP" \
  loop "sh $(bench_q "$LOOP")" \
  flowlua "$(bench_q "$FLOWLUA") run -q --runs-dir $(bench_q "$RUNS_DIR") $(bench_q "$WORKFLOW")"

ratio=$(bench_ratio "${MEAN_MS[flowlua]}" "${MEAN_MS[loop]}")
per_job=$(awk -v f="${MEAN_MS[flowlua]}" -v b="${MEAN_MS[loop]}" -v n="$N" 'BEGIN { printf "%.1f", (f - b) / n }')
echo "$N trivial steps on a slurm worker: $RUNS runs each ($METHOD)"
echo "binary: $FLOWLUA"
bench_row "command" "mean ms"
bench_row "sbatch loop of $N jobs, then wait" "${MEAN_MS[loop]}"
bench_row "flowlua run -q slurm.lua" "${MEAN_MS[flowlua]}"
echo "ratio flowlua/loop: ${ratio}x (target: at most ${LIMIT_RATIO}x)"
echo "overhead over the loop: $per_job ms per job"
if bench_above "$ratio" "$LIMIT_RATIO"; then
  echo "FAIL: flowlua takes ${ratio}x the sbatch loop; the target is at most ${LIMIT_RATIO}x" >&2
  exit 1
fi
echo "ok: ${ratio}x the sbatch loop, at most ${LIMIT_RATIO}x"

# shellcheck shell=bash
# Helpers shared by the scheduler benchmarks (fanout.sh, chain.sh,
# codechain.sh, plan.sh). Source it from a script that runs under
# `set -euo pipefail` from the repository root:
#
#   source bench/lib.sh
#   bench_init fanout.sh          # checks, picks FLOWLUA, makes BENCH_TMP
#
# After bench_init:
#   BENCH      the script's name, for messages
#   FLOWLUA    the binary to measure (.build/release/flowlua if it exists,
#              else .build/debug/flowlua; the FLOWLUA variable overrides)
#   BENCH_TMP  a temporary folder, removed on exit
#   RUNS_DIR   $BENCH_TMP/runs, for flowlua's --runs-dir
#   METHOD     how the commands are timed, for the report

# A usage error: print it and exit 2.
bench_die() {
  echo "${BENCH:-bench}: $*" >&2
  exit 2
}

bench_init() {
  BENCH=$1
  if [[ ! -f Package.swift || ! -f bench/lib.sh ]]; then
    bench_die "run it from the repository root (no bench/lib.sh here)"
  fi
  if [[ -z ${FLOWLUA:-} ]]; then
    if [[ -x .build/release/flowlua ]]; then FLOWLUA=.build/release/flowlua; else FLOWLUA=.build/debug/flowlua; fi
  fi
  if [[ ! -x $FLOWLUA ]]; then
    bench_die "no flowlua binary at $FLOWLUA (build it, or set FLOWLUA)"
  fi
  if ! command -v hyperfine >/dev/null; then
    bench_die "hyperfine is not installed (scripts/setup.sh installs it)"
  fi
  METHOD="hyperfine $(hyperfine --version | awk '{print $2}'), --shell=none"
  BENCH_TMP=$(mktemp -d)
  # Run folders pile up and are deleted only at the end (by run-all.sh when
  # it sets BENCH_GRAVE): deleting thousands of files just before a timed run
  # makes ext4 search for inodes it may reuse (recently_deleted), and that
  # would bill the harness's own cleanup to flowlua's log files.
  trap 'rm -rf "$BENCH_TMP"' EXIT
  RUNS_DIR=${BENCH_GRAVE:-$BENCH_TMP}/${BENCH%.sh}-runs
}

# bench_int NAME VALUE MIN: VALUE must be an integer >= MIN.
bench_int() {
  if [[ ! $2 =~ ^(0|[1-9][0-9]*)$ ]] || (($2 < $3)); then
    bench_die "$1 must be an integer >= $3, got '$2'"
  fi
}

# bench_number NAME VALUE: VALUE must be a non-negative number (a limit).
bench_number() {
  if [[ ! $2 =~ ^[0-9]+([.][0-9]+)?$ ]]; then
    bench_die "$1 must be a number, got '$2'"
  fi
}

# bench_need CMD WHY: exit 2 unless CMD is installed.
bench_need() {
  if ! command -v "$1" >/dev/null; then
    bench_die "$1 is not installed ($2)"
  fi
}

# Compile the C floor (bench/floor/spawn.c) into $BENCH_TMP; sets SPAWN.
bench_floor() {
  bench_need cc "it compiles the C floor"
  SPAWN=$BENCH_TMP/spawn
  if ! cc -O2 -o "$SPAWN" bench/floor/spawn.c; then
    bench_die "cannot compile bench/floor/spawn.c"
  fi
}

# bench_q WORD: WORD quoted for a hyperfine --shell=none command line, which
# is split into words like a shell would.
bench_q() {
  printf '%q' "$1"
}

# bench_must_succeed CMD...: run the command under test once; exit 2 with its
# output when it fails, so that a broken binary is not reported as slow.
bench_must_succeed() {
  if ! "$@" >"$BENCH_TMP/precheck.out" 2>&1; then
    echo "$BENCH: '$*' fails; fix that first:" >&2
    tail -n 20 "$BENCH_TMP/precheck.out" >&2
    exit 2
  fi
}

# bench_hyperfine RUNS WARMUP NAME CMD [NAME CMD ...]: time each command
# line with hyperfine (--shell=none: one exec per run, no shell) and fill
# the associative array MEAN_MS[NAME] with its mean in ms. Run folders are
# kept until the end (see bench_init). BENCH_JSON=file keeps hyperfine's
# JSON export.
declare -A MEAN_MS
bench_hyperfine() {
  local runs=$1 warmup=$2 csv=$BENCH_TMP/hyperfine.csv name mean before
  shift 2
  before=$(bench_cpu_ticks)
  local args=()
  while (($# >= 2)); do
    args+=(-n "$1" "$2")
    shift 2
  done
  if ! hyperfine --shell=none --warmup "$warmup" --runs "$runs" --style basic \
    --export-json "${BENCH_JSON:-$BENCH_TMP/hyperfine.json}" --export-csv "$csv" \
    "${args[@]}" >&2; then
    bench_die "hyperfine failed"
  fi
  # CSV columns: command,mean,stddev,median,user,system,min,max (seconds).
  while IFS=, read -r name mean _; do
    MEAN_MS[$name]=$(awk -v s="$mean" 'BEGIN { printf "%.2f", s * 1000 }')
  done < <(tail -n +2 "$csv")
  STEAL_PCT=$(bench_steal "$before" "$(bench_cpu_ticks)")
}

# The machine's CPU time so far, in ticks: "steal total" from /proc/stat
# (empty where there is none).
bench_cpu_ticks() {
  [[ -r /proc/stat ]] && awk '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i; print $9, t }' /proc/stat
}

# bench_steal BEFORE AFTER: the share of CPU time the hypervisor took for
# other guests between two bench_cpu_ticks, in percent ("?" if unknown).
bench_steal() {
  if [[ -z $1 || -z $2 ]]; then echo "?"; return; fi
  awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[2] - x[2];
    printf "%.1f", (t > 0 ? 100 * (y[1] - x[1]) / t : 0) }'
}

# The line that says how much of the machine a virtual one had while timing:
# on a crowded host the same binary measures much slower.
bench_steal_line() {
  echo "cpu time taken by the hypervisor while timing (steal): ${STEAL_PCT:-?}%"
}

# bench_ratio A B: A/B with two decimals (0 when B is 0).
bench_ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'
}

# bench_above VALUE LIMIT: true when VALUE > LIMIT (an "at most" target).
bench_above() {
  awk -v v="$1" -v l="$2" 'BEGIN { exit !(v > l) }'
}

# bench_at_least VALUE LIMIT: true when VALUE >= LIMIT (an "under" target).
bench_at_least() {
  awk -v v="$1" -v l="$2" 'BEGIN { exit !(v >= l) }'
}

# bench_row LABEL VALUE...: one aligned line of the report.
bench_row() {
  local label=$1
  shift
  printf '  %-64s' "$label"
  printf ' %12s' "$@"
  printf '\n'
}

# bench_against_floor TITLE P LABEL ARG...: the fan-out and chain report.
# Times the C floor `spawn N P` against `$FLOWLUA ARG...` (the run folders
# going to RUNS_DIR), prints the means, the ratio flowlua/floor and the
# overhead per step (LABEL names the flowlua command), and exits 1 when the
# ratio is above LIMIT_RATIO. Reads N, RUNS, WARMUP, LIMIT_RATIO.
bench_against_floor() {
  local title=$1 p=$2 label=$3 word cmd ratio per_step
  shift 3
  bench_floor
  bench_must_succeed "$SPAWN" "$N" "$p"
  bench_must_succeed "$FLOWLUA" "$@"
  cmd=$(bench_q "$FLOWLUA")
  for word in "$@"; do cmd+=" $(bench_q "$word")"; done
  # shellcheck disable=SC2153 # RUNS and WARMUP are set by the caller
  bench_hyperfine "$RUNS" "$WARMUP" floor "$(bench_q "$SPAWN") $N $p" flowlua "$cmd"

  ratio=$(bench_ratio "${MEAN_MS[flowlua]}" "${MEAN_MS[floor]}")
  per_step=$(awk -v f="${MEAN_MS[flowlua]}" -v b="${MEAN_MS[floor]}" -v n="$N" \
    'BEGIN { printf "%.1f", (f - b) * 1000 / n }')
  echo "$title: $RUNS runs each ($METHOD)"
  echo "binary: $FLOWLUA"
  bench_row "command" "mean ms"
  bench_row "spawn $N $p (C floor: /bin/sh -c true, $p at a time)" "${MEAN_MS[floor]}"
  bench_row "$label" "${MEAN_MS[flowlua]}"
  echo "ratio flowlua/floor: ${ratio}x (target: at most ${LIMIT_RATIO}x)"
  echo "overhead over the floor: $per_step us per step"
  bench_steal_line
  if bench_above "$ratio" "$LIMIT_RATIO"; then
    echo "FAIL: flowlua takes ${ratio}x the floor; the target is at most ${LIMIT_RATIO}x" >&2
    exit 1
  fi
  echo "ok: ${ratio}x the floor, at most ${LIMIT_RATIO}x"
}

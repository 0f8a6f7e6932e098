#!/usr/bin/env bash
# Runs the benchmarks one after the other and reports which met their target:
#   check.sh fanout.sh codechain.sh plan.sh chain.sh resume.sh outputs.sh dynamic.sh docker.sh slurm.sh
#
# Run from the repository root:   bench/run-all.sh [NAME ...]
#   NAME             run only these (check, fanout, codechain, plan, chain, resume, outputs, dynamic, docker, slurm)
#   Environment variables (FLOWLUA, RUNS, WARMUP, N, ...) reach every script,
#   so N=50 RUNS=2 WARMUP=0 bench/run-all.sh is a quick smoke test.
#
# Exits 0 when every benchmark met its target, 1 when one missed it, 2 when
# one could not run (usage error) or on a usage error here.
set -euo pipefail

ALL=(check fanout codechain plan chain resume outputs dynamic docker slurm)
if [[ ! -f Package.swift || ! -f bench/run-all.sh ]]; then
  echo "bench/run-all.sh: run it from the repository root" >&2
  exit 2
fi
names=("$@")
if ((${#names[@]} == 0)); then names=("${ALL[@]}"); fi
for name in "${names[@]}"; do
  if [[ ! " ${ALL[*]} " == *" $name "* ]]; then
    echo "bench/run-all.sh: no benchmark '$name' (one of: ${ALL[*]})" >&2
    exit 2
  fi
done

# Run folders of every benchmark are deleted once all have run (bench/lib.sh
# says why).
BENCH_GRAVE=$(mktemp -d)
export BENCH_GRAVE
trap 'rm -rf "$BENCH_GRAVE"' EXIT

declare -A RESULT
status=0
for name in "${names[@]}"; do
  echo "== bench/$name.sh"
  if bench/"$name".sh; then rc=0; else rc=$?; fi
  case $rc in
    0) RESULT[$name]="met" ;;
    1) RESULT[$name]="MISSED"; ((status == 2)) || status=1 ;;
    *) RESULT[$name]="ERROR (exit $rc)"; status=2 ;;
  esac
  echo
done

echo "summary:"
for name in "${names[@]}"; do
  printf '  %-16s %s\n' "$name.sh" "${RESULT[$name]}"
done
exit "$status"

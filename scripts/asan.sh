#!/usr/bin/env bash
# Builds flowlua and its tests with AddressSanitizer (in .build/asan) and
# runs the test suites with it: the layers' own suites, then the end-to-end
# suite, whose flowlua processes are sanitized too. Any AddressSanitizer
# report, from the tests or from a flowlua they started, fails it.
#
#   scripts/asan.sh              every suite
#   scripts/asan.sh FILTER       only tests matching FILTER (swift test --filter)
#
# Run scripts/setup.sh (and, for the end-to-end suite, scripts/docker.sh and
# scripts/slurm.sh) first; scripts/test.sh does.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

# gold cannot link ASan's Swift objects (an internal error): lld links them.
flags=(--build-tests --sanitize=address -Xswiftc -use-ld=lld --scratch-path .build/asan)
swift build "${flags[@]}" 2>&1 | grep -E "error|warning:|Build" || true
swift build "${flags[@]}" >/dev/null

scratch=$(mktemp -d "${TMPDIR:-/tmp}/flowlua-asan.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
chmod 755 "$scratch"
mkdir "$scratch/reports" && chmod 777 "$scratch/reports"
# Leaks are not judged (the Swift runtime keeps what it caches); every
# report goes to a file, so that one from a flowlua a test started is seen.
export ASAN_OPTIONS="detect_leaks=0:log_path=$scratch/reports/asan:suppressions=$PWD/scripts/asan.supp"

status=0
run() {
  TMPDIR=$scratch swift test --skip-build --scratch-path .build/asan "$@" || status=1
}
if (($# > 0)); then
  run --filter "$1"
else
  # Apart, as each runs alone in scripts/test.sh's time: sanitized code
  # is slower, and the suites' timing bounds assume a machine not doubly busy.
  run --filter "LuaBridgeTests|FlowModelTests|FlowStoreTests|FlowScriptTests|FlowEngineTests"
  run --filter "FlowluaTests"
fi

reports=$(grep -l "ERROR: AddressSanitizer" "$scratch"/reports/asan.* 2>/dev/null || true)
if [[ -n $reports ]]; then
  for report in $reports; do
    echo "asan.sh: AddressSanitizer report ($report):" >&2
    head -n 40 "$report" >&2
  done
  exit 1
fi
if ((status != 0)); then
  echo "asan.sh: tests failed under AddressSanitizer" >&2
  exit 1
fi
echo "asan.sh: ok, no AddressSanitizer report"

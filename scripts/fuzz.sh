#!/usr/bin/env bash
# Fuzzes the script loader (`flowlua check`'s path) with libFuzzer under
# AddressSanitizer: scripts/fuzz.sh [seconds] (default 60).
#
# Seeds are the examples and fuzz/seeds (the scripts that crashed or hung
# flowlua before); the corpus grows in .fuzz/corpus across runs. A crash, a sanitizer report, a hang (-timeout) or a blow-up
# (-rss_limit_mb) is saved in .fuzz/findings and fails the script; rerun one
# with `.fuzz/FuzzCheck .fuzz/findings/<file>`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
seconds=${1:-60}
root=$PWD

# gold cannot link ASan's Swift objects (an internal error): lld links them.
flags=(--package-path fuzz -c release --sanitize=address -Xswiftc -sanitize=fuzzer -Xswiftc -use-ld=lld
       -Xcc -fsanitize=fuzzer-no-link)
echo "fuzz: building the fuzz target (libFuzzer + ASan, release)"
swift build "${flags[@]}" 2>&1 | grep -E "error|warning:|Compiling FuzzCheck|Build" || true
binary=$(swift build "${flags[@]}" --show-bin-path)/FuzzCheck
[ -x "$binary" ] || { echo "fuzz: the fuzz target did not build" >&2; exit 2; }

mkdir -p .fuzz/corpus .fuzz/seeds .fuzz/findings .fuzz/work
ln -sf "$binary" .fuzz/FuzzCheck
for file in examples/*/workflow.lua fuzz/seeds/*.lua; do
  [ -f "$file" ] && cp "$file" ".fuzz/seeds/$(echo "$file" | tr '/' '_')"
done
before=$(ls .fuzz/findings | wc -l)

# The loader's own limits keep a script inside these: a Lua state of 512M,
# two seconds per script (FuzzCheck stops it), 2 GB for the whole process.
cd .fuzz/work
status=0
FLOWLUA_LUA_MEMORY=512M ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 \
  "$binary" ../corpus ../seeds -dict="$root/fuzz/dsl.dict" -max_total_time="$seconds" \
  -timeout=20 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
  -artifact_prefix="$root/.fuzz/findings/" 2>"$root/.fuzz/last.log" || status=$?
cd "$root"
grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|^#[0-9]+ *DONE" .fuzz/last.log || tail -20 .fuzz/last.log
after=$(ls .fuzz/findings | wc -l)
if [ "$status" -ne 0 ] || [ "$after" -gt "$before" ]; then
  echo "fuzz: FOUND a failure (exit $status); see .fuzz/last.log and .fuzz/findings:" >&2
  ls .fuzz/findings >&2
  grep -E "ERROR|SUMMARY|==[0-9]+==" .fuzz/last.log | head -20 >&2
  exit 1
fi
echo "fuzz: ok, $seconds s, no crash"

#!/usr/bin/env bash
# The test command: installs what is missing, builds vigil twice (normal, and ASan+UBSan for the
# unit tests) with warnings as errors, runs every test, then fuzzes the parsers of untrusted input
# briefly. Under CI=true a skipped test fails the run: CI runs as root and must exercise everything.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

jobs=$(nproc)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DVIGIL_SANITIZE=ON \
  -DVIGIL_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j "$jobs" --target unit_tests

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# The Debian package test (label deb) compiles the project a third time; .ci/run runs it as a
# step of its own.
ctest --test-dir build --output-on-failure -j "$jobs" -LE deb 2>&1 | tee "$log" || status=1
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j "$jobs" -L unit 2>&1 | tee -a "$log" || status=1

# libFuzzer on the parsers of untrusted input, briefly: a crash or a broken property fails the run.
if FUZZ_SECONDS=${FUZZ_SECONDS:-20} scripts/fuzz.sh >"$log.fuzz" 2>&1; then
  grep -E '^== |^Done [0-9]+ runs' "$log.fuzz"
else
  tail -40 "$log.fuzz"
  echo "test.sh: the fuzzer failed" >&2
  status=1
fi
rm -f "$log.fuzz"

if [[ ${CI:-} == true ]] && grep -qE '\*\*\*Skipped|Not Run|Disabled' "$log"; then
  echo "test.sh: CI=true and some tests were skipped or not run:" >&2
  grep -E '\*\*\*Skipped|Not Run|Disabled' "$log" >&2
  status=1
fi
# One closing line over both ctest runs (normal build, then the ASan+UBSan unit tests).
total=$(grep -oE 'tests failed out of [0-9]+' "$log" | awk '{n += $5} END {print n + 0}')
failed=$(grep -oE '[0-9]+ tests failed out of' "$log" | awk '{n += $1} END {print n + 0}')
skipped=$(grep -cE '\*\*\*Skipped' "$log" || true)
echo "tests: $((total - failed - skipped)) passed, $failed failed, $skipped skipped"
exit "$status"

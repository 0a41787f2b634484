#!/usr/bin/env bash
# Checks of LSIO's native core, one line per stage; stops at the first failure
# and shows the end of that stage's log.
#
#   1. unit tests        zig build test (lsio_test, then lsio_test_plan, lsio_test_reduce)
#   2. valgrind          memcheck on zig-out/bin/lsio_test, lsio_test_plan, lsio_test_reduce (leaks are errors)
#   3. UBSan             zig build test -Dsanitize=true
#   4. cross             zig build cross (macOS x86_64/aarch64, Windows x86_64/aarch64)
#   5. wine (optional)   the Windows smoke test (zig build smoke-windows) under
#                        wine64, only where wine64 is installed (apt-get install
#                        --no-install-recommends wine64); otherwise a "skip" line
#   6. fuzz-smoke        zig build fuzz-smoke: the planner fuzz target
#                        (fuzz_plan.c) on 200000 seeded random inputs, UBSan.
#                        The libFuzzer run is separate: csrc/tests/fuzz.sh
#
# Needs zig from .ci/setup (.tools/ziglang/ziglang/zig, or $ZIG); installs
# valgrind with apt-get when it is missing. Full logs: $LSIO_TEST_LOGS (default
# .zig-cache/lsio-test-logs).
set -euo pipefail
cd "$(dirname "$0")/../.."

ZIG=${ZIG:-.tools/ziglang/ziglang/zig}
LOGS=${LSIO_TEST_LOGS:-.zig-cache/lsio-test-logs}
mkdir -p "$LOGS"

if [ ! -x "$ZIG" ]; then
  echo "FAIL setup: no zig at $ZIG (run .ci/setup first)" >&2
  exit 1
fi

# valgrind first, before anything is compiled.
if ! command -v valgrind >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "installing valgrind (apt-get)" >&2
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq valgrind; } \
    >"$LOGS/apt.log" 2>&1 || { echo "FAIL setup: apt-get install valgrind (see $LOGS/apt.log)" >&2; tail -20 "$LOGS/apt.log" >&2; exit 1; }
fi

# stage NAME SUMMARY_FN CMD...: runs CMD with its output in $LOGS/NAME.log and
# prints "ok   NAME  (seconds)  summary" or "FAIL ..." plus the log's tail.
stage() {
  local name=$1 summary=$2; shift 2
  local log="$LOGS/$name.log" t0 t1 rc=0
  t0=$(date +%s.%N)
  "$@" >"$log" 2>&1 || rc=$?
  t1=$(date +%s.%N)
  local secs; secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  local what; what=$("$summary" "$log" || true)
  if [ "$rc" -ne 0 ]; then
    printf 'FAIL %-10s %6ss  exit %s  %s\n' "$name" "$secs" "$rc" "$what"
    echo "---- last lines of $log ----"
    tail -40 "$log"
    exit 1
  fi
  printf 'ok   %-10s %6ss  %s\n' "$name" "$secs" "$what"
}

# The test binaries' closing lines ("N passed, M failed"), summed (core tests
# and plan tests), plus a skip note.
sum_results() {
  tr -d '\r' <"$1" | grep -E '^[0-9]+ passed, [0-9]+ failed$' |
    awk '{ p += $1; f += $3; n++ } END { if (n) printf "%d passed, %d failed\n", p, f }'
}
tests_summary() {
  local line skip parts
  line=$(sum_results "$1")
  parts=$(tr -d '\r' <"$1" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | awk '{ printf "%s%s", sep, $1; sep = " + " }')
  skip=$(grep -E 'io_uring cases skipped$' "$1" | head -1 || true)
  echo "${line:-no result line}${parts:+ ($parts)}${skip:+ ($skip)}"
}
fuzz_summary() {
  local line
  line=$(grep -E '^fuzz-smoke: ' "$1" | tail -1)
  echo "${line:-no result line}"
}
valgrind_summary() {
  local es
  es=$(grep -oE 'ERROR SUMMARY: [0-9]+ errors' "$1" | sed 's/ERROR SUMMARY: //' | paste -sd+ | sed 's/+/ + /g')
  echo "$(tests_summary "$1"); valgrind: ${es:-no summary}"
}
cross_summary() {
  local n
  n=$(find zig-out/cross -name 'liblsio.dylib' -o -name 'lsio.dll' 2>/dev/null | wc -l)
  echo "$n of 4 targets built (x86_64/aarch64 macOS, x86_64/aarch64 Windows)"
}

# valgrind does not decode AVX-512, which a native build may use (reduce.c is
# vectorised): the valgrind binaries are built for x86-64-v3 (AVX2) into their
# own prefix, leaving zig-out/ (the native library the TS tests load) alone.
VG_PREFIX=.zig-cache/valgrind-build
valgrind_run() {
  local cpu=()
  [ "$(uname -m)" = x86_64 ] && cpu=(-Dcpu=x86_64_v3)
  "$ZIG" build -Doptimize=ReleaseFast "${cpu[@]}" --prefix "$VG_PREFIX" &&
    valgrind --error-exitcode=1 --leak-check=full "$VG_PREFIX/bin/lsio_test" &&
    LSIO_PLAN_TIMING_N=100000 valgrind --error-exitcode=1 --leak-check=full "$VG_PREFIX/bin/lsio_test_plan" &&
    valgrind --error-exitcode=1 --leak-check=full "$VG_PREFIX/bin/lsio_test_reduce"
}

stage tests    tests_summary    "$ZIG" build test
stage valgrind valgrind_summary valgrind_run
stage ubsan    tests_summary    "$ZIG" build test -Dsanitize=true
stage cross    cross_summary    "$ZIG" build cross

WINE=$(command -v wine64 || { [ -x /usr/lib/wine/wine64 ] && echo /usr/lib/wine/wine64; } || true)
wine_run() {
  "$ZIG" build smoke-windows &&
    WINEPREFIX="$PWD/.zig-cache/wineprefix" WINEDEBUG=-all timeout 600 "$WINE" zig-out/smoke/lsio_smoke.exe
}
if [ -n "$WINE" ]; then
  stage wine tests_summary wine_run
else
  printf 'skip %-10s %6s   wine64 not installed (Windows smoke test not run)\n' wine -
fi

stage fuzz-smoke fuzz_summary "$ZIG" build fuzz-smoke

# Every stage passed: the unit tests' count, in the plain form CI reads.
echo "native: $(sum_results "$LOGS/tests.log")"

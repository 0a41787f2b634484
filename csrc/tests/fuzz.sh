#!/usr/bin/env bash
# libFuzzer run of the IO planner's fuzz target (csrc/tests/fuzz_plan.c + csrc/plan.c),
# built with clang -fsanitize=fuzzer,address,undefined.
#
#   bash csrc/tests/fuzz.sh            1,000,000 executions (a few minutes)
#   bash csrc/tests/fuzz.sh --short    for CI: 100,000 executions or 20 s, whichever comes first
#   bash csrc/tests/fuzz.sh --runs N   N executions
#   bash csrc/tests/fuzz.sh CRASH...   replay saved inputs (crash-*, or any file)
#
# Installs Debian's clang and its compiler-rt (libclang-rt-<major>-dev, which
# holds libFuzzer) with apt-get when they are missing. Everything it writes
# stays out of the repository:
#   binary     $LSIO_FUZZ_DIR/lsio_fuzz_plan          (default /tmp/lsio-fuzz)
#   corpus     $LSIO_FUZZ_CORPUS                      (default /tmp/lsio-fuzz/corpus; kept between runs)
#   crashes    $LSIO_FUZZ_DIR/artifacts/crash-*       (replay: fuzz.sh FILE, or zig build fuzz-smoke -- FILE)
# Extra libFuzzer flags: LSIO_FUZZ_FLAGS="-jobs=2 -workers=2" etc.
set -euo pipefail
cd "$(dirname "$0")/../.."

DIR=${LSIO_FUZZ_DIR:-/tmp/lsio-fuzz}
CORPUS=${LSIO_FUZZ_CORPUS:-$DIR/corpus}
BIN=$DIR/lsio_fuzz_plan
mkdir -p "$DIR/artifacts" "$CORPUS"

runs=1000000 time_flag=() replay=()
while [ $# -gt 0 ]; do
  case $1 in
    --short) runs=100000; time_flag=(-max_total_time=20) ;;
    --runs) runs=$2; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) replay+=("$1") ;;
  esac
  shift
done

SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
apt_install() {
  echo "installing $* (apt-get)" >&2
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@"; } \
    >"$DIR/apt.log" 2>&1 || { echo "FAIL: apt-get install $* (see $DIR/apt.log)" >&2; tail -20 "$DIR/apt.log" >&2; exit 1; }
}

CC=${CC:-clang}
command -v "$CC" >/dev/null 2>&1 || { apt_install clang; CC=clang; }
# libFuzzer's runtime: Debian ships it in libclang-rt-<major>-dev (clang >= 14).
major=$("$CC" -dumpversion | cut -d. -f1)
fuzzer_lib() { ls "$("$CC" -print-runtime-dir 2>/dev/null)"/libclang_rt.fuzzer*.a "$("$CC" -print-resource-dir)"/lib/linux/libclang_rt.fuzzer-*.a 2>/dev/null | head -1; }
[ -n "$(fuzzer_lib)" ] || apt_install "libclang-rt-$major-dev"
[ -n "$(fuzzer_lib)" ] || { echo "FAIL: no libFuzzer runtime for $CC $major (libclang-rt-$major-dev)" >&2; exit 1; }

echo "building $BIN ($("$CC" --version | head -1))"
"$CC" -std=c11 -g -O1 -Wall -Wextra -Werror \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -Icsrc/include -Icsrc csrc/tests/fuzz_plan.c csrc/plan.c -o "$BIN"

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

if [ ${#replay[@]} -gt 0 ]; then
  exec "$BIN" "${replay[@]}"
fi

echo "fuzzing: $runs runs${time_flag:+ (or 20 s)}, corpus $CORPUS, crashes in $DIR/artifacts/"
log=$DIR/fuzz.log
rc=0
# shellcheck disable=SC2086
"$BIN" -runs="$runs" "${time_flag[@]}" -max_len=4096 -print_final_stats=1 \
  -artifact_prefix="$DIR/artifacts/" ${LSIO_FUZZ_FLAGS:-} "$CORPUS" >"$log" 2>&1 || rc=$?
grep -E '^#[0-9]+' "$log" | tail -3 || true
grep -E '^(Done|stat::)|ERROR|check failed|SUMMARY|Test unit written' "$log" || true
execs=$(grep -oE '^stat::number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")
echo "fuzz: $execs executions, exit $rc (full log: $log)"
[ "$rc" = 0 ] || tail -60 "$log"
exit "$rc"

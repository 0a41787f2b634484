#!/usr/bin/env bash
# Runs every test: the C unit tests (plain, valgrind, UBSan, cross-compile
# check), deno fmt --check, deno lint, deno doc --lint and deno publish --dry-run, and the same TypeScript test files under Deno and Bun. Prints one closing line
# "N passed, N failed" summing all of them; exits non-zero on any failure.
# Expects the toolchains that .ci/setup installs.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH" NO_COLOR=1
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
passed=0 failed=0 status=0

stage() { printf '\n== %s ==\n' "$1"; }

# Sums "N passed ... N failed" from a runner's closing line.
count() {
  local line p f
  line=$(grep -E '[0-9]+ passed.*[0-9]+ failed' "$1" | tail -n 1)
  p=$(sed -nE 's/.*[^0-9]([0-9]+) passed.*/\1/p; s/^([0-9]+) passed.*/\1/p' <<<"$line" | head -n 1)
  f=$(sed -nE 's/.*[^0-9]([0-9]+) failed.*/\1/p' <<<"$line" | head -n 1)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
  if [ -z "$line" ]; then failed=$((failed + 1)); echo "(no result line from $2)"; fi
}

stage "C unit tests (zig build test, valgrind, UBSan, cross-compile)"
bash csrc/tests/run.sh 2>&1 | tee "$log/c.txt"
[ "${PIPESTATUS[0]}" = 0 ] || status=1
count "$log/c.txt" "C tests"

stage "Format, lint, doc lint and publish dry run (deno fmt --check, deno lint, deno doc --lint, deno publish --dry-run)"
# publish --dry-run: the JSR package stays publishable (type check, slow types, file set); JSR itself is not
# reachable from our machines, so the dry run is the check.
for check in "fmt --check" "lint" "doc --lint mod.ts zarr.ts" "publish --dry-run --allow-dirty"; do
  # shellcheck disable=SC2086
  if deno $check >"$log/style.txt" 2>&1; then
    passed=$((passed + 1)); echo "deno $check: ok"
  else
    failed=$((failed + 1)); status=1; echo "deno $check: FAILED"; tail -n 40 "$log/style.txt"
  fi
done

stage "TypeScript tests (Deno)"
deno test -A --v8-flags=--expose-gc --doc tests/ mod.ts src/ ffi/ 2>&1 | tee "$log/deno.txt"
[ "${PIPESTATUS[0]}" = 0 ] || status=1
count "$log/deno.txt" "deno test"

stage "TypeScript tests (Bun: the same files through tests/_shim.ts)"
bun test --timeout 600000 tests/ 2>&1 | tee "$log/bun.txt"
[ "${PIPESTATUS[0]}" = 0 ] || status=1
# bun prints " N pass" and " N fail" on two lines.
bp=$(grep -E '^ *[0-9]+ pass$' "$log/bun.txt" | tail -n 1 | tr -dc 0-9)
bf=$(grep -E '^ *[0-9]+ fail$' "$log/bun.txt" | tail -n 1 | tr -dc 0-9)
if [ -z "$bp" ]; then echo "(no result line from bun test)"; failed=$((failed + 1)); fi
passed=$((passed + ${bp:-0}))
failed=$((failed + ${bf:-0}))

echo
echo "${passed} passed, ${failed} failed"
[ "$failed" = 0 ] || status=1
exit "$status"

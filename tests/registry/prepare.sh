#!/usr/bin/env bash
# What tests/install_test.ts needs before it starts: every npm package built
# and packed (.ci/pack → dist/tarballs/) and Verdaccio installed into
# .tools/verdaccio (pinned in tests/registry/package.json + package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/../.."
V=.tools/verdaccio
if ! cmp -s tests/registry/package-lock.json "$V/package-lock.json" || [ ! -f "$V/node_modules/verdaccio/bin/verdaccio" ]; then
  echo "[registry] installing Verdaccio into $V" >&2
  rm -rf "$V" && mkdir -p "$V"
  cp tests/registry/package.json tests/registry/package-lock.json "$V/"
  (cd "$V" && npm ci --no-audit --no-fund --loglevel=error --cache "$PWD/.npm-cache" >&2)
fi
bash .ci/pack >&2

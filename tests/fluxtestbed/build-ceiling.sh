#!/usr/bin/env bash
# Builds the benchmark's ceiling client (tests/fluxtestbed/ceiling, stdlib
# only) with the machine's Go into a cache outside the repo, keyed by the
# hash of its sources: a second run with unchanged sources returns at once.
#
# Usage: build-ceiling.sh [CACHE_DIR]   (prints the binary's path)
set -euo pipefail

src="$(cd "$(dirname "$0")/ceiling" && pwd)"
cache=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/fluxpy-testbed}
hash=$(cat "$src/go.mod" "$src"/*.go | sha256sum | cut -c1-16)
bin="$cache/ceiling-$hash/ceiling"

if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
command -v go >/dev/null || { echo "[build-ceiling] go toolchain not found: install Go >= 1.26" >&2; exit 1; }
mkdir -p "$(dirname "$bin")"
(cd "$src" && GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0 \
  go build -trimpath -o "$bin.tmp" .)
mv "$bin.tmp" "$bin"
echo "$bin"

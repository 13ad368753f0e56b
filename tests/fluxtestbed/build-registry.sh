#!/usr/bin/env bash
# Builds the CNCF distribution registry (the reference OCI registry) from its
# Go module at one pinned release, into a cache outside the repo. The image
# scanning tests push to it and fluxd scans it. A second run finds the binary
# and returns at once.
#
# Usage: build-registry.sh [CACHE_DIR]
# Env:   REGISTRY_VERSION (default v3.1.2)
set -euo pipefail

REGISTRY_VERSION=${REGISTRY_VERSION:-v3.1.2}
cache=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/fluxpy-testbed}
bin="$cache/registry-$REGISTRY_VERSION/bin"

say() { printf '[build-registry] %s\n' "$*" >&2; }

if [ -x "$bin/registry" ]; then
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || { say "go toolchain not found: install Go >= 1.26"; exit 1; }
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0
mkdir -p "$bin"
say "building registry $REGISTRY_VERSION (a few minutes on 2 cores, mostly module downloads)"
start=$(date +%s)
GOBIN="$bin.tmp" go install -trimpath -ldflags "-s -w" \
  "github.com/distribution/distribution/v3/cmd/registry@$REGISTRY_VERSION"
mv "$bin.tmp/registry" "$bin/registry"
rmdir "$bin.tmp"
say "built registry in $(( $(date +%s) - start ))s"
echo "$bin"

#!/usr/bin/env bash
# Builds Flux v2's kustomize-controller from its Go module at one pinned
# release into a cache outside the repo, with the source.toolkit.fluxcd.io
# CRDs beside it: the bench runs it as a peer of fluxd. A second run finds
# the binary and returns at once.
#
# Flux v2 needs Go 1.27 (the go command fetches that toolchain from the
# module proxy). The module replaces its `api` submodule with ./api, which
# the module zip leaves out: it is built inside a writable copy with the api
# module (downloaded separately, same version) copied in. source-controller
# cannot be built from the proxy (its dependencies are refused), so only its
# CRDs are taken; the bench serves artifacts itself.
#
# Usage: build-fluxv2.sh [CACHE_DIR]
# Env:   KUSTOMIZE_CONTROLLER_VERSION (default v1.9.6)
#        SOURCE_CONTROLLER_VERSION (default v1.9.0, the api version it requires)
set -euo pipefail

KC_VERSION=${KUSTOMIZE_CONTROLLER_VERSION:-v1.9.6}
SC_VERSION=${SOURCE_CONTROLLER_VERSION:-v1.9.0}
cache=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/fluxpy-testbed}
out="$cache/fluxv2-kc-$KC_VERSION"
bin="$out/bin"
crds="$out/crds"

say() { printf '[build-fluxv2] %s\n' "$*" >&2; }

if [ -x "$bin/kustomize-controller" ] && [ -f "$crds/.complete" ]; then
  echo "$out"
  exit 0
fi

# One build at a time (make test and make bench may both ask): wait for the
# other, then look again.
mkdir -p "$cache"
# With FLUXV2_NO_WAIT=1 (the bench, mid-run) it says so and fails instead.
exec 9>"$cache/.build-fluxv2.lock"
if [ -n "${FLUXV2_NO_WAIT:-}" ]; then
  flock -n 9 || { say "another build of kustomize-controller is still running"; exit 1; }
else
  flock 9
fi
if [ -x "$bin/kustomize-controller" ] && [ -f "$crds/.complete" ]; then
  echo "$out"
  exit 0
fi

command -v go >/dev/null || { say "go toolchain not found: install Go >= 1.26"; exit 1; }
export GOTOOLCHAIN=go1.27.3 GOFLAGS="-buildvcs=false -mod=mod" CGO_ENABLED=0

moddir() {
  go mod download -json "$1" | sed -n 's/^\s*"Dir": "\(.*\)",\?$/\1/p'
}

mkdir -p "$bin" "$crds"
if [ ! -f "$crds/.complete" ]; then
  say "downloading github.com/fluxcd/source-controller@$SC_VERSION for its CRDs"
  sc=$(moddir "github.com/fluxcd/source-controller@$SC_VERSION")
  [ -d "$sc/config/crd/bases" ] || { say "no CRDs in source-controller@$SC_VERSION"; exit 1; }
  cp "$sc"/config/crd/bases/*.yaml "$crds/"
  kcdir=$(moddir "github.com/fluxcd/kustomize-controller@$KC_VERSION")
  cp "$kcdir"/config/crd/bases/*.yaml "$crds/"
  chmod u+w "$crds"/*.yaml
  touch "$crds/.complete"
fi

if [ ! -x "$bin/kustomize-controller" ]; then
  say "downloading github.com/fluxcd/kustomize-controller@$KC_VERSION and its api module"
  kc=$(moddir "github.com/fluxcd/kustomize-controller@$KC_VERSION")
  api=$(moddir "github.com/fluxcd/kustomize-controller/api@$KC_VERSION")
  if [ -z "$kc" ] || [ -z "$api" ]; then
    say "could not download kustomize-controller@$KC_VERSION from the Go module proxy"
    exit 1
  fi
  work="$cache/build-fluxv2-kc-$KC_VERSION"
  rm -rf "$work"
  mkdir -p "$work"
  cp -r "$kc/." "$work/"
  mkdir -p "$work/api"
  cp -r "$api/." "$work/api/"
  chmod -R u+w "$work"
  cd "$work"
  say "building kustomize-controller (about 5 minutes cold on 2 cores)"
  start=$(date +%s)
  if ! go build -trimpath -ldflags "-s -w" -o "$bin/kustomize-controller.tmp" . ; then
    say "build failed; retrying with GOEXPERIMENT=nojsonv2"
    GOEXPERIMENT=nojsonv2 go build -trimpath -ldflags "-s -w" -o "$bin/kustomize-controller.tmp" .
  fi
  mv "$bin/kustomize-controller.tmp" "$bin/kustomize-controller"
  say "built kustomize-controller in $(( $(date +%s) - start ))s"
  cd /
  rm -rf "$work"
fi

echo "$out"

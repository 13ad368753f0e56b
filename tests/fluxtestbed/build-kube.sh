#!/usr/bin/env bash
# Builds the Kubernetes control-plane binaries, kubectl and kwok from the
# official Go modules of one pinned release, into a cache outside the repo.
# A second run finds the binaries and returns at once.
#
# Usage: build-kube.sh [CACHE_DIR]
# Env:   KUBE_VERSION (default v1.36.3), KWOK_VERSION (default v0.8.0)
set -euo pipefail

KUBE_VERSION=${KUBE_VERSION:-v1.36.3}
KWOK_VERSION=${KWOK_VERSION:-v0.8.0}
cache=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/fluxpy-testbed}
bin="$cache/kube-$KUBE_VERSION-kwok-$KWOK_VERSION/bin"
commands=(kube-apiserver kube-controller-manager kube-scheduler kubectl)

say() { printf '[build-kube] %s\n' "$*" >&2; }

missing=()
for c in "${commands[@]}" kwok; do
  [ -x "$bin/$c" ] || missing+=("$c")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || { say "go toolchain not found: install Go >= 1.26"; exit 1; }
# Kubernetes 1.36 needs Go 1.26; Go 1.27's encoding/json v2 breaks the API
# server's /openapi/v2, so pin the experiment off whatever toolchain is used.
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0
case "$(go env GOVERSION)" in
  go1.2[7-9]*|go1.[3-9]*) export GOEXPERIMENT=nojsonv2 ;;
esac

work="$cache/build-$KUBE_VERSION"
mkdir -p "$work" "$bin"
cd "$work"

# The k8s.io/kubernetes go.mod points its staging modules at its own tree;
# a wrapper module must replace each with the published vX.Y -> v0.Y module.
staging_version="v0.${KUBE_VERSION#v1.}"
say "resolving k8s.io/kubernetes $KUBE_VERSION (staging modules at $staging_version)"
go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" >/dev/null 2>&1 || true
gomod=$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$KUBE_VERSION.mod
if [ ! -f "$gomod" ]; then
  say "could not download k8s.io/kubernetes@$KUBE_VERSION from the Go module proxy"
  exit 1
fi
{
  echo "module fluxpy.local/kubebuild"
  echo
  echo "go 1.26.0"
  echo
  echo "require k8s.io/kubernetes $KUBE_VERSION"
  echo
  grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "$gomod" \
    | awk -v v="$staging_version" '{print "replace " $1 " => " $1 " " v}'
} > go.mod
cat > tools.go <<'GO'
//go:build tools

package kubebuild

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
say "downloading modules (go mod tidy)"
go mod tidy

for c in "${commands[@]}"; do
  if [ -x "$bin/$c" ]; then continue; fi
  say "building $c (several minutes on 2 cores)"
  start=$(date +%s)
  go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/client-go/pkg/version.gitVersion=$KUBE_VERSION" \
    -o "$bin/$c.tmp" "k8s.io/kubernetes/cmd/$c"
  mv "$bin/$c.tmp" "$bin/$c"
  say "built $c in $(( $(date +%s) - start ))s"
done

if [ ! -x "$bin/kwok" ]; then
  say "building kwok $KWOK_VERSION"
  start=$(date +%s)
  GOBIN="$work/gobin" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  mv "$work/gobin/kwok" "$bin/kwok"
  say "built kwok in $(( $(date +%s) - start ))s"
fi

echo "$bin"

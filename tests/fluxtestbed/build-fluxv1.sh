#!/usr/bin/env bash
# Builds the original Flux v1 programs, fluxctl and fluxd, from the Go module
# github.com/fluxcd/flux at one pinned release, into a cache outside the repo.
# They are the outside the conformance suite checks our fluxd and fluxctl
# against. A second run finds the binaries and returns at once.
#
# The module has replace directives, so `go install pkg@version` refuses it:
# it is built inside a writable copy of the downloaded module instead.
#
# Usage: build-fluxv1.sh [CACHE_DIR]
# Env:   FLUXV1_VERSION (default v1.25.4)
set -euo pipefail

FLUXV1_VERSION=${FLUXV1_VERSION:-v1.25.4}
cache=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/fluxpy-testbed}
bin="$cache/fluxv1-$FLUXV1_VERSION/bin"
commands=(fluxctl fluxd)

say() { printf '[build-fluxv1] %s\n' "$*" >&2; }

missing=()
for c in "${commands[@]}"; do
  [ -x "$bin/$c" ] || missing+=("$c")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || { say "go toolchain not found: install Go >= 1.26"; exit 1; }
export GOTOOLCHAIN=local GOFLAGS="-buildvcs=false -mod=mod" CGO_ENABLED=0

say "downloading github.com/fluxcd/flux@$FLUXV1_VERSION"
dir=$(go mod download -json "github.com/fluxcd/flux@$FLUXV1_VERSION" \
  | sed -n 's/^\s*"Dir": "\(.*\)",\?$/\1/p')
if [ -z "$dir" ] || [ ! -d "$dir" ]; then
  say "could not download github.com/fluxcd/flux@$FLUXV1_VERSION from the Go module proxy"
  exit 1
fi

work="$cache/build-fluxv1-$FLUXV1_VERSION"
rm -rf "$work"
mkdir -p "$work" "$bin"
cp -r "$dir/." "$work/"
chmod -R u+w "$work"
cd "$work"

# go.mod replaces github.com/fluxcd/flux/pkg/install with ./pkg/install, a
# module of its own that the module zip leaves out and the proxy does not
# serve. Only `fluxctl install` uses it (to render deploy manifests, client
# side); a stand-in with the same two names lets everything else build
# unchanged, and makes `fluxctl install` say why it cannot run.
mkdir -p pkg/install
cat > pkg/install/go.mod <<'GOMOD'
module github.com/fluxcd/flux/pkg/install

go 1.14
GOMOD
cat > pkg/install/standin.go <<'GO'
// Package install stands in for Flux v1's install templates, which the Go
// module proxy does not serve; the test bed does not run `fluxctl install`.
package install

import "errors"

type TemplateParameters struct {
	GitURL                  string
	GitBranch               string
	GitPaths                []string
	GitLabel                string
	GitUser                 string
	GitEmail                string
	GitReadOnly             bool
	ManifestGeneration      bool
	Namespace               string
	RegistryDisableScanning bool
	AddSecurityContext      bool
}

func FillInTemplates(TemplateParameters) (map[string][]byte, error) {
	return nil, errors.New("fluxctl install is not part of this test-bed build: its templates module is not served by the Go module proxy")
}
GO

version=${FLUXV1_VERSION#v}
for c in "${commands[@]}"; do
  if [ -x "$bin/$c" ]; then continue; fi
  say "building $c (a few minutes on 2 cores, mostly module downloads)"
  start=$(date +%s)
  go build -trimpath -ldflags "-s -w -X main.version=$version" -o "$bin/$c.tmp" "./cmd/$c"
  mv "$bin/$c.tmp" "$bin/$c"
  say "built $c in $(( $(date +%s) - start ))s"
done
rm -rf "$work"

echo "$bin"

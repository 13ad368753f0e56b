#!/usr/bin/env bash
# `make image`: builds deploy/Dockerfile into ghcr.io/fluxpy/fluxd:0.1.0 on
# the local Debian base (deploy/image/base.sh), with no image registry.
# BASE_IMAGE=python:3.11-slim-bookworm builds on the official image instead.
#
# A second run with unchanged sources returns in about a second: the image is
# also tagged with a digest of everything the build reads, and a present tag
# means there is nothing to do. Prints that tag on stdout.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
. "$here/engine.sh"
engine_detect || {
  echo "no container engine here (podman, or docker with a running daemon);" \
       "deploy/image/install-build-deps.sh installs podman" >&2
  exit 1
}
tag="${IMAGE:-ghcr.io/fluxpy/fluxd:0.1.0}"
base="${BASE_IMAGE:-$("$here/base.sh")}"

cd "$root"
key="$( {
  echo "$base"
  sha256sum deploy/Dockerfile .dockerignore deploy/image/requirements.txt \
    deploy/flux-account.yaml deploy/flux-secret.yaml deploy/flux-deployment.yaml \
    deploy/image/trim.sh deploy/image/check_libs.py pyproject.toml README.md
  find daemon cli common -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | sort -z | xargs -0 sha256sum
} | sha256sum | cut -c1-16)"
# Checkouts on one machine share the engine's images, so each build is also
# tagged by its sources' digest: tests run that tag, which no other checkout
# can move, while the official tag names the latest build.
src_tag="localhost/fluxd:src-$key"
if "${ENGINE[@]}" image inspect "$src_tag" >/dev/null 2>&1; then
  "${ENGINE[@]}" tag "$src_tag" "$tag"
  echo "[image] $tag is up to date ($src_tag)" >&2
  echo "$src_tag"
  exit 0
fi
echo "[image] building $tag on $base with $ENGINE_NAME" >&2
# pip trusts what this host trusts (a TLS-intercepting proxy's CA, say): the
# bundle goes in as a build secret, mounted for pip's RUN only, never a layer.
secret=()
ca="${PIP_CERT:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}"
[ -s "$ca" ] && secret=(--secret "id=pip-ca,src=$ca")
# Host network: pip in the build stage fetches the locked wheels from PyPI.
"${ENGINE[@]}" build "${ENGINE_LIMITS[@]}" --network=host "${secret[@]}" \
  --build-arg "PYTHON_IMAGE=$base" \
  --label "org.fluxpy.source-digest=$key" \
  -f deploy/Dockerfile -t "$src_tag" -t "$tag" . >&2
# Builds of earlier sources would pile up with every change: keep the newest
# few (one in use by a container stays: rmi refuses it). Earlier stages are not
# touched, they are the next build's cache.
"${ENGINE[@]}" images --filter 'reference=localhost/fluxd:src-*' --format '{{.Repository}}:{{.Tag}}' \
  | tail -n +9 | while read -r old; do "${ENGINE[@]}" rmi "$old" >/dev/null 2>&1 || true; done
echo "[image] built $tag" >&2
echo "$src_tag"

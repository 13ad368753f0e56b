#!/usr/bin/env bash
# Makes the local base image for deploy/Dockerfile from Debian packages, with
# no image registry: mmdebstrap builds a Debian 12 root filesystem holding the
# packages of deploy/image/packages.txt, and the engine imports it.
#
# The image's tag is keyed by the package list and this script, so a second
# run finds it and returns at once. Prints the tag on stdout.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/engine.sh"
engine_detect || { echo "base.sh: no container engine (podman or docker)" >&2; exit 1; }

suite=bookworm
packages="$(grep -v '^#' "$here/packages.txt" | grep -v '^$' | paste -sd, -)"
key="$(cat "$here/packages.txt" "$0" | sha256sum | cut -c1-12)"
tag="localhost/fluxd-base:$suite-$key"

if "${ENGINE[@]}" image inspect "$tag" >/dev/null 2>&1; then
  echo "$tag"
  exit 0
fi
command -v mmdebstrap >/dev/null || { echo "base.sh: mmdebstrap is missing: run deploy/image/install-build-deps.sh" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/fluxd-base.XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo "[image] making $tag from Debian $suite: $packages" >&2
# Security and point-release updates too: the base carries ssh and Python.
# No recommended packages (they would bring Perl and X11 helpers), no docs,
# man pages or locales (copyright files stay), no apt lists.
# merged-/usr made by mmdebstrap's hook, not by the usrmerge package (Perl).
mmdebstrap --quiet --variant=minbase --include="$packages" \
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
  --aptopt='Acquire::Languages "none"' --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/log/*.log' \
  "$suite" "$work/rootfs.tar" \
  "deb http://deb.debian.org/debian $suite main" \
  "deb http://deb.debian.org/debian $suite-updates main" \
  "deb http://deb.debian.org/debian-security $suite-security main" >&2
"${ENGINE[@]}" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/bash"]' \
  "$work/rootfs.tar" "$tag" >/dev/null
echo "$tag"

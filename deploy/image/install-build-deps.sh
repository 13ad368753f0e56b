#!/usr/bin/env bash
# Installs what `make image` needs, if missing: podman with the runc runtime
# (crun cannot start containers on hosts with hybrid cgroups), and mmdebstrap,
# which makes the base image from Debian packages. A host whose Docker daemon
# answers needs only mmdebstrap.
set -euo pipefail
need=()
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
[ ${#need[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "[image-deps] installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >&2

#!/usr/bin/env bash
# Sourced by the image scripts: picks the container engine and the options
# it needs on this kind of host.
#
# Podman first (it needs no daemon); Docker when its daemon answers.
# FLUXD_IMAGE_ENGINE=podman|docker forces one.
#
# Podman runs with runc: crun cannot create containers on hosts with hybrid
# (v1 + v2) cgroups. Explicit, modest ulimits: a sandbox that refuses to raise
# resource limits makes the engine's default (raise to the hard maximum) fail.
engine_detect() {
  local want="${FLUXD_IMAGE_ENGINE:-}"
  if [ "$want" != docker ] && command -v podman >/dev/null; then
    ENGINE=(podman)
    command -v runc >/dev/null && ENGINE+=(--runtime runc)
    ENGINE_NAME=podman
  elif [ "$want" != podman ] && command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    ENGINE=(docker)
    ENGINE_NAME=docker
  else
    return 1
  fi
  ENGINE_LIMITS=(--ulimit nofile=1024:4096 --ulimit nproc=1024:2048)
}

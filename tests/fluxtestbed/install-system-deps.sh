#!/usr/bin/env bash
# Installs the Debian packages the test bed runs, if they are missing:
# etcd (etcd-server), OpenSSH's sshd (openssh-server), ssh client, git, openssl,
# and chromium, the browser the status page's end-to-end tests drive headless.
set -euo pipefail
need=()
command -v etcd >/dev/null || [ -x /usr/bin/etcd ] || need+=(etcd-server)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null || need+=(openssh-client)
command -v git >/dev/null || need+=(git)
command -v openssl >/dev/null || need+=(openssl)
command -v chromium >/dev/null || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "[system-deps] installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
# Debian starts services on install; the test bed runs its own on loopback.
printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
$sudo chmod +x /usr/sbin/policy-rc.d
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
$sudo rm -f /usr/sbin/policy-rc.d

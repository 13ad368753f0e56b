#!/bin/sh
# Run by deploy/Dockerfile in the runtime root, before the final stage copies
# that root into an empty image: removes what only installs or administers
# packages, logs users in or manages disks. fluxd runs Python from its venv,
# `ssh` and tini; a read-only root never installs anything.
#
# Packages go by their dpkg file lists, without their maintainer scripts (which
# need the Perl and debconf removed with them). Their entries leave dpkg's
# status too, so that a scanner reading it sees what the image holds. The
# shell (dash) and coreutils stay: `kubectl exec` into the pod still works.
# Works on both bases: a package that is not installed is skipped.
set -eu

drop="
  apt libapt-pkg6.0 gpgv debian-archive-keyring debconf adduser perl-base
  dpkg tar gzip bash findutils grep sed diffutils mawk ncurses-bin hostname
  login passwd libpam-modules libpam-modules-bin libpam-runtime libpam0g
  libsemanage2 libsemanage-common libsepol2 libaudit1 libaudit-common
  libcap-ng0 util-linux util-linux-extra mount bsdutils libsmartcols1
  libmount1 libblkid1 e2fsprogs libext2fs2 libss2 logsave sysvinit-utils
  init-system-helpers libsystemd0 libgcrypt20 libgpg-error0 liblz4-1
  libxxhash0 libseccomp2 libgnutls30 libhogweed6 libnettle8 libp11-kit0
  libtasn1-6 libidn2-0 libunistring2 libdebconfclient0 base-passwd
  python3-venv python3.11-venv python3-pip-whl python3-setuptools-whl
  python3-distutils python3-lib2to3
"
info=/var/lib/dpkg/info
gone=""
for pkg in $drop; do
  for list in "$info/$pkg.list" "$info/$pkg:amd64.list" "$info/$pkg:arm64.list"; do
    [ -f "$list" ] || continue
    gone="$gone $pkg"
    # Only files and symlinks: directories are shared (and with merged /usr,
    # /bin is a symlink to one, which -d follows, so it stays).
    while IFS= read -r path; do
      [ -d "$path" ] || rm -f "$path"
    done <"$list"
    base="${list##*/}"
    rm -f "$info/${base%.list}".*
  done
done

# dpkg's status without the removed packages: paragraphs are separated by
# blank lines. Python, because awk and sed were among them.
python3 - "$gone" <<'EOF'
import sys
gone = set(sys.argv[1].split())
path = "/var/lib/dpkg/status"
with open(path, encoding="utf-8") as f:
    paragraphs = f.read().split("\n\n")
keep = [p for p in paragraphs if p.strip() and p.split("\n", 1)[0].split(": ", 1)[1] not in gone]
with open(path, "w", encoding="utf-8") as f:
    f.write("\n\n".join(keep) + "\n")
EOF

# glibc's iconv modules (nothing here calls iconv: Python has its own codecs),
# package caches, logs, and dpkg's backups of its own database. Copyright
# files under /usr/share/doc stay.
rm -rf /usr/lib/*-linux-gnu/gconv /var/cache/debconf /var/cache/apt /var/lib/apt \
  /var/log/* /var/lib/dpkg/*-old /var/lib/dpkg/available \
  /usr/share/man /usr/share/info /usr/share/lintian /usr/share/bash-completion

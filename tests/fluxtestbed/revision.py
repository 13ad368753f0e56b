"""Which code a recorded figure measured: the checkout's commit."""

from __future__ import annotations

import subprocess

from fluxtestbed.fluxd_host import ROOT


def code_revision() -> str:
    """The short commit id, marked when tracked files differ from it."""
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        return "unknown"
    changed = subprocess.run(
        [*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
    ).stdout.strip()
    return head.stdout.strip() + (" with uncommitted changes" if changed else "")

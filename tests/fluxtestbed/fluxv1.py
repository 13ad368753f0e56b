"""Flux v1's own programs (fluxctl, fluxd 1.25.4): the outside our API must match.

Built once from the pinned Go module by build-fluxv1.sh and cached, as the
Kubernetes binaries are; ``FLUXPY_FLUXV1_BIN_DIR`` points to a directory of
existing ones instead. ``Pair`` runs one command line with Flux v1's fluxctl
and ours against the same installation.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from fluxtestbed.procs import TestbedError, built_bin_dir
from fluxtestbed.scenario import Installation

HERE = Path(__file__).resolve().parent
VERSION = "1.25.4"


@dataclass(frozen=True)
class FluxV1Binaries:
    fluxctl: Path
    fluxd: Path


def find_fluxv1_binaries() -> FluxV1Binaries:
    """Locate (or build once) Flux v1's fluxctl and fluxd."""
    bin_dir = built_bin_dir(
        HERE / "build-fluxv1.sh",
        override="FLUXPY_FLUXV1_BIN_DIR",
        what="Flux v1's binaries",
        env={"FLUXV1_VERSION": f"v{VERSION}"},
    )
    found = FluxV1Binaries(fluxctl=bin_dir / "fluxctl", fluxd=bin_dir / "fluxd")
    missing = [str(p) for p in vars(found).values() if not p.exists()]
    if missing:
        raise TestbedError(
            "missing binaries: " + ", ".join(missing) + " (run 'make fluxv1-binaries')"
        )
    return found


Result = subprocess.CompletedProcess[str]

#: Fewer tries than this and a listing that keeps changing fails the test.
SETTLE_TRIES = 5


@dataclass
class Pair:
    """Runs one fluxctl command line with Flux v1's fluxctl (``go``) and ours."""

    inst: Installation
    go_exe: Path

    def go(self, *args: str, timeout: float = 120) -> Result:
        return self.inst.fluxctl(*args, exe=self.go_exe, timeout=timeout)

    def ours(self, *args: str, timeout: float = 120) -> Result:
        return self.inst.fluxctl(*args, timeout=timeout)

    def settled(self, *args: str) -> tuple[Result, Result]:
        """Both answers, taken while the cluster did not change in between.

        A listing is compared only when Flux v1's fluxctl printed the same
        before and after ours ran; otherwise a rollout moved on, and we ask again.
        """
        for _ in range(SETTLE_TRIES):
            before, ours, after = self.go(*args), self.ours(*args), self.go(*args)
            if _same(before, after):
                return before, ours
        raise AssertionError(f"fluxctl {' '.join(args)} kept changing: {before} / {after}")


def _same(a: Result, b: Result) -> bool:
    return (a.returncode, a.stdout, a.stderr) == (b.returncode, b.stdout, b.stderr)

"""`make demo` keeps working: it is run here as a newcomer runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.cluster, pytest.mark.gitserver, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_runs_the_walkthrough_to_the_end() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "fluxtestbed.demo"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "tests")},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    text = out.stdout
    for line in (
        "$ fluxctl identity --k8s-fwd-ns flux",
        "$ fluxctl sync --k8s-fwd-ns flux",
        "Done.",
        "nginx:1.16.1",
        "Demo complete",
    ):
        assert line in text
    assert text.count("1/1     Running") >= 3

"""What deploy/Dockerfile relies on, checked without a container engine
(tests/integration/test_image.py checks the built image).

The image builds the project's wheel, installs it into a clean Python and runs
``fluxd``. Here the same steps run on this machine: build the wheel, install it
into a fresh virtual environment (dependencies from PyPI or pip's cache), and
run both entry points from outside the source tree.
"""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from fluxd import __version__

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done


def _copied_sources() -> list[str]:
    """Build-context paths of the Dockerfile's COPY lines (not those --from a stage)."""
    sources: list[str] = []
    for line in DOCKERFILE.read_text().splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            sources += words[1:-1]
    return sources


def _ignored(path: str) -> bool:
    """Whether .dockerignore leaves ``path`` out of the build context (last match wins)."""
    ignored = False
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        rule = raw.strip()
        if not rule or rule.startswith("#"):
            continue
        negate = rule.startswith("!")
        pattern = rule.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(path, pattern.replace("**/", "")):
            ignored = not negate
    return ignored


def test_everything_the_dockerfile_copies_is_in_the_build_context() -> None:
    sources = _copied_sources()
    assert sources, "no COPY lines found"
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not _ignored(source.rstrip("/")), f"{source} is excluded by .dockerignore"
    assert _ignored(".venv") and _ignored(".git") and _ignored("tests")


def test_the_dockerfile_runs_fluxd_as_the_deployments_user_with_ssh() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11|PYTHON_IMAGE=python:3\.11-slim", text, re.MULTILINE)
    assert "openssh-client" in text
    assert re.search(r"^USER 10001", text, re.MULTILINE)
    assert re.search(r'^ENTRYPOINT \["tini", "--", "fluxd"\]', text, re.MULTILINE)
    assert "tini" in (ROOT / "deploy" / "image" / "packages.txt").read_text()
    assert re.search(r"^EXPOSE 3030 3031$", text, re.MULTILINE)


@pytest.mark.slow
def test_the_wheel_installs_into_a_fresh_venv_and_both_entry_points_run(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", ".", "-w", wheels, cwd=ROOT)
    (wheel,) = wheels.glob("fluxpy-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/", 1)[0] for name in archive.namelist()}
    assert {"fluxd", "fluxctl"} <= tops
    assert not {"tests", "fluxtestbed", "daemon", "cli"} & tops

    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    _run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel, cwd=tmp_path)

    # From tmp_path, so nothing can be imported from the source tree.
    fluxctl = _run(venv / "bin" / "fluxctl", "version", cwd=tmp_path)
    assert fluxctl.stdout.strip()
    fluxd = _run(venv / "bin" / "fluxd", "--version", cwd=tmp_path)
    assert __version__ in fluxd.stdout

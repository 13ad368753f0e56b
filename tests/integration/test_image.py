"""The fluxd image as built by ``make image``: what it contains and how it runs.

Needs a container engine (``make test`` installs podman); without one these
tests are skipped and tests/integration/test_image_requirements.py checks what
can be checked without it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from fluxtestbed.image import (
    LIMITS,
    LOCK,
    PROJECT,
    Engine,
    build_image,
    find_engine,
    read_lock,
)

pytestmark = [pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]

# Runs inside the image with fluxd's Python: each distribution it can import,
# with its version and declared requirements (evaluated here: the image has no
# `packaging`).
_LIST = (
    "import json; from importlib import metadata; print(json.dumps({d.metadata['Name']:"
    " [d.version, d.requires or []] for d in metadata.distributions()}))"
)


@pytest.fixture(scope="module")
def engine() -> Engine:
    found = find_engine()
    if found is None:
        pytest.skip("no container engine (podman, or docker with a daemon) on this machine")
    build_image()
    return found


def _run(engine: Engine, *args: str, entrypoint: str = "") -> str:
    opts = [f"--entrypoint={entrypoint}"] if entrypoint else []
    done = engine.run(
        "run", "--rm", *LIMITS, "--network=none", "--read-only", "--cap-drop=ALL",
        *opts, build_image(), *args, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{args} in {build_image()} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def _image_packages(engine: Engine) -> dict[str, tuple[str, list[str]]]:
    out = _run(engine, "-c", _LIST, entrypoint="/opt/fluxd/bin/python")
    return {canonicalize_name(k): (v[0], v[1]) for k, v in json.loads(out).items()}


def _needed(packages: dict[str, tuple[str, list[str]]]) -> set[str]:
    """Names the project needs at run time, by the requirements inside the image."""
    needed: set[str] = set()
    todo: list[tuple[str, frozenset[str]]] = [(PROJECT, frozenset())]
    while todo:
        name, extras = todo.pop()
        for line in packages[name][1]:
            req = Requirement(line)
            wanted = any(
                req.marker is None or req.marker.evaluate({"extra": e}) for e in (*extras, "")
            )
            dep = canonicalize_name(req.name)
            if wanted and dep not in needed:
                needed.add(dep)
                todo.append((dep, frozenset(req.extras)))
    return needed


def test_the_image_holds_exactly_the_runtime_dependencies_at_the_locked_versions(
    engine: Engine,
) -> None:
    packages = _image_packages(engine)
    assert packages[PROJECT][0] == "0.1.0"
    # Nothing more than pyproject's dependencies need (no pip, no setuptools,
    # no dev extras), nothing less.
    assert set(packages) - {PROJECT} == _needed(packages)
    locked = {canonicalize_name(k): v for k, v in read_lock().items()}
    assert {name: v[0] for name, v in packages.items() if name != PROJECT} == locked


def test_the_lock_satisfies_pyproject_and_holds_no_dev_tools() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    locked = {canonicalize_name(k): v for k, v in read_lock(LOCK).items()}
    for line in project["dependencies"]:
        req = Requirement(line)
        name = canonicalize_name(req.name)
        assert name in locked, f"{req.name} is a dependency but not in {LOCK.name}"
        assert req.specifier.contains(locked[name], prereleases=True), (req, locked[name])
    for line in project["optional-dependencies"]["dev"]:
        assert canonicalize_name(Requirement(line).name) not in locked, line


def test_ssh_runs_inside_the_image(engine: Engine) -> None:
    out = _run(engine, "-V", entrypoint="ssh")
    assert out.startswith("OpenSSH_"), out


def test_the_image_runs_as_10001_and_fluxd_starts_on_a_read_only_root(engine: Engine) -> None:
    # No --user: the image's own USER must be the Deployment's runAsUser.
    ids = _run(engine, "-c", "import os; print(os.getuid(), os.getgid())", entrypoint="python3")
    assert ids.split() == ["10001", "10001"]
    version = _run(engine, "--version")
    assert "0.1.0" in version
    inspect = engine.run("image", "inspect", build_image()).stdout
    config = json.loads(inspect)[0]["Config"]
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"][:2] == ["tini", "--"]

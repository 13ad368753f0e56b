"""The import contracts in .importlinter hold for the tree, and each one can fail.

The second half is what keeps the first honest: a contract that names a
module wrongly, or an option that turns it off, would pass forever. So a copy
of the tree gets one offending module per contract, and every contract must
then report itself broken, naming the offending import.
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".importlinter"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

# contract id -> (file added to the copy, its source, text the report must show)
VIOLATIONS: dict[str, tuple[str, str, str]] = {
    "fluxd-layers": (
        "daemon/fluxd/manifests/leak_sync.py",
        "from fluxd.sync import engine\n",
        "fluxd.manifests.leak_sync -> fluxd.sync.engine",
    ),
    "fluxd-adapters-independent": (
        "daemon/fluxd/identity/leak_cluster.py",
        "from fluxd.cluster import client\n",
        "fluxd.identity.leak_cluster -> fluxd.cluster.client",
    ),
    "kubernetes": (
        "daemon/fluxd/git/leak_kubernetes.py",
        "import kubernetes\n",
        "fluxd.git.leak_kubernetes -> kubernetes",
    ),
    "dulwich": (
        "daemon/fluxd/cluster/leak_dulwich.py",
        "import dulwich.repo\n",
        "fluxd.cluster.leak_dulwich -> dulwich",
    ),
    "urllib3": (
        "daemon/fluxd/sync/leak_urllib3.py",
        "import urllib3\n",
        "fluxd.sync.leak_urllib3 -> urllib3",
    ),
    "web-framework": (
        "daemon/fluxd/sync/leak_starlette.py",
        "import starlette.types\n",
        "fluxd.sync.leak_starlette -> starlette",
    ),
    "uvicorn": (
        "daemon/fluxd/api/leak_uvicorn.py",
        "import uvicorn\n",
        "fluxd.api.leak_uvicorn -> uvicorn",
    ),
    "pydantic": (
        "cli/fluxctl/leak_pydantic.py",
        "import pydantic\n",
        "fluxctl.leak_pydantic -> pydantic",
    ),
    "msgspec": (
        "cli/fluxctl/leak_msgspec.py",
        "import msgspec\n",
        "fluxctl.leak_msgspec -> msgspec",
    ),
    "cryptography": (
        "daemon/fluxd/identity/leak_cryptography.py",
        "import cryptography\n",
        "fluxd.identity.leak_cryptography -> cryptography",
    ),
    "websocket": (
        "cli/fluxctl/leak_websocket.py",
        "import websocket\n",
        "fluxctl.leak_websocket -> websocket",
    ),
    "orjson": (
        "daemon/fluxd/cluster/leak_orjson.py",
        "import orjson\n",
        "fluxd.cluster.leak_orjson -> orjson",
    ),
    "prometheus": (
        "daemon/fluxd/sync/leak_prometheus.py",
        "import prometheus_client\n",
        "fluxd.sync.leak_prometheus -> prometheus_client",
    ),
    "yaml": (
        "cli/fluxctl/leak_yaml.py",
        "import yaml\n",
        "fluxctl.leak_yaml -> yaml",
    ),
    "httpx": (
        "daemon/fluxd/sync/leak_httpx.py",
        "import httpx\n",
        "fluxd.sync.leak_httpx -> httpx",
    ),
    "fluxctl-without-fluxd": (
        "cli/fluxctl/leak_fluxd.py",
        "from fluxd import errors\n",
        "fluxctl.leak_fluxd -> fluxd.errors",
    ),
    "fluxids-alone": (
        "common/fluxids/leak_click.py",
        "import click\n",
        "fluxids.leak_click -> click",
    ),
    "wire-models-alone": (
        "daemon/fluxd/api/models.py",
        "from fluxd.api import port\n",
        "fluxd.api.models -> fluxd.api.port",
    ),
}


def contracts() -> dict[str, str]:
    """Contract id -> its name, as the report prints it."""
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    prefix = "importlinter:contract:"
    return {
        section.removeprefix(prefix): parser[section]["name"]
        for section in parser.sections()
        if section.startswith(prefix)
    }


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports with the real contracts on the packages under ``tree``."""
    env = {
        **os.environ,
        # Ahead of the editable install, so the copy is what gets analysed.
        "PYTHONPATH": os.pathsep.join(str(tree / root) for root in ("daemon", "cli", "common")),
    }
    return subprocess.run(
        [str(LINT_IMPORTS), str(CONFIG), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def copy_tree(destination: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("daemon/fluxd", "cli/fluxctl", "common/fluxids"):
        shutil.copytree(ROOT / package, destination / package, ignore=ignore)
    return destination


def test_every_contract_has_a_violation_that_must_break_it():
    assert set(VIOLATIONS) == set(contracts())


def test_the_tree_keeps_every_contract():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in contracts().values():
        assert f"{name} KEPT" in result.stdout


def test_each_contract_breaks_on_an_offending_import(tmp_path):
    tree = copy_tree(tmp_path)
    for path, source, _ in VIOLATIONS.values():
        with (tree / path).open("a", encoding="utf-8") as module:
            module.write(source)

    result = lint_imports(tree)

    assert result.returncode == 1, result.stdout + result.stderr
    report = result.stdout
    for contract, name in contracts().items():
        assert f"{name} BROKEN" in report, f"{contract} did not notice its violation"
        assert VIOLATIONS[contract][2] in report


def test_a_module_outside_every_layer_is_refused(tmp_path):
    tree = copy_tree(tmp_path)
    (tree / "daemon/fluxd/unplaced.py").write_text('"""Not in any layer."""\n')

    result = lint_imports(tree)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "fluxd.unplaced" in result.stdout + result.stderr

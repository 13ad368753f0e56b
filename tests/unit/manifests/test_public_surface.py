"""The package's public names, and its promise to stay free of git and cluster clients."""

from __future__ import annotations

import subprocess
import sys

import fluxd.manifests


def test_every_public_name_is_exported_and_exists() -> None:
    public = {name for name in vars(fluxd.manifests) if not name.startswith("_")}
    modules = {
        "ids",
        "limits",
        "loading",
        "marks",
        "ordering",
        "parsing",
        "planning",
        "resources",
        "yamledit",
        "yamlstream",
    }
    assert set(fluxd.manifests.__all__) == public - modules


def test_importing_the_package_loads_neither_dulwich_nor_the_kubernetes_client() -> None:
    probe = (
        "import sys, fluxd.manifests;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dulwich', 'kubernetes')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"

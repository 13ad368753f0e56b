"""deploy/'s objects as a user places them: their namespace, their git URL."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
#: The test bed reaches nothing but loopback: fluxd scans only registries on
#: 127.0.0.1 (the test bed's), never Docker Hub for the demo's nginx.
LOOPBACK_ONLY = ("--registry-include-image=127.0.0.1:*",)
DEPLOY_FILES = (
    "flux-ns.yaml",
    "flux-account.yaml",
    "flux-secret.yaml",
    "flux-deployment.yaml",
    "flux-pdb.yaml",
)


def deploy_documents(
    namespace: str, git_url: str, extra_args: Sequence[str] = (), replicas: int = 1
) -> list[dict[str, Any]]:
    """deploy/'s objects, placed in ``namespace`` with ``git_url`` as the user would set it.

    ``replicas``: deploy/ runs two, electing a leader; most tests need one
    fluxd process, so they scale the Deployment to one, as a user may.
    """
    docs: list[dict[str, Any]] = []
    for name in DEPLOY_FILES:
        docs += [d for d in yaml.safe_load_all((DEPLOY / name).read_text()) if d]
    for doc in docs:
        _place(doc, namespace)
        if doc["kind"] == "Deployment":
            container = doc["spec"]["template"]["spec"]["containers"][0]
            args = [a for a in container["args"] if not a.startswith("--git-url=")]
            container["args"] = [f"--git-url={git_url}", *args, *LOOPBACK_ONLY, *extra_args]
            doc["spec"]["replicas"] = replicas
    return docs


def _place(doc: dict[str, Any], namespace: str) -> None:
    meta = doc["metadata"]
    if doc["kind"] == "Namespace":
        meta["name"] = namespace
    elif doc["kind"] in ("ClusterRole", "ClusterRoleBinding"):
        meta["name"] = f"{meta['name']}-{namespace}" if namespace != "flux" else meta["name"]
        if doc["kind"] == "ClusterRoleBinding":
            doc["roleRef"]["name"] = meta["name"]
            for subject in doc.get("subjects", []):
                subject["namespace"] = namespace
    else:
        meta["namespace"] = namespace

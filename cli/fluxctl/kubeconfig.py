"""The kubeconfig context's namespace, read without the Kubernetes client.

Workload commands default ``--namespace`` to the context's namespace even when
``--url`` is given (as Flux v1 did). Importing the Kubernetes client just for
that would cost most of a second, so this reads the files with PyYAML,
following kubectl's merge rules for ``KUBECONFIG`` lists: the first file that
sets ``current-context`` wins, and the first definition of a context wins.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

DEFAULT_NAMESPACE = "default"
_SA_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def kubeconfig_paths() -> list[Path]:
    """The files kubectl would read, in order; only those that exist."""
    listed = os.environ.get("KUBECONFIG", "")
    names = [p for p in listed.split(os.pathsep) if p] if listed else ["~/.kube/config"]
    return [path for path in (Path(n).expanduser() for n in names) if path.is_file()]


def context_namespace(context: str = "") -> str:
    """The namespace of ``context`` (or the current one), else ``default``."""
    paths = kubeconfig_paths()
    if not paths:
        return _in_cluster_namespace() or DEFAULT_NAMESPACE
    docs = [_load(path) for path in paths]
    name = context or next((d["current-context"] for d in docs if d.get("current-context")), "")
    for doc in docs:
        for entry in doc.get("contexts") or []:
            if isinstance(entry, dict) and entry.get("name") == name:
                body = entry.get("context") or {}
                return str(body.get("namespace") or DEFAULT_NAMESPACE)
    return DEFAULT_NAMESPACE


def _load(path: Path) -> dict[str, Any]:
    # A broken kubeconfig must not stop a command that talks to --url; the
    # port-forward path reports it properly when it loads the same file.
    import yaml  # here: only commands that default a namespace read kubeconfigs

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _in_cluster_namespace() -> str:
    if not os.environ.get("KUBERNETES_SERVICE_HOST"):
        return ""
    try:
        return _SA_NAMESPACE.read_text(encoding="utf-8").strip()
    except OSError:
        return ""

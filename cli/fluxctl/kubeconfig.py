"""Kubeconfig files, read and checked without the Kubernetes client.

Two uses. Workload commands default ``--namespace`` to the context's
namespace even when ``--url`` is given (as Flux v1 did); importing the
Kubernetes client just for that would cost most of a second. And the
port-forward's context is picked and checked here (``kubeaccess`` turns it
into TLS and credentials), so that a wrong type, bad base64 or a missing
entry is reported naming the file and the field.

Files merge by kubectl's rules for ``KUBECONFIG`` lists: the first file that
sets ``current-context`` wins, and the first definition of a name wins.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fluxctl.errors import KubeconfigError
from fluxctl.params import check_api_url

DEFAULT_NAMESPACE = "default"
_SA_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
_SECTIONS = {"clusters": "cluster", "contexts": "context", "users": "user"}
# (key, PEM label): inline base64 data, and the file alternative of each.
_PEM_DATA = {
    "certificate-authority-data": "CERTIFICATE",
    "client-certificate-data": "CERTIFICATE",
    "client-key-data": "PRIVATE KEY",
}
_FILES = ("certificate-authority", "client-certificate", "client-key", "tokenFile")
_FIX = "Fix the file (kubectl config view shows what kubectl reads), or point KUBECONFIG elsewhere."


def kubeconfig_paths() -> list[Path]:
    """The files kubectl would read, in order; only those that exist."""
    listed = os.environ.get("KUBECONFIG", "")
    names = [p for p in listed.split(os.pathsep) if p] if listed else ["~/.kube/config"]
    return [path for path in (Path(n).expanduser() for n in names) if path.is_file()]


@dataclass
class Kubeconfig:
    """The merged view of the files: entries by name, and the file each came from."""

    paths: list[Path]
    current: str = ""
    entries: dict[str, dict[str, tuple[Path, dict[str, Any]]]] = field(
        default_factory=lambda: {section: {} for section in _SECTIONS}
    )

    def where(self) -> str:
        return os.pathsep.join(str(p) for p in self.paths)

    def context(self, name: str) -> tuple[Path, dict[str, Any]]:
        """The context ``name`` (the current one when empty); ``KubeconfigError`` if absent."""
        wanted = name or self.current
        if not wanted:
            raise KubeconfigError(
                f"cannot use the kubeconfig {self.where()}: it sets no current-context",
                hint="Choose one with 'kubectl config use-context NAME' or --context NAME.",
            )
        found = self.entries["contexts"].get(wanted)
        if found is None:
            how = "--context" if name else "its current-context"
            raise KubeconfigError(
                f"cannot use the kubeconfig {self.where()}: {how} {wanted!r} is not among its "
                f"contexts ({', '.join(sorted(self.entries['contexts'])) or 'none'})",
                hint="List them with 'kubectl config get-contexts' and pass one with --context.",
            )
        return found


def load_kubeconfig(paths: list[Path]) -> Kubeconfig:
    """Read and merge ``paths``; ``KubeconfigError`` names the file and field at fault."""
    merged = Kubeconfig(paths)
    for path in paths:
        doc = _read(path)
        current = doc.get("current-context")
        if current is not None and not isinstance(current, str):
            raise _bad(path, "'current-context' must be a string")
        merged.current = merged.current or (current or "")
        for section, body_key in _SECTIONS.items():
            for name, body in _entries(path, doc, section, body_key):
                merged.entries[section].setdefault(name, (path, body))
    return merged


Entry = tuple[Path, dict[str, Any]]


def check_usable(config: Kubeconfig, context: str) -> tuple[Entry, Entry | None]:
    """The cluster and user (if any) of ``context``, checked to be well formed."""
    path, body = config.context(context)
    cluster_name, user_name = body.get("cluster"), body.get("user")
    if not isinstance(cluster_name, str) or not cluster_name:
        raise _bad(path, f"context {context or config.current!r} names no cluster")
    cluster = config.entries["clusters"].get(cluster_name)
    if cluster is None:
        raise _bad(path, f"cluster {cluster_name!r} of the context is not defined")
    server = cluster[1].get("server")
    if not isinstance(server, str) or not server:
        raise _bad(cluster[0], f"cluster {cluster_name!r} has no 'server' string")
    try:
        check_api_url(server)
    except ValueError as exc:
        raise _bad(cluster[0], f"cluster {cluster_name!r}: 'server' {server!r}: {exc}") from exc
    _check_credentials(*cluster, f"cluster {cluster_name!r}")
    if user_name in (None, ""):
        return cluster, None
    if not isinstance(user_name, str):
        raise _bad(path, "the context's 'user' must be a string")
    user = config.entries["users"].get(user_name)
    if user is None:
        raise _bad(path, f"user {user_name!r} of the context is not defined")
    _check_credentials(*user, f"user {user_name!r}")
    return cluster, user


def context_namespace(context: str = "") -> tuple[str, str]:
    """The namespace of ``context`` (or the current one), else ``default``; and a warning.

    A kubeconfig that cannot be read does not stop a command that talks to
    ``--url`` (Flux v1 fell back the same way); the warning says why.
    """
    paths = kubeconfig_paths()
    if not paths:
        return _in_cluster_namespace() or DEFAULT_NAMESPACE, ""
    try:
        config = load_kubeconfig(paths)
        if not (context or config.current):
            return DEFAULT_NAMESPACE, ""
        _, body = config.context(context)
    except KubeconfigError as exc:
        return DEFAULT_NAMESPACE, f"{exc.message}; using namespace {DEFAULT_NAMESPACE!r}"
    namespace = body.get("namespace")
    return (namespace if isinstance(namespace, str) and namespace else DEFAULT_NAMESPACE), ""


def _read(path: Path) -> dict[str, Any]:
    import yaml  # here: only commands that need a kubeconfig pay for PyYAML

    # libyaml's loader where PyYAML was built with it: a kubeconfig with
    # inline certificates takes the pure-Python one a noticeable while.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except (OSError, UnicodeDecodeError) as exc:
        raise KubeconfigError(f"cannot read the kubeconfig {path}: {exc}", hint=_FIX) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise _bad(path, f"it is not valid YAML{where}") from exc
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise _bad(path, f"it must be a mapping (got {type(doc).__name__})")
    return doc


def _entries(
    path: Path, doc: Mapping[str, Any], section: str, body_key: str
) -> list[tuple[str, dict[str, Any]]]:
    listed = doc.get(section)
    if listed is None:
        return []
    if not isinstance(listed, list):
        raise _bad(path, f"'{section}' must be a list (got {type(listed).__name__})")
    found: list[tuple[str, dict[str, Any]]] = []
    for index, entry in enumerate(listed):
        where = f"'{section}[{index}]'"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise _bad(path, f"{where} must be a mapping with a 'name' string")
        body = entry.get(body_key)
        if body is not None and not isinstance(body, dict):
            raise _bad(path, f"{where}.{body_key} must be a mapping")
        found.append((entry["name"], body or {}))
    return found


def _check_credentials(path: Path, body: Mapping[str, Any], what: str) -> None:
    for key, label in _PEM_DATA.items():
        if key in body:
            _check_pem(path, body[key], f"{what}: '{key}'", label)
    for key in _FILES:
        if key in body:
            value = body[key]
            if not isinstance(value, str):
                raise _bad(path, f"{what}: '{key}' must be a file name")
            file = (path.parent / Path(value).expanduser()).resolve()
            if not file.is_file():
                raise _bad(path, f"{what}: '{key}' file {value!r} does not exist")


def _check_pem(path: Path, value: object, where: str, label: str) -> None:
    if not isinstance(value, str):
        raise _bad(path, f"{where} must be a base64 string")
    try:
        decoded = base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _bad(path, f"{where} is not valid base64 ({exc})") from exc
    if f"{label}-----".encode() not in decoded:
        raise _bad(path, f"{where} does not hold a PEM {label.lower()}")


def _bad(path: Path, problem: str) -> KubeconfigError:
    return KubeconfigError(f"cannot use the kubeconfig {path}: {problem}", hint=_FIX)


def _in_cluster_namespace() -> str:
    if not os.environ.get("KUBERNETES_SERVICE_HOST"):
        return ""
    try:
        return _SA_NAMESPACE.read_text(encoding="utf-8").strip()
    except OSError:
        return ""

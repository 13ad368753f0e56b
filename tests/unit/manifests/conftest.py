"""Fixtures for loading manifests without a cluster."""

from __future__ import annotations

import hashlib
import textwrap
from collections.abc import Callable

import pytest

from fluxd.manifests import LoadResult, ParseCache, ScopeResolver, load

# What discovery would say for the kinds these tests use; custom kinds are
# unknown unless a test says otherwise.
_CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}
_NAMESPACED = {"ConfigMap", "Secret", "Service", "Deployment", "ServiceAccount", "Role"}


def builtin_scope(api_version: str, kind: str) -> bool | None:
    if kind in _CLUSTER_SCOPED:
        return False
    if kind in _NAMESPACED:
        return True
    return None


def blob_id(content: bytes) -> str:
    return hashlib.sha1(content).hexdigest()


LoadTexts = Callable[..., LoadResult]


@pytest.fixture
def scope() -> ScopeResolver:
    return builtin_scope


@pytest.fixture
def load_texts() -> LoadTexts:
    """Load ``{path: text}`` with blob ids from the content, like git's."""

    def _load(
        texts: dict[str, str],
        *,
        scope: ScopeResolver = builtin_scope,
        default_namespace: str = "default",
        cache: ParseCache | None = None,
    ) -> LoadResult:
        files = {path: textwrap.dedent(text).encode() for path, text in texts.items()}
        blob_ids = {path: blob_id(content) for path, content in files.items()}
        return load(files, blob_ids, scope=scope, default_namespace=default_namespace, cache=cache)

    return _load

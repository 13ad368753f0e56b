"""The label and annotation Flux v1 puts on every object it applies.

They are computed exactly as Flux v1 does, so that objects applied by Flux v1
carry the marks we expect and can be adopted (and garbage-collected) without
being re-labelled first.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fluxd.manifests.parsing import JsonDict
from fluxd.manifests.resources import Resource
from fluxids import ObjectRef
from fluxids.marks import CHECKSUM_ANNOTATION, GC_MARK_LABEL, INSTANCE_LABEL

# Schemes git understands; anything else is tried as scp-style "user@host:path".
_TRANSPORTS = frozenset({"ssh", "git", "git+ssh", "http", "https", "ftp", "ftps", "rsync", "file"})
_SCP_STYLE = re.compile(r"^([a-zA-Z0-9-._~]+@)?([a-zA-Z0-9._-]+):([a-zA-Z0-9./._-]+)(?:\?|$)(.*)$")


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def safe_url(url: str) -> str:
    """``url`` without its password, in the form Flux v1 hashed.

    Flux v1 normalised scp-style remotes (``git@host:org/repo``) to
    ``ssh://git@host/org/repo`` before hashing, so we do the same.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme in _TRANSPORTS and parts.netloc:
        userinfo, at, host = parts.netloc.rpartition("@")
        user = userinfo.partition(":")[0] + at
        return urllib.parse.urlunsplit(parts._replace(netloc=user + host))
    match = _SCP_STYLE.match(url)
    if match is None:
        return url  # a local path: nothing secret to strip
    user, host, path, query = match.groups()
    path = path if path.startswith("/") else "/" + path
    return f"ssh://{user or ''}{host}{path}" + (f"?{query}" if query else "")


def sync_set_name(url: str, branch: str, paths: Sequence[str]) -> str:
    """Name of the set of objects one (repo, branch, paths) owns."""
    hasher = hashlib.sha256()
    hasher.update(safe_url(url).encode())
    hasher.update(branch.encode())
    for path in paths:
        hasher.update(path.encode())
    return _b64(hasher.digest())


def gc_mark(set_name: str, resource_id: ObjectRef | str) -> str:
    """Value of the GC label: specific to the object, so a copied label marks nothing."""
    return _gc_mark(set_name, str(resource_id))


# Every pass asks again for the mark of every object it remembers; a pure
# function of two strings, so it is computed once per object.
@functools.lru_cache(maxsize=1 << 17)
def _gc_mark(set_name: str, resource_id: str) -> str:
    digest = hashlib.sha256(set_name.encode() + resource_id.encode()).digest()
    # The prefix keeps the value a valid label even when the base64 starts
    # with '-' or '_'.
    return "sha256." + _b64(digest)


def with_marks(resource: Resource, set_name: str, instance: str = "") -> JsonDict:
    """The body to apply: a deep copy of ``resource.body`` with the marks added
    (and the install's label, given an ``instance``)."""
    body = _copy_tree(resource.body)
    metadata = body["metadata"]
    labels = dict(metadata.get("labels") or {})
    labels[GC_MARK_LABEL] = gc_mark(set_name, resource.ref)
    if instance:
        labels[INSTANCE_LABEL] = instance
    annotations = dict(metadata.get("annotations") or {})
    annotations[CHECKSUM_ANNOTATION] = resource.checksum
    metadata["labels"] = labels
    metadata["annotations"] = annotations
    return body


@dataclass(frozen=True, slots=True)
class Marked:
    """A resource to apply, its marked body made each time it is read.

    Keeping every marked copy from the start of a pass to its end held a
    second copy of the repo in memory; made when the request is sent, a body
    lives only as long as that request.
    """

    resource: Resource
    set_name: str
    instance: str = ""

    @property
    def ref(self) -> ObjectRef:
        return self.resource.ref

    @property
    def source(self) -> str:
        return self.resource.source

    @property
    def body(self) -> JsonDict:
        return with_marks(self.resource, self.set_name, self.instance)


def _copy_tree(tree: JsonDict) -> JsonDict:
    # The body shares its nested values with the parse cache; a copy keeps
    # callers from changing what the next sync reads. Faster than deepcopy
    # because the tree holds only JSON types.
    return {key: _copy_value(value) for key, value in tree.items()}


def _copy_value(value: Any) -> Any:
    if isinstance(value, dict):
        return _copy_tree(value)
    if isinstance(value, list):
        return [_copy_value(item) for item in value]
    return value

"""A desired object: what git says, placed in its effective namespace."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from fluxd.manifests.parsing import Document, JsonDict
from fluxids import ObjectRef

# Policy annotations: the current prefix wins over the legacy one when an
# object carries both, whatever order they appear in.
_PREFIXES = (("fluxcd.io/", 2), ("flux.weave.works/", 0))
# filter.fluxcd.io/<container> is an older spelling of tag.<container>.
_FILTER_PREFIX = "filter.fluxcd.io/"
_TAG = "tag."
_POLICIES = frozenset({"automated", "locked", "locked_user", "locked_msg", "ignore"})

IGNORE_POLICY = "ignore"


@dataclass(frozen=True, slots=True, eq=False)
class Resource:
    """One object to sync. ``body`` is shared with the parse cache: read it only."""

    ref: ObjectRef  # in its effective namespace; "" for cluster-scoped objects
    source: str  # repo-relative path of the file
    document: int  # index of the YAML document in the file, 0-based
    line: int  # where that document starts, 1-based
    body: JsonDict
    checksum: str  # of the object as written in git, before our marks
    ignore: bool  # never apply (annotation ignore: "true")
    sync_only: bool  # apply, but never garbage-collect (ignore: "sync_only")
    policies: Mapping[str, str]

    def __repr__(self) -> str:
        return f"Resource({self.ref}, source={self.source!r}, document={self.document})"


def make_resource(document: Document, source: str, *, namespace: str | None) -> Resource:
    """Place ``document``; ``namespace`` is None for cluster-scoped objects."""
    data = document.data
    metadata = data["metadata"]
    policies = policies_of(metadata.get("annotations") or {})
    ignore = policies.get(IGNORE_POLICY)
    return Resource(
        ref=ObjectRef(namespace or "", data["kind"], metadata["name"], data["apiVersion"]),
        source=source,
        document=document.index,
        line=document.line,
        body=_placed(data, namespace),
        checksum=document.checksum,
        ignore=ignore == "true",
        sync_only=ignore == "sync_only",
        policies=MappingProxyType(policies),
    )


def _placed(data: JsonDict, namespace: str | None) -> JsonDict:
    # Copy only the two levels we change; the rest stays shared with the cache.
    metadata = dict(data["metadata"])
    if namespace is None:
        metadata.pop("namespace", None)
    else:
        metadata["namespace"] = namespace
    return {**data, "metadata": metadata}


def policies_of(annotations: Mapping[str, object]) -> dict[str, str]:
    """Flux policies set by annotations, by name without prefix (e.g. ``tag.app``)."""
    found: dict[str, tuple[int, str]] = {}
    for key, value in annotations.items():
        named = _policy_name(key)
        if named is None:
            continue
        name, priority = named
        if name not in found or priority > found[name][0]:
            found[name] = (priority, _as_text(value))
    return {name: value for name, (_, value) in sorted(found.items())}


def _policy_name(key: object) -> tuple[str, int] | None:
    if not isinstance(key, str):
        return None
    if key.startswith(_FILTER_PREFIX) and len(key) > len(_FILTER_PREFIX):
        return _TAG + key.removeprefix(_FILTER_PREFIX), 1
    for prefix, priority in _PREFIXES:
        name = key.removeprefix(prefix)
        if name != key and (name in _POLICIES or _is_tag(name)):
            return name, priority
    return None


def _is_tag(name: str) -> bool:
    return name.startswith(_TAG) and len(name) > len(_TAG)


def _as_text(value: object) -> str:
    # An unquoted `ignore: true` is a YAML boolean; Flux v1 read it as the
    # text "true", and so do we.
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)

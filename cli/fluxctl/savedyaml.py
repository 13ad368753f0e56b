"""The YAML of ``fluxctl save``: fluxd's export, cleaned, written as Flux v1 wrote it.

This is fluxctl's only use of PyYAML. The output follows the Go YAML encoder
Flux v1's fluxctl used, so a saved tree diffs cleanly against one saved by
it: map keys in that encoder's order (digit runs compare as numbers, other
characters before letters), block style, strings that would read as another
type in double quotes, multi-line strings as literal blocks.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from fluxctl.errors import CliError

#: Annotations that record the cluster's history, not the desired state.
DROPPED_ANNOTATIONS = (
    "deployment.kubernetes.io/revision",
    "kubectl.kubernetes.io/last-applied-configuration",
    "kubernetes.io/change-cause",
)


@dataclass(frozen=True)
class SavedObject:
    kind: str
    name: str
    namespace: str
    text: str


def saved_objects(export: bytes) -> Iterator[SavedObject]:
    """Each document of the export, reduced to what belongs in git, as YAML text."""
    try:
        documents = list(yaml.safe_load_all(export))
    except yaml.YAMLError as exc:
        raise CliError(f"unmarshalling exported yaml: {exc}") from exc
    for document in documents:
        if not isinstance(document, dict):
            continue
        kept = clean(document)
        meta = kept.get("metadata", {})
        yield SavedObject(
            str(kept.get("kind", "")), str(meta.get("name", "")), str(meta.get("namespace", "")),
            dump(kept),
        )  # fmt: skip


def clean(document: dict[str, Any]) -> dict[str, Any]:
    """apiVersion, kind, metadata (annotations, labels, name, namespace) and spec only."""
    metadata = _mapping(document.get("metadata"))
    meta: dict[str, Any] = {}
    annotations = {
        k: v for k, v in (metadata.get("annotations") or {}).items() if k not in DROPPED_ANNOTATIONS
    }
    for key, value in (
        ("annotations", annotations),
        ("labels", metadata.get("labels") or {}),
        ("name", metadata.get("name") or ""),
        ("namespace", metadata.get("namespace") or ""),
    ):
        if value:
            meta[key] = value
    spec = _mapping(document.get("spec"))
    template_meta = _mapping(spec.get("template")).get("metadata")
    if isinstance(template_meta, dict):
        template_meta.pop("creationTimestamp", None)
    _drop_empty(spec)
    kept: dict[str, Any] = {}
    for key, value in (
        ("apiVersion", document.get("apiVersion")),
        ("kind", document.get("kind")),
        ("metadata", meta),
        ("spec", spec),
    ):
        if value:
            kept[key] = value
    return kept


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _drop_empty(value: Any) -> bool:
    """Remove map entries whose value is empty or null; True if ``value`` itself is empty.

    Flux v1 decided a map's emptiness before cleaning inside it, so a map
    that only held empty values stays as ``{}``; this keeps that order.
    """
    if isinstance(value, dict):
        if not value:
            return True
        for key in [k for k, v in value.items() if _drop_empty(v)]:
            del value[key]
    elif isinstance(value, list):
        if not value:
            return True
        for item in value:
            _drop_empty(item)
    return value is None


def _key_order(a: str, b: str) -> int:
    # The Go encoder's rule: runs of digits compare as numbers; between a
    # letter and another character, the other character comes first.
    i = 0
    while i < len(a) and i < len(b):
        if a[i] == b[i]:
            i += 1
            continue
        a_letter, b_letter = a[i].isalpha(), b[i].isalpha()
        if a_letter and b_letter:
            return -1 if a[i] < b[i] else 1
        if a_letter or b_letter:
            return 1 if a_letter else -1
        return _number_order(a, b, i)
    return len(a) - len(b)


def _number_order(a: str, b: str, i: int) -> int:
    a_end, b_end = i, i
    while a_end < len(a) and a[a_end].isdigit():
        a_end += 1
    while b_end < len(b) and b[b_end].isdigit():
        b_end += 1
    a_num = int(a[i:a_end]) if a_end > i else 0
    b_num = int(b[i:b_end]) if b_end > i else 0
    if a_num != b_num:
        return -1 if a_num < b_num else 1
    if a_end != b_end:
        return -1 if a_end < b_end else 1
    return -1 if a[i] < b[i] else 1


class _Dumper(yaml.SafeDumper):
    """Block style, Go's key order and quoting."""


def _represent_map(dumper: yaml.SafeDumper, data: dict[Any, Any]) -> yaml.Node:
    keys = sorted(data, key=functools.cmp_to_key(lambda x, y: _key_order(str(x), str(y))))
    return dumper.represent_mapping("tag:yaml.org,2002:map", [(k, data[k]) for k in keys])


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    resolved = dumper.resolve(yaml.ScalarNode, data, (True, False))  # type: ignore[no-untyped-call]
    if resolved != "tag:yaml.org,2002:str" or data == "":
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(dict, _represent_map)
_Dumper.add_representer(str, _represent_str)


def dump(document: dict[str, Any]) -> str:
    return yaml.dump(document, Dumper=_Dumper, default_flow_style=False, allow_unicode=True)

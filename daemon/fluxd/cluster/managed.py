"""What of an object fluxd owns, read from its ``metadata.managedFields``.

A diff of whole objects would bury the one changed line under what the API
server and controllers add (status, defaults, resourceVersion, other
managers' fields). Server-side apply records, per field manager, the set of
fields it owns (``fieldsV1``): ``f:<name>`` a field of a map, ``k:<json>``
a list item by its keys, ``v:<json>`` a list item by value, ``i:<n>`` an
item by index, ``.`` the node itself. Projecting an object onto that set
keeps exactly what fluxd wrote.

Secrets are masked here too, before anything leaves the cluster layer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

MASK = "***"
_MASK_BEFORE = "*** (before)"
_MASK_AFTER = "*** (after)"

FieldSet = Mapping[str, Any]


def owned_fields(obj: Mapping[str, Any], manager: str) -> dict[str, Any]:
    """The union of the ``Apply`` field sets ``manager`` holds on ``obj``."""
    owned: dict[str, Any] = {}
    for entry in (obj.get("metadata") or {}).get("managedFields") or ():
        if entry.get("manager") == manager and entry.get("operation") == "Apply":
            owned = merge_fields(owned, entry.get("fieldsV1") or {})
    return owned


def merge_fields(a: FieldSet, b: FieldSet) -> dict[str, Any]:
    """The union of two field sets."""
    merged = dict(a)
    for key, sub in b.items():
        merged[key] = merge_fields(merged[key], sub) if key in merged else sub
    return merged


def project(value: Any, fields: FieldSet) -> Any:
    """The part of ``value`` that ``fields`` names; a leaf set keeps the whole value."""
    children = {k: v for k, v in fields.items() if k != "."}
    if not children:
        return value
    if isinstance(value, Mapping):
        return _project_map(value, children)
    if isinstance(value, list):
        return _project_list(value, children)
    return value


def _project_map(value: Mapping[str, Any], fields: FieldSet) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key, name in ((k, k[2:]) for k in fields if k.startswith("f:")):
        if name in value:
            kept[name] = project(value[name], fields[key])
    # Keys in the object's own order, so the text reads like the manifest.
    return {name: kept[name] for name in value if name in kept}


def _project_list(items: list[Any], fields: FieldSet) -> list[Any]:
    chosen: list[Any] = []
    for index, item in enumerate(items):
        sub = _item_fields(index, item, fields)
        if sub is not None:
            chosen.append(project(item, sub))
    return chosen


def _item_fields(index: int, item: Any, fields: FieldSet) -> FieldSet | None:
    for key, sub in fields.items():
        kind, _, raw = key.partition(":")
        if kind == "i" and raw == str(index):
            return dict(sub)
        if kind not in ("k", "v"):
            continue
        try:
            wanted = json.loads(raw)
        except ValueError:
            continue
        if kind == "v" and item == wanted:
            return dict(sub)
        if kind == "k" and _matches(item, wanted):
            return dict(sub)
    return None


def _matches(item: Any, keys: Any) -> bool:
    if not isinstance(item, Mapping) or not isinstance(keys, Mapping):
        return False
    return all(item.get(name) == value for name, value in keys.items())


def mask_secret(before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
    """Replace a Secret's values in place, telling only whether each one changed."""
    for field in ("data", "stringData"):
        old = (before or {}).get(field)
        new = (after or {}).get(field)
        old_map = old if isinstance(old, dict) else {}
        new_map = new if isinstance(new, dict) else {}
        for key in set(old_map) | set(new_map):
            changed = key in old_map and key in new_map and old_map[key] != new_map[key]
            if key in old_map:
                old_map[key] = _MASK_BEFORE if changed else MASK
            if key in new_map:
                new_map[key] = _MASK_AFTER if changed else MASK

"""Edits of a manifest file that change only the edited value, byte for byte.

A YAML library that loads and dumps again re-emits the whole stream: it
re-indents sequences, re-wraps long lines, respaces flow collections and
moves block scalars. A file someone wrote by hand must come back as written
except for the value fluxd was asked to change, so these edits are splices
into the text: the file is composed (not constructed) to learn where each
node starts and ends, and only those characters are replaced.

Supported: the image of a container (Deployment, DaemonSet, StatefulSet,
CronJob, and kinds with ``spec.template.spec``), in files with several
documents and inside ``kind: List``; adding, changing and removing
annotations, in block or flow style. Anything else is an ``EditError``
naming what could not be edited, never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from fluxids import ObjectRef

__all__ = ["EditError", "set_annotations", "set_container_image"]


class EditError(Exception):
    """The file cannot be edited as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class _Splice:
    start: int
    end: int
    text: str


def set_container_image(
    text: str, workload: ObjectRef, container: str, image: str, *, default_namespace: str
) -> str:
    """``text`` with the image of ``container`` of ``workload`` set to ``image``."""
    manifest = _the_manifest(text, workload, default_namespace)
    for path in _CONTAINER_PATHS:
        for item in _items(_get_path(manifest, path)):
            name = _get(item, "name")
            if isinstance(name, ScalarNode) and name.value == container:
                value = _get(item, "image")
                if not isinstance(value, ScalarNode):
                    raise EditError(f"container {container!r} of {workload} has no image")
                return _apply(text, [_replace_scalar(text, value, image)])
    raise EditError(f"container {container!r} not found in {workload}")


def set_annotations(
    text: str, workload: ObjectRef, changes: Mapping[str, str | None], *, default_namespace: str
) -> str:
    """``text`` with annotations set (a string) or removed (None) on ``workload``."""
    manifest = _the_manifest(text, workload, default_namespace)
    metadata = _get(manifest, "metadata")
    if not isinstance(metadata, MappingNode):
        raise EditError(f"{workload} has no metadata mapping")
    annotations = _get(metadata, "annotations")
    if annotations is None or _is_null(annotations):
        added = {k: v for k, v in changes.items() if v is not None}
        if not added:
            return text
        if annotations is not None:
            return _apply(text, [_Splice(*_span(annotations), _flow(added))])
        return _apply(text, [_new_block_entry(text, metadata, "annotations", added)])
    if not isinstance(annotations, MappingNode):
        raise EditError(f"metadata.annotations of {workload} is not a mapping")
    if annotations.flow_style:
        return _apply(text, [_rewrite_flow(text, annotations, changes)])
    return _apply(text, _block_edits(text, metadata, annotations, changes))


# --- finding the manifest -----------------------------------------------------

_CONTAINER_PATHS = (
    ("spec", "template", "spec", "containers"),
    ("spec", "template", "spec", "initContainers"),
    ("spec", "jobTemplate", "spec", "template", "spec", "containers"),
    ("spec", "jobTemplate", "spec", "template", "spec", "initContainers"),
)


def _the_manifest(text: str, workload: ObjectRef, default_namespace: str) -> MappingNode:
    try:
        found = [m for m in _manifests(text) if _is(m, workload, default_namespace)]
    except yaml.YAMLError as exc:
        raise EditError(f"the file is not valid YAML: {exc}") from exc
    if not found:
        raise EditError(f"{workload} is not defined in the file")
    if len(found) > 1:
        raise EditError(f"{workload} is defined {len(found)} times in the file")
    return found[0]


def _manifests(text: str) -> Iterator[MappingNode]:
    for document in yaml.compose_all(text, Loader=yaml.SafeLoader):
        if not isinstance(document, MappingNode):
            continue
        kind = _get(document, "kind")
        if isinstance(kind, ScalarNode) and kind.value == "List":
            yield from (m for m in _items(_get(document, "items")) if isinstance(m, MappingNode))
        else:
            yield document


def _is(manifest: MappingNode, workload: ObjectRef, default_namespace: str) -> bool:
    kind, name = _get(manifest, "kind"), _get_path(manifest, ("metadata", "name"))
    namespace = _get_path(manifest, ("metadata", "namespace"))
    ns = namespace.value if isinstance(namespace, ScalarNode) else default_namespace
    return (
        isinstance(kind, ScalarNode)
        and kind.value.lower() == workload.kind.lower()
        and isinstance(name, ScalarNode)
        and name.value == workload.name
        and ns == workload.namespace
    )


def _get(node: Node | None, key: str) -> Node | None:
    if not isinstance(node, MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, ScalarNode) and k.value == key:
            found: Node = v
            return found
    return None


def _get_path(node: Node | None, path: tuple[str, ...]) -> Node | None:
    for key in path:
        node = _get(node, key)
    return node


def _items(node: Node | None) -> list[Node]:
    return list(node.value) if isinstance(node, SequenceNode) else []


def _is_null(node: Node) -> bool:
    if isinstance(node, ScalarNode):
        return node.tag == "tag:yaml.org,2002:null"
    return isinstance(node, MappingNode) and not node.value and bool(node.flow_style)


def _span(node: Node) -> tuple[int, int]:
    return node.start_mark.index, node.end_mark.index


# --- writing values -------------------------------------------------------------

_PLAIN_SAFE = re.compile(r"[A-Za-z0-9_./:@+=~^*<>,\-][A-Za-z0-9_./:@+=~^*<>,\- ]*")


def _scalar_text(value: str, style: str | None = None) -> str:
    """``value`` as YAML, in ``style`` when given (as written before) and possible."""
    if style == '"' or (style != "'" and not value.isprintable()):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if style != "'" and _plain_ok(value):
        return value
    return "'" + value.replace("'", "''") + "'"


def _plain_ok(value: str) -> bool:
    plain = bool(_PLAIN_SAFE.fullmatch(value)) and not value.endswith(" ")
    return plain and ": " not in value and " #" not in value and _reads_as_text(value)


def _reads_as_text(value: str) -> bool:
    # "true", "1.0", "null", "~" would be read back as another type.
    return bool(yaml.safe_load(value) == value)


def _replace_scalar(text: str, node: ScalarNode, value: str) -> _Splice:
    if node.style in ("|", ">"):
        raise EditError("a block scalar cannot be edited in place")
    return _Splice(*_span(node), _scalar_text(value, node.style or ""))


def _flow(entries: Mapping[str, str]) -> str:
    pairs = ", ".join(f"{_scalar_text(k)}: {_scalar_text(v)}" for k, v in entries.items())
    return "{" + pairs + "}"


def _rewrite_flow(text: str, node: MappingNode, changes: Mapping[str, str | None]) -> _Splice:
    """A flow mapping with entries changed; untouched entries keep their text."""
    parts: list[str] = []
    for key, value in node.value:
        name: str | None = key.value if isinstance(key, ScalarNode) else None
        if name is not None and name in changes:
            new = changes[name]
            if new is not None:
                parts.append(f"{text[slice(*_span(key))]}: {_scalar_text(new)}")
            continue
        parts.append(f"{text[slice(*_span(key))]}: {text[slice(*_span(value))]}")
    existing = {k.value for k, _ in node.value if isinstance(k, ScalarNode)}
    for name, new in changes.items():
        if new is not None and name not in existing:
            parts.append(f"{_scalar_text(name)}: {_scalar_text(new)}")
    return _Splice(*_span(node), "{" + ", ".join(parts) + "}")


def _block_edits(
    text: str, metadata: MappingNode, node: MappingNode, changes: Mapping[str, str | None]
) -> list[_Splice]:
    edits: list[_Splice] = []
    existing: dict[str, tuple[Node, Node]] = {
        k.value: (k, v) for k, v in node.value if isinstance(k, ScalarNode)
    }
    removed = {name for name, new in changes.items() if new is None and name in existing}
    if removed and removed == set(existing) and not any(v is not None for v in changes.values()):
        # As kubeyaml did: no annotations left, no annotations key.
        key = next(k for k, v in metadata.value if v is node)
        return [_Splice(_line_start(text, key), _line_after(text, node.value[-1][1]), "")]
    for name, new in changes.items():
        if name in existing:
            key, value = existing[name]
            if new is None:
                edits.append(_Splice(_line_start(text, key), _line_after(text, value), ""))
            elif not isinstance(value, ScalarNode):
                raise EditError(f"annotation {name!r} is not a string")
            elif value.value != new:
                edits.append(_replace_scalar(text, value, new))
    added = {k: v for k, v in changes.items() if v is not None and k not in existing}
    if added:
        indent = " " * node.value[0][0].start_mark.column
        lines = "".join(f"{indent}{_scalar_text(k)}: {_scalar_text(v)}\n" for k, v in added.items())
        at = _line_after(text, node.value[-1][1])
        edits.append(_Splice(at, at, lines if at == 0 or text[at - 1] == "\n" else "\n" + lines))
    return edits


def _new_block_entry(
    text: str, mapping: MappingNode, key: str, entries: Mapping[str, str]
) -> _Splice:
    if mapping.flow_style or not mapping.value:
        raise EditError("metadata is written in flow style; add the annotation by hand once")
    column = mapping.value[0][0].start_mark.column
    indent, inner = " " * column, " " * (column + 2)
    lines = f"{indent}{key}:\n" + "".join(
        f"{inner}{_scalar_text(k)}: {_scalar_text(v)}\n" for k, v in entries.items()
    )
    at = _line_after(text, mapping.value[-1][1])
    return _Splice(at, at, lines if at == 0 or text[at - 1] == "\n" else "\n" + lines)


def _line_start(text: str, node: Node) -> int:
    return text.rfind("\n", 0, node.start_mark.index) + 1


def _line_after(text: str, end: Node | int) -> int:
    """Where the line holding the end of ``end`` ends (after its newline)."""
    index = end if isinstance(end, int) else end.end_mark.index
    if index > 0 and text[index - 1] == "\n":
        return index  # a block value ends at the start of the next line
    newline = text.find("\n", index)
    return len(text) if newline < 0 else newline + 1


def _apply(text: str, splices: list[_Splice]) -> str:
    for splice in sorted(splices, key=lambda s: s.start, reverse=True):
        text = text[: splice.start] + splice.text + text[splice.end :]
    return text

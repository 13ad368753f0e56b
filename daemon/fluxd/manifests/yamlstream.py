"""The documents of a YAML stream, read within a ``Budget``.

libyaml parses; the nodes are composed here, from libyaml's events, so that
every node and every use of an alias is counted as it is met: a file over a
limit stops there, before its nodes, its objects or its checksum cost
anything more. libyaml's own composer counts nothing and cannot be stopped.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.composer import Composer, ComposerError
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    Event,
    NodeEvent,
    ScalarEvent,
    SequenceStartEvent,
)
from yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode, SequenceNode

from fluxd.manifests.limits import Budget

# libyaml is several times faster than the pure-Python parser; fall back only
# where PyYAML was built without it.
try:
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


@dataclass(frozen=True, slots=True)
class _Cost:
    nodes: int  # counting the uses of aliases inside
    height: int  # levels from the node itself down to its deepest value
    text: int  # characters of its scalars, likewise


@dataclass(slots=True)
class _Open:
    """A sequence or mapping whose end has not been read yet."""

    node: CollectionNode
    anchor: str | None
    nodes_before: int  # the budget's count before this node
    text_before: int
    outer_deepest: int
    key: Node | None = None  # of a mapping, until its value is read


class RecursiveAlias(yaml.YAMLError):
    """An alias inside the node it names: the value would be infinite."""


#: Scalars up to this long are interned (see ``_Interning``).
_INTERNED_UP_TO = 64


class _Interning(_BaseLoader):
    """Short strings made one shared object per value across all files.

    Keys (``metadata``, ``name``, ``labels``) and many values (kinds,
    apiVersions, label values) repeat in every object: at 20,000 objects
    the repeated copies were a third of the parsed repo's memory.
    """

    def construct_scalar(self, node: Any) -> Any:
        value = super().construct_scalar(node)
        if isinstance(value, str) and len(value) <= _INTERNED_UP_TO:
            return sys.intern(value)
        return value


class _Loader(Composer, _Interning):
    """Safe loader that counts what it composes and leaves timestamps as strings.

    The Kubernetes decoder keeps ``2024-01-01`` as a string; a ``datetime``
    here would change the checksum and could not be sent as JSON.

    Documents are composed with a stack instead of PyYAML's recursion: fewer
    calls per node, and no Python recursion however deep a file nests.
    """

    def __init__(self, content: bytes, budget: Budget) -> None:
        _BaseLoader.__init__(self, content)
        Composer.__init__(self)
        self._budget = budget
        self._costs: dict[str, _Cost] = {}  # of the anchors of this document
        self._deepest = 0  # level reached within the innermost open collection

    def compose_document(self) -> Node | None:
        self.get_event()  # document start
        try:
            node = self._compose_root()
        finally:
            self.anchors, self._costs = {}, {}
        self.get_event()  # document end
        return node

    def _compose_root(self) -> Node:
        stack: list[_Open] = []
        while True:
            event = self.get_event()
            # Most events are scalars: test for them first.
            if isinstance(event, ScalarEvent):
                node: Node = self._scalar(event, depth=len(stack) + 1)
            elif isinstance(event, CollectionEndEvent):
                node = self._close(stack.pop(), event, depth=len(stack) + 1)
            elif isinstance(event, AliasEvent):
                node = self._alias(event, depth=len(stack))
            else:
                stack.append(self._open(event, depth=len(stack) + 1))
                continue
            if not stack:
                return node
            _attach(stack[-1], node)

    def _scalar(self, event: ScalarEvent, *, depth: int) -> Node:
        self._budget.spend(1, depth=depth, text=len(event.value))
        if depth > self._deepest:
            self._deepest = depth
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.resolve(ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
        marked: Any = event  # libyaml's marks: see _marks
        node = ScalarNode(tag, event.value, marked.start_mark, marked.end_mark, style=event.style)
        if event.anchor is not None:
            self._name(event.anchor, node, event)
            self._costs[event.anchor] = _Cost(1, 1, len(event.value))
        return node

    def _open(self, event: Event | None, *, depth: int) -> _Open:
        assert isinstance(event, CollectionStartEvent)  # what libyaml sends here
        before, text_before = self._budget.nodes, self._budget.text
        self._budget.spend(1, depth=depth)
        kind = SequenceNode if isinstance(event, SequenceStartEvent) else MappingNode
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.resolve(kind, None, event.implicit)  # type: ignore[no-untyped-call]
        node = kind(tag, [], _marks(event)[0], None, flow_style=event.flow_style)
        if event.anchor is not None:
            self._name(event.anchor, node, event)
        frame = _Open(node, event.anchor, before, text_before, self._deepest)
        self._deepest = depth
        return frame

    def _close(self, frame: _Open, event: Event, *, depth: int) -> Node:
        frame.node.end_mark = _marks(event)[1]
        if frame.anchor is not None:
            self._costs[frame.anchor] = _Cost(
                self._budget.nodes - frame.nodes_before,
                self._deepest - depth + 1,
                self._budget.text - frame.text_before,
            )
        self._deepest = max(self._deepest, frame.outer_deepest)
        return frame.node

    def _alias(self, event: AliasEvent, *, depth: int) -> Node:
        anchor = event.anchor or ""
        if anchor not in self.anchors:
            raise ComposerError(None, None, f"found undefined alias {anchor!r}", _marks(event)[0])
        cost = self._costs.get(anchor)
        if cost is None:  # named, but not finished yet
            raise RecursiveAlias(f"alias *{anchor} is used inside the node it names")
        self._budget.spend(cost.nodes, depth=depth + cost.height, text=cost.text)
        self._deepest = max(self._deepest, depth + cost.height)
        return self.anchors[anchor]

    def _name(self, anchor: str, node: Node, event: NodeEvent) -> None:
        if anchor in self.anchors:
            raise ComposerError(
                f"found duplicate anchor {anchor!r}; first occurrence",
                self.anchors[anchor].start_mark,
                "second occurrence",
                _marks(event)[0],
            )
        self.anchors[anchor] = node


def _marks(event: Event) -> tuple[Any, Any]:
    # libyaml's marks are its own class, which PyYAML's stubs do not admit
    # where nodes and errors take a mark; both have the same fields.
    return event.start_mark, event.end_mark


def _attach(frame: _Open, node: Node) -> None:
    if isinstance(frame.node, SequenceNode):
        frame.node.value.append(node)
    elif frame.key is None:
        frame.key = node
    else:
        frame.node.value.append((frame.key, node))
        frame.key = None


#: A file this small without anchors is composed by libyaml, which is faster,
#: and counted after: without anchors nothing is shared, so the count is of
#: nodes that exist, and composing this much costs a few MB at most.
SMALL_FILE = 64 * 1024


class _Plain(_Interning):
    """libyaml's composer, for small files without anchors."""


_NO_TIMESTAMPS = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}
_Loader.yaml_implicit_resolvers = _NO_TIMESTAMPS
_Plain.yaml_implicit_resolvers = _NO_TIMESTAMPS


def documents(content: bytes, budget: Budget) -> Iterator[tuple[int, object]]:
    """``(line, value)`` of each document, in order.

    Raises ``LimitError`` past a limit of the budget and ``yaml.YAMLError``
    on malformed YAML; the documents before either have been yielded.
    """
    # No "&", no anchor, so no alias: the only way a small file can cost
    # more than it shows.
    counted = len(content) > SMALL_FILE or b"&" in content
    loader = _Loader(content, budget) if counted else _Plain(content)
    index = 0
    try:
        while loader.check_node():
            budget.document(index)
            node = loader.get_node()
            if node is None:  # check_node said there is one; keep mypy honest
                break
            if not counted:
                _spend_tree(node, budget)
            yield node.start_mark.line + 1, loader.construct_document(node)
            index += 1
    finally:
        loader.dispose()


def dump_documents(objects: Iterable[object]) -> str:
    """``objects`` as one YAML stream, keys in their given order (``fluxctl save``)."""
    return yaml.safe_dump_all(objects, sort_keys=False)


def _spend_tree(root: Node, budget: Budget) -> None:
    """Count a composed tree as ``_Loader`` counts while composing."""
    stack: list[tuple[Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ScalarNode):
            budget.spend(1, depth=depth, text=len(node.value))
            continue
        budget.spend(1, depth=depth)
        if isinstance(node, SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)
        else:
            for key, value in node.value:
                stack += ((key, depth + 1), (value, depth + 1))

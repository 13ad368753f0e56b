"""The documents of a YAML stream, read within a ``Budget``.

libyaml parses; PyYAML's own composer builds the nodes, so that every node
and every use of an alias is counted as it is met: a file over a limit stops
there, before its nodes, its objects or its checksum cost anything more.
libyaml's composer is faster but counts nothing and cannot be interrupted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent, NodeEvent
from yaml.nodes import Node

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


class RecursiveAlias(yaml.YAMLError):
    """An alias inside the node it names: the value would be infinite."""


class _Loader(Composer, _BaseLoader):
    """Safe loader that counts what it composes and leaves timestamps as strings.

    The Kubernetes decoder keeps ``2024-01-01`` as a string; a ``datetime``
    here would change the checksum and could not be sent as JSON.
    """

    def __init__(self, content: bytes, budget: Budget) -> None:
        _BaseLoader.__init__(self, content)
        Composer.__init__(self)
        self._budget = budget
        self._costs: dict[str, _Cost] = {}  # of the anchors of this document
        self._depth = 0
        self._deepest = 0

    def compose_document(self) -> Node | None:
        try:
            return super().compose_document()
        finally:
            self._costs = {}

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            self._spend_alias(event)
            return super().compose_node(parent, index)
        anchor = event.anchor if isinstance(event, NodeEvent) else None
        self._depth += 1
        self._budget.spend(1, depth=self._depth)
        before, outer_deepest, self._deepest = self._budget.nodes, self._deepest, self._depth
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if anchor is not None:
            nodes = self._budget.nodes - before + 1
            self._costs[anchor] = _Cost(nodes, self._deepest - self._depth)
        self._deepest = max(self._deepest, outer_deepest)
        return node

    def _spend_alias(self, event: AliasEvent) -> None:
        cost = self._costs.get(event.anchor or "")
        if cost is None:
            if event.anchor in self.anchors:  # named, but not finished yet
                raise RecursiveAlias(f"alias *{event.anchor} is used inside the node it names")
            return  # undefined: the composer says so
        self._budget.spend(cost.nodes, depth=self._depth + cost.height)
        self._deepest = max(self._deepest, self._depth + cost.height)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}


def documents(content: bytes, budget: Budget) -> Iterator[tuple[int, object]]:
    """``(line, value)`` of each document, in order.

    Raises ``LimitError`` past a limit of the budget and ``yaml.YAMLError``
    on malformed YAML; the documents before either have been yielded.
    """
    loader = _Loader(content, budget)
    index = 0
    try:
        while loader.check_node():
            budget.document(index)
            node = loader.get_node()
            if node is None:  # check_node said there is one; keep mypy honest
                break
            yield node.start_mark.line + 1, loader.construct_document(node)
            index += 1
    finally:
        loader.dispose()

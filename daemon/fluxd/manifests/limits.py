"""What reading one manifest file may cost, counted while it is read.

A YAML alias stands for the whole node it names, and everything after
parsing (building the objects, merge keys, the checksum, the apply body)
walks that node once per use. Nine anchors that each use the previous one
nine times are a few hundred bytes on disk and 9^9 values in memory. So the
budget counts a node once per use, at the moment the alias is read, and
stops the file before any of that work starts. The same budget bounds the
plain size of a file (values without aliases), its nesting and its number
of documents, because those cost memory too.
"""

from __future__ import annotations

from collections.abc import Iterable

from fluxd.errors import LimitError
from fluxd.quantities import FILE_SIZE_FLAG, file_too_large, format_byte_size
from fluxd.settings import ManifestSettings

__all__ = [
    "DEPTH_FLAG",
    "DOCUMENTS_FLAG",
    "FILE_SIZE_FLAG",
    "NODES_FLAG",
    "Budget",
    "check_file_size",
    "file_too_large",
]

DOCUMENTS_FLAG = "--manifest-max-documents"
NODES_FLAG = "--manifest-max-nodes"
DEPTH_FLAG = "--manifest-max-depth"


def check_file_size(size: int, limits: ManifestSettings) -> None:
    if size > limits.max_file_size:
        raise file_too_large(size, limits.max_file_size)


class Budget:
    """The cost of one file so far; raises ``LimitError`` past a limit."""

    def __init__(self, limits: ManifestSettings) -> None:
        self._limits = limits
        self.nodes = 0
        #: Characters of the scalars, each alias use counted again. Without
        #: aliases this never exceeds the file's size (a scalar is never longer
        #: than its source), so only aliases can take it past the size limit.
        self.text = 0
        self.deepest = 0

    @property
    def limits(self) -> ManifestSettings:
        return self._limits

    def document(self, index: int) -> None:
        """Document ``index`` (0-based) of the file is about to be read."""
        if index >= self._limits.max_documents:
            raise LimitError(
                f"too many documents: more than {self._limits.max_documents} in one file",
                flag=DOCUMENTS_FLAG,
            )

    def spend(self, nodes: int, *, depth: int, text: int = 0) -> None:
        """``nodes`` more values holding ``text`` characters, the deepest of
        them at nesting ``depth`` (top = 1)."""
        if depth > self.deepest:
            if depth > self._limits.max_depth:
                raise self.too_deep()
            self.deepest = depth
        self.text += text
        if self.text > self._limits.max_file_size:
            raise LimitError(
                "file too large once its YAML aliases are expanded: more than"
                f" {format_byte_size(self._limits.max_file_size)} of text",
                flag=FILE_SIZE_FLAG,
            )
        self.nodes += nodes
        if self.nodes > self._limits.max_nodes:
            raise LimitError(
                f"too many values: the file expands to more than {self._limits.max_nodes},"
                " counting each use of a YAML alias or merge key as all it stands for",
                flag=NODES_FLAG,
            )

    def too_deep(self) -> LimitError:
        """Also what a reader that ran out of stack means: the depth limit keeps
        readers far from Python's recursion limit, so the file was deeper."""
        return LimitError(
            f"nested too deeply: more than {self._limits.max_depth} levels",
            flag=DEPTH_FLAG,
        )

    def walk(self, value: object) -> None:
        """Spend what an already built value (JSON) holds, without recursion."""
        stack: list[tuple[object, int]] = [(value, 1)]
        while stack:
            item, depth = stack.pop()
            self.spend(1, depth=depth)
            children: Iterable[object] = ()
            if isinstance(item, dict):
                if item:  # the keys are values too, as YAML counts them
                    self.spend(len(item), depth=depth + 1)
                children = item.values()
            elif isinstance(item, list):
                children = item
            stack.extend((child, depth + 1) for child in children)

"""From the bytes of one file to checked object documents, cached by blob id.

Everything here depends only on a file's content, never on its path or on
the cluster, which is what makes the result safe to cache by blob id: a file
that did not change between two revisions is never parsed again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from fluxd.errors import LimitError
from fluxd.manifests import yamlstream
from fluxd.manifests.limits import Budget, check_file_size
from fluxd.settings import ManifestSettings
from fluxids import group_of

JsonDict = dict[str, Any]

_KUSTOMIZE_GROUP = "kustomize.config.k8s.io"

# Lists may hold Lists (kubectl flattens them too), but not without end.
_MAX_LIST_DEPTH = 8


@dataclass(frozen=True, slots=True)
class Document:
    """One object as written in git: checked, but not yet placed in a namespace."""

    index: int  # of the YAML document within the file, 0-based
    line: int  # 1-based
    data: JsonDict
    checksum: str


@dataclass(frozen=True, slots=True)
class Problem:
    """Why (part of) a file could not be read; the path is added by the caller."""

    message: str
    document: int | None = None
    line: int | None = None
    help: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedFile:
    documents: tuple[Document, ...]
    problems: tuple[Problem, ...]


class _Invalid(Exception):
    """A document breaks a rule; carries the message for its ``Problem``."""


def checksum_of(data: JsonDict) -> str:
    """sha1 hex of the canonical JSON of ``data``: key order and layout do not count."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def read_and_parse(
    read: Callable[[], bytes], *, is_json: bool, limits: ManifestSettings | None = None
) -> ParsedFile:
    """``parse_file`` of what ``read`` returns; a reader may refuse a file over a limit."""
    try:
        content = read()
    except LimitError as exc:
        return _refused(exc)
    return parse_file(content, is_json=is_json, limits=limits)


def parse_file(
    content: bytes, *, is_json: bool, limits: ManifestSettings | None = None
) -> ParsedFile:
    """Read every object of one file, collecting problems instead of stopping.

    A file over one of ``limits`` yields no objects at all, only the problem:
    what it describes would be a guess.
    """
    budget = Budget(limits or ManifestSettings())
    documents: list[Document] = []
    problems: list[Problem] = []
    try:
        check_file_size(len(content), budget.limits)
        raw = list(
            _json_documents(content, budget) if is_json else _yaml_documents(content, budget)
        )
    except LimitError as exc:
        return _refused(exc)
    for index, line, value in raw:
        found = [value] if isinstance(value, Problem) else _objects(value, index, line)
        for item in found:
            if isinstance(item, Document):
                documents.append(item)
            else:
                problems.append(item)
    return ParsedFile(tuple(documents), tuple(problems))


def _refused(exc: LimitError) -> ParsedFile:
    return ParsedFile((), (Problem(str(exc), help=exc.help),))


# (document index, line, the value or the Problem that stopped the file)
_Raw = tuple[int, int, object]


def _yaml_documents(content: bytes, budget: Budget) -> Iterator[_Raw]:
    index = 0
    try:
        for line, value in yamlstream.documents(content, budget):
            yield index, line, value
            index += 1
    except yaml.MarkedYAMLError as exc:
        # The stream cannot be resumed after a syntax error; the documents
        # before it are kept, the rest of the file is reported.
        at = exc.problem_mark.line + 1 if exc.problem_mark else None
        yield index, 0, Problem(f"malformed YAML: {_describe(exc)}", index, at)
    except yaml.YAMLError as exc:
        yield index, 0, Problem(f"malformed YAML: {exc}", index)
    except RecursionError as exc:
        raise budget.too_deep() from exc


def _describe(exc: yaml.MarkedYAMLError) -> str:
    parts = [exc.context, exc.problem]
    return ", ".join(part for part in parts if part) or type(exc).__name__


def _json_documents(content: bytes, budget: Budget) -> Iterator[_Raw]:
    try:
        value = json.loads(content, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        yield 0, 0, Problem(f"malformed JSON: {exc.msg}", 0, exc.lineno)
    except (UnicodeDecodeError, ValueError) as exc:
        yield 0, 0, Problem(f"malformed JSON: {exc}", 0)
    except RecursionError as exc:
        raise budget.too_deep() from exc
    else:
        budget.walk(value)
        yield 0, 1, value


def _reject_constant(name: str) -> object:
    # NaN and Infinity are not JSON and the API server would refuse them.
    raise ValueError(f"{name} is not allowed")


def _objects(
    value: object, index: int, line: int, *, depth: int = 0, where: str = ""
) -> Iterator[Document | Problem]:
    """The objects a document stands for (none, itself, or a List's items).

    A bad List item is reported on its own; its siblings still load.
    """
    try:
        items = _list_items(value, depth=depth)
        if items is None:
            document = _document(value, index, line)
            if document is not None:
                yield document
            return
    except _Invalid as exc:
        yield Problem(f"{where}{exc}", index, line)
        return
    for number, item in enumerate(items):
        context = f"{where}item {number} of the List: "
        yield from _objects(item, index, line, depth=depth + 1, where=context)


def _list_items(value: object, *, depth: int) -> list[object] | None:
    """The items when ``value`` is a List, else None."""
    if not isinstance(value, dict):
        return None
    kind = value.get("kind")
    # Real kinds may end in "List" too (AllowList...); only `items` makes a List.
    if not (isinstance(kind, str) and kind.endswith("List") and "items" in value):
        return None
    items = value["items"]
    if items is None:
        return []
    if not isinstance(items, list):
        raise _Invalid("the items of a List must be a sequence")
    if depth >= _MAX_LIST_DEPTH:
        raise _Invalid("Lists nested too deeply")
    return items


def _document(value: object, index: int, line: int) -> Document | None:
    if value is None:
        return None  # an empty document, e.g. after a trailing '---'
    if not isinstance(value, dict):
        raise _Invalid(f"not a Kubernetes object: the document is a {_type_name(value)}")
    kind = value.get("kind")
    if kind is None or kind == "":
        return None  # Flux v1 skips documents without a kind
    if not isinstance(kind, str):
        raise _Invalid("kind must be a string")
    if _is_build_config(value.get("apiVersion")):
        return None
    _check(value)
    try:
        checksum = checksum_of(value)
    except (TypeError, ValueError) as exc:
        raise _Invalid(f"cannot be represented as JSON: {exc}") from exc
    return Document(index, line, value, checksum)


def _is_build_config(api_version: object) -> bool:
    # kustomization.yaml files often sit next to the manifests they list; they
    # are input to a build, not objects, and no cluster can ever place them.
    return isinstance(api_version, str) and group_of(api_version) == _KUSTOMIZE_GROUP


def _check(value: JsonDict) -> None:
    """Reject what the API server would refuse anyway, with a clearer message."""
    if not _is_text(value.get("apiVersion")):
        raise _Invalid("missing apiVersion")
    metadata = value.get("metadata")
    if not isinstance(metadata, dict):
        raise _Invalid("missing metadata")
    if not _is_text(metadata.get("name")):
        raise _Invalid("missing metadata.name")
    namespace = metadata.get("namespace")
    if namespace is not None and not isinstance(namespace, str):
        raise _Invalid("metadata.namespace must be a string")
    for key in ("labels", "annotations"):
        if metadata.get(key) is not None and not isinstance(metadata[key], dict):
            raise _Invalid(f"metadata.{key} must be a mapping")


def _is_text(value: object) -> bool:
    return isinstance(value, str) and value != ""


def _type_name(value: object) -> str:
    if isinstance(value, list):
        return "sequence"
    return "scalar"


CacheKey = tuple[str, bool]


class ParseCache:
    """Parsed files by blob id, bounded to the files of the latest load.

    Not thread-safe: one sync runs at a time, and it owns the cache.
    """

    def __init__(self, limits: ManifestSettings | None = None) -> None:
        #: Fixed for the cache's life: a blob's parse depends on them too.
        self.limits = limits or ManifestSettings()
        self._entries: dict[CacheKey, ParsedFile] = {}
        self._used: dict[CacheKey, ParsedFile] = {}
        #: What the loader keeps of the last load, to reuse it when nothing changed.
        self.last_load: object = None
        #: The resources the last load placed (fluxd.manifests.loading), by document.
        self.placements: object = None
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def parse(self, blob_id: str, read: Callable[[], bytes], *, is_json: bool) -> ParsedFile:
        """The parse of blob ``blob_id``; ``read`` is called only on a miss."""
        key = (blob_id, is_json)  # the same bytes parse differently as JSON
        parsed = self._used.get(key) or self._entries.get(key)
        if parsed is None:
            self.misses += 1
            parsed = read_and_parse(read, is_json=is_json, limits=self.limits)
        else:
            self.hits += 1
        self._used[key] = parsed
        return parsed

    def end_load(self) -> None:
        """Keep only what the load just finished used, so the cache cannot grow."""
        self._entries, self._used = self._used, {}

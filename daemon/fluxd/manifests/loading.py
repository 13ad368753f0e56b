"""The desired set of objects of one revision, and what kept parts of it out.

A broken file, document or duplicate never hides the rest: each becomes a
``ManifestError`` and loading goes on. Because of that, a ``LoadResult`` that
is not ``complete`` must not drive garbage collection, or objects that are
only unreadable this time would be deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from fluxd.errors import ManifestError
from fluxd.manifests import parsing
from fluxd.manifests.parsing import Document, ParseCache, ParsedFile
from fluxd.manifests.resources import Resource, make_resource
from fluxids import ObjectRef, group_of

#: ``(api_version, kind) -> True`` when namespaced, ``False`` when
#: cluster-scoped, ``None`` when the cluster does not know the kind.
ScopeResolver = Callable[[str, str], bool | None]

_CRD_GROUP = "apiextensions.k8s.io"
_FALLBACK_NAMESPACE = "default"  # Flux v1's last resort, like kubectl's


@dataclass(frozen=True, slots=True)
class Unresolved:
    """An object whose kind is unknown yet, typically a custom resource whose
    CustomResourceDefinition is installed by something applied in this sync."""

    source: str
    document: Document

    @property
    def api_version(self) -> str:
        return str(self.document.data["apiVersion"])

    @property
    def kind(self) -> str:
        return str(self.document.data["kind"])

    @property
    def name(self) -> str:
        return str(self.document.data["metadata"]["name"])

    def error(self) -> ManifestError:
        """The problem to report if the kind is still unknown after retrying."""
        return ManifestError(
            f"cannot tell whether {self.kind} {self.name!r} ({self.api_version}) is namespaced:"
            " no CustomResourceDefinition for it is installed or in the repo",
            path=self.source,
            document=self.document.index,
            line=self.document.line,
            help="Install the CustomResourceDefinition of this kind, or fix apiVersion/kind.",
        )


@dataclass(slots=True)
class LoadResult:
    resources: list[Resource] = field(default_factory=list)
    errors: list[ManifestError] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)
    #: Ids defined more than once (none of their copies is in ``resources``).
    duplicated: set[ObjectRef] = field(default_factory=set)

    @property
    def complete(self) -> bool:
        """Whether every object was loaded; garbage collection is safe only then."""
        return not self.errors and not self.unresolved

    def copy(self) -> LoadResult:
        """The same objects in new lists (a caller may extend what it was given)."""
        return LoadResult(list(self.resources), list(self.errors), list(self.unresolved))


def load(
    files: Mapping[str, bytes],
    blob_ids: Mapping[str, str],
    *,
    scope: ScopeResolver,
    default_namespace: str,
    cache: ParseCache | None = None,
) -> LoadResult:
    """The objects the files of one revision describe.

    ``files`` may be lazy: content is read only for blobs the cache lacks.
    Paths ending in ``.json`` are read as JSON, all others as YAML streams.
    """
    cache = ParseCache() if cache is None else cache
    # Only files known by blob id can be known unchanged.
    keyed = len(files) == len(blob_ids) and all(path in blob_ids for path in files)
    key = _LoadKey(default_namespace, tuple(sorted(blob_ids.items()))) if keyed else None
    memo = cache.last_load
    if key is not None and isinstance(memo, _LoadMemo) and memo.still_valid(key, scope):
        cache.hits += len(files)  # every file's parse came from the cache
        return memo.result.copy()
    parsed = {path: _parse(path, files, blob_ids, cache) for path in sorted(files)}
    cache.end_load()
    result = LoadResult()
    for path, parsed_file in parsed.items():
        result.errors.extend(_file_errors(path, parsed_file))
    documents = [
        (path, doc) for path, parsed_file in parsed.items() for doc in parsed_file.documents
    ]
    asked: dict[tuple[str, str], bool | None] = {}
    resolver = _with_repo_crds(_recording(scope, asked), _crd_scopes(doc for _, doc in documents))
    placements = cache.placements if isinstance(cache.placements, _Placements) else _Placements()
    namespace = default_namespace or _FALLBACK_NAMESPACE
    _place(documents, resolver, namespace, result, loaded=(), placements=placements)
    placements.end_load()
    cache.placements = placements
    memo_now = key is not None and not result.unresolved
    cache.last_load = _LoadMemo(key, asked, result.copy()) if key and memo_now else None
    return result


@dataclass(frozen=True, slots=True)
class _LoadKey:
    default_namespace: str
    blobs: tuple[tuple[str, str], ...]  # (path, blob id), sorted


@dataclass(frozen=True, slots=True)
class _LoadMemo:
    """The last load, reused while its files and the cluster's answers are the same.

    Placing every object again (ids, namespaces, policies) was most of a
    no-op pass's own work at thousands of objects; the files are the same
    blobs, so the outcome is the same unless the cluster now answers a
    kind's scope differently (a CRD replaced), which is checked each time.
    """

    key: _LoadKey
    scopes: Mapping[tuple[str, str], bool | None]
    result: LoadResult

    def still_valid(self, key: _LoadKey, scope: ScopeResolver) -> bool:
        if key != self.key:
            return False
        return all(scope(*kind) == answer for kind, answer in self.scopes.items())


_PlaceKey = tuple[int, str, str | None]  # id() of the document, its path, its namespace


@dataclass(slots=True)
class _Placements:
    """The resources the last load placed, to reuse for the same documents.

    A push changes a few files; every other document is the same object from
    the parse cache, and placing each again (id, body copy, policies) was
    most of a one-change pass's own work at 20,000 objects. A key holds the
    document's id(), unique only while it lives, so the document is kept
    with its resource and compared by identity.
    """

    previous: dict[_PlaceKey, tuple[Document, Resource]] = field(default_factory=dict)
    current: dict[_PlaceKey, tuple[Document, Resource]] = field(default_factory=dict)

    def place(self, doc: Document, path: str, namespace: str | None) -> Resource:
        key = (id(doc), path, namespace)
        found = self.current.get(key) or self.previous.get(key)
        if found is None or found[0] is not doc:
            found = (doc, make_resource(doc, path, namespace=namespace))
        self.current[key] = found
        return found[1]

    def end_load(self) -> None:
        """Keep only what this load placed, so the memo cannot grow."""
        self.previous, self.current = self.current, {}


def _recording(scope: ScopeResolver, asked: dict[tuple[str, str], bool | None]) -> ScopeResolver:
    def resolve(api_version: str, kind: str) -> bool | None:
        answer = asked[(api_version, kind)] = scope(api_version, kind)
        return answer

    return resolve


def resolve_unresolved(
    unresolved: Iterable[Unresolved],
    *,
    scope: ScopeResolver,
    default_namespace: str,
    loaded: Sequence[Resource] = (),
) -> LoadResult:
    """Try again to place objects whose kind was unknown (e.g. after applying CRDs).

    ``loaded`` are the resources placed before, checked for duplicates.
    """
    documents = [(item.source, item.document) for item in unresolved]
    result = LoadResult()
    namespace = default_namespace or _FALLBACK_NAMESPACE
    _place(documents, scope, namespace, result, loaded=loaded, placements=_Placements())
    return result


def _parse(
    path: str, files: Mapping[str, bytes], blob_ids: Mapping[str, str], cache: ParseCache
) -> ParsedFile:
    blob_id = blob_ids.get(path)
    is_json = path.lower().endswith(".json")
    if blob_id is None:  # nothing to key on: parse, but do not remember
        return parsing.read_and_parse(lambda: files[path], is_json=is_json, limits=cache.limits)
    return cache.parse(blob_id, lambda: files[path], is_json=is_json)


def _file_errors(path: str, parsed: ParsedFile) -> Iterator[ManifestError]:
    for problem in parsed.problems:
        yield ManifestError(
            problem.message,
            path=path,
            document=problem.document,
            line=problem.line,
            help=problem.help,
        )


def _crd_scopes(documents: Iterable[Document]) -> dict[tuple[str, str], bool]:
    """Scope of each custom kind defined in the repo, by (group, kind)."""
    scopes: dict[tuple[str, str], bool] = {}
    for doc in documents:
        data = doc.data
        if data["kind"] != "CustomResourceDefinition" or group_of(data["apiVersion"]) != _CRD_GROUP:
            continue
        spec = data.get("spec")
        if not isinstance(spec, dict) or not isinstance(spec.get("names"), dict):
            continue
        key = (spec.get("group"), spec["names"].get("kind"))
        if all(isinstance(part, str) for part in key) and spec.get("scope") in (
            "Namespaced",
            "Cluster",
        ):
            scopes[(str(key[0]), str(key[1]))] = spec["scope"] == "Namespaced"
    return scopes


def _with_repo_crds(
    scope: ScopeResolver, crd_scopes: Mapping[tuple[str, str], bool]
) -> ScopeResolver:
    # The cluster's answer comes first: it is what the apply will meet. One
    # question per kind, however many objects of it the repo holds.
    answers: dict[tuple[str, str], bool | None] = {}

    def resolve(api_version: str, kind: str) -> bool | None:
        key = (api_version, kind)
        if key not in answers:
            answer = scope(api_version, kind)
            fallback = crd_scopes.get((group_of(api_version), kind))
            answers[key] = fallback if answer is None else answer
        return answers[key]

    return resolve


def _place(
    documents: Sequence[tuple[str, Document]],
    scope: ScopeResolver,
    default_namespace: str,
    result: LoadResult,
    *,
    loaded: Sequence[Resource],
    placements: _Placements,
) -> None:
    """Give each document its namespace and id; report duplicates and unknown kinds."""
    first: dict[ObjectRef, Resource] = {resource.ref: resource for resource in loaded}
    placed: list[Resource] = []
    duplicated: set[ObjectRef] = set()
    for path, doc in documents:
        data = doc.data
        namespaced = scope(data["apiVersion"], data["kind"])
        if namespaced is None:
            result.unresolved.append(Unresolved(path, doc))
            continue
        namespace = (data["metadata"].get("namespace") or default_namespace) if namespaced else None
        resource = placements.place(doc, path, namespace)
        if resource.ref in first:
            result.errors.append(_duplicate(first[resource.ref], resource))
            duplicated.add(resource.ref)
            continue
        first[resource.ref] = resource
        placed.append(resource)
    # Which copy is meant is anyone's guess, so none is applied.
    result.resources.extend(r for r in placed if r.ref not in duplicated)
    result.duplicated |= duplicated


def _duplicate(first: Resource, again: Resource) -> ManifestError:
    return ManifestError(
        f"duplicate definition of '{again.ref}' (in {first.source} and {again.source})",
        path=again.source,
        document=again.document,
        line=again.line,
        help="Keep one definition of the object; neither copy is applied until then.",
    )

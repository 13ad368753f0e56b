"""An unchanged file is parsed once across syncs, and the cache stays bounded."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest

from fluxd.manifests import ParseCache, ScopeResolver, load, parsing

DOC = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\n"


class CountingFiles(Mapping[str, bytes]):
    """A lazy file set, as the git layer may pass: counts what is read."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.reads: list[str] = []

    def __getitem__(self, path: str) -> bytes:
        self.reads.append(path)
        return self.files[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self.files)

    def __len__(self) -> int:
        return len(self.files)


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every content handed to the parser, in order."""
    seen: list[bytes] = []
    real = parsing.parse_file

    def counting(content: bytes, *, is_json: bool, **limits: object) -> parsing.ParsedFile:
        seen.append(content)
        return real(content, is_json=is_json, **limits)  # type: ignore[arg-type]

    monkeypatch.setattr(parsing, "parse_file", counting)
    return seen


def test_a_file_whose_blob_did_not_change_is_not_parsed_again(
    scope: ScopeResolver, parses: list[bytes]
) -> None:
    cache = ParseCache()
    files = CountingFiles({"a.yaml": DOC % b"a", "b.yaml": DOC % b"b"})
    blobs = {"a.yaml": "blob-a", "b.yaml": "blob-b"}
    first = load(files, blobs, scope=scope, default_namespace="default", cache=cache)
    second = load(files, blobs, scope=scope, default_namespace="default", cache=cache)
    assert len(parses) == 2
    assert files.reads == ["a.yaml", "b.yaml"]  # the second load read nothing
    assert (cache.hits, cache.misses) == (2, 2)
    assert [r.checksum for r in first.resources] == [r.checksum for r in second.resources]


def test_only_the_changed_blob_is_parsed_on_the_next_load(
    scope: ScopeResolver, parses: list[bytes]
) -> None:
    cache = ParseCache()
    files = {"a.yaml": DOC % b"a", "b.yaml": DOC % b"b"}
    load(files, {"a.yaml": "a1", "b.yaml": "b1"}, scope=scope, default_namespace="x", cache=cache)
    files["b.yaml"] = DOC % b"b2"
    result = load(
        files, {"a.yaml": "a1", "b.yaml": "b2"}, scope=scope, default_namespace="x", cache=cache
    )
    assert parses == [DOC % b"a", DOC % b"b", DOC % b"b2"]
    assert [r.ref.name for r in result.resources] == ["a", "b2"]


def test_a_blob_at_two_paths_is_parsed_once_and_errors_name_each_path(
    scope: ScopeResolver, parses: list[bytes]
) -> None:
    broken = b"kind: ConfigMap\nmetadata: {name: x}\n"
    result = load(
        {"one.yaml": broken, "two.yaml": broken},
        {"one.yaml": "same", "two.yaml": "same"},
        scope=scope,
        default_namespace="default",
        cache=ParseCache(),
    )
    assert len(parses) == 1
    assert [e.path for e in result.errors] == ["one.yaml", "two.yaml"]


def test_the_same_blob_as_json_and_as_yaml_is_parsed_for_each(
    scope: ScopeResolver, parses: list[bytes]
) -> None:
    content = b'{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}'
    load(
        {"c.json": content, "d/c.yaml": content},
        {"c.json": "same", "d/c.yaml": "same"},
        scope=scope,
        default_namespace="default",
        cache=ParseCache(),
    )
    assert len(parses) == 2


def test_entries_not_used_by_the_latest_load_are_dropped(scope: ScopeResolver) -> None:
    cache = ParseCache()
    for revision in range(5):
        files = {f"f{n}.yaml": DOC % f"r{revision}-{n}".encode() for n in range(3)}
        blobs = {path: f"{revision}-{path}" for path in files}
        load(files, blobs, scope=scope, default_namespace="default", cache=cache)
        assert len(cache) == 3


def test_a_file_without_a_blob_id_is_parsed_every_time(
    scope: ScopeResolver, parses: list[bytes]
) -> None:
    cache = ParseCache()
    for _ in range(2):
        load({"a.yaml": DOC % b"a"}, {}, scope=scope, default_namespace="default", cache=cache)
    assert len(parses) == 2
    assert len(cache) == 0


def test_an_unchanged_load_gives_the_same_objects_in_lists_of_its_own(
    scope: ScopeResolver,
) -> None:
    cache = ParseCache()
    blobs = {"a.yaml": "blob-a"}
    first = load({"a.yaml": DOC % b"a"}, blobs, scope=scope, default_namespace="d", cache=cache)
    first.resources.clear()  # what one caller does with its result...

    second = load({"a.yaml": DOC % b"a"}, blobs, scope=scope, default_namespace="d", cache=cache)

    assert [str(r.ref) for r in second.resources] == ["d:configmap/a"]  # ...is not seen here


def test_a_kind_the_cluster_now_scopes_differently_is_placed_again() -> None:
    cache = ParseCache()
    files, blobs = {"a.yaml": DOC % b"a"}, {"a.yaml": "blob-a"}
    namespaced: dict[tuple[str, str], bool | None] = {("v1", "ConfigMap"): True}

    def scope(api_version: str, kind: str) -> bool | None:
        return namespaced.get((api_version, kind))

    before = load(files, blobs, scope=scope, default_namespace="d", cache=cache)
    namespaced[("v1", "ConfigMap")] = False
    after = load(files, blobs, scope=scope, default_namespace="d", cache=cache)

    assert [str(r.ref) for r in before.resources] == ["d:configmap/a"]
    assert [str(r.ref) for r in after.resources] == ["<cluster>:configmap/a"]


def test_a_load_with_unknown_kinds_is_placed_again_next_time() -> None:
    cache = ParseCache()
    files, blobs = {"a.yaml": DOC % b"a"}, {"a.yaml": "blob-a"}
    known: dict[tuple[str, str], bool | None] = {}

    def scope(api_version: str, kind: str) -> bool | None:
        return known.get((api_version, kind))

    before = load(files, blobs, scope=scope, default_namespace="d", cache=cache)
    known[("v1", "ConfigMap")] = True  # its CRD was installed meanwhile
    after = load(files, blobs, scope=scope, default_namespace="d", cache=cache)

    assert (len(before.unresolved), len(after.resources)) == (1, 1)


def test_a_push_places_again_only_the_documents_it_changed(scope: ScopeResolver) -> None:
    cache = ParseCache()
    files = {"a.yaml": DOC % b"a", "b.yaml": DOC % b"b"}
    first = load(
        files, {"a.yaml": "a1", "b.yaml": "b1"}, scope=scope, default_namespace="x", cache=cache
    )
    files["b.yaml"] = DOC % b"b2"
    pushed = {"a.yaml": "a1", "b.yaml": "b2"}
    second = load(files, pushed, scope=scope, default_namespace="x", cache=cache)
    assert second.resources[0] is first.resources[0]  # a.yaml: the same blob, placed once
    assert [r.ref.name for r in second.resources] == ["a", "b2"]
    # Another default namespace places every document anew.
    moved = load(files, pushed, scope=scope, default_namespace="y", cache=cache)
    assert [str(r.ref) for r in moved.resources] == ["y:configmap/a", "y:configmap/b2"]


def test_the_same_document_at_another_path_is_a_resource_of_that_path(
    scope: ScopeResolver,
) -> None:
    cache = ParseCache()
    doc = DOC % b"a"
    load({"a.yaml": doc}, {"a.yaml": "same"}, scope=scope, default_namespace="x", cache=cache)
    moved = load(
        {"b.yaml": doc}, {"b.yaml": "same"}, scope=scope, default_namespace="x", cache=cache
    )
    assert [r.source for r in moved.resources] == ["b.yaml"]

"""A file over a limit fails alone, fast and in bounded memory; one under it loads.

Memory is measured with tracemalloc (the peak of what Python allocated while
the file was read), not time: a shared machine makes times meaningless.
"""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from fluxd.errors import ManifestError
from fluxd.manifests import load
from fluxd.manifests.parsing import ParseCache, parse_file
from fluxd.settings import ManifestSettings
from unit.manifests.conftest import blob_id, builtin_scope

MiB = 1024 * 1024
CONFIG_MAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\n"


def alias_bomb(levels: int = 9, width: int = 9) -> bytes:
    """The "billion laughs": each anchor is a list of ``width`` uses of the one before."""
    lines = ['  a0: &a0 ["lol"]']
    for level in range(1, levels + 1):
        uses = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"  a{level}: &a{level} [{uses}]")
    return (CONFIG_MAP % "bomb" + "data:\n" + "\n".join(lines) + "\n").encode()


def merge_bomb(levels: int = 9, width: int = 9) -> bytes:
    """The same blow-up through merge keys: each mapping merges the one before ``width`` times."""
    lines = ["  m0: &m0 {k: v}"]
    for level in range(1, levels + 1):
        uses = ", ".join([f"*m{level - 1}"] * width)
        lines.append(f"  m{level}: &m{level} {{<<: [{uses}]}}")
    return (CONFIG_MAP % "merges" + "data:\n" + "\n".join(lines) + "\n").encode()


@contextmanager
def peak_memory() -> Iterator[Callable[[], int]]:
    """The peak bytes Python allocated inside the block."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    peak = 0
    try:
        yield lambda: peak
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


def only_problem(content: bytes, limits: ManifestSettings, *, is_json: bool = False) -> str:
    parsed = parse_file(content, is_json=is_json, limits=limits)
    assert parsed.documents == ()
    assert len(parsed.problems) == 1, parsed.problems
    return parsed.problems[0].message


def names(content: bytes, limits: ManifestSettings, *, is_json: bool = False) -> list[str]:
    parsed = parse_file(content, is_json=is_json, limits=limits)
    assert parsed.problems == (), parsed.problems
    return [doc.data["metadata"]["name"] for doc in parsed.documents]


# --- aliases ---------------------------------------------------------------------


def test_an_alias_bomb_fails_at_the_value_limit_in_bounded_memory() -> None:
    content = alias_bomb()
    with peak_memory() as peak:
        parsed = parse_file(content, is_json=False, limits=ManifestSettings())
    assert parsed.documents == ()
    assert [p.message for p in parsed.problems] == [
        "too many values: the file expands to more than 500000, counting each use of a"
        " YAML alias or merge key as all it stands for (--manifest-max-nodes)"
    ]
    assert peak() < 2 * MiB  # 9^9 strings would be gigabytes


def test_a_merge_key_bomb_fails_the_same_way() -> None:
    with peak_memory() as peak:
        message = only_problem(merge_bomb(), ManifestSettings())
    assert message.endswith("(--manifest-max-nodes)")
    assert peak() < 2 * MiB


def test_anchors_and_merge_keys_of_an_ordinary_file_still_work() -> None:
    content = b"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: &labels {app: web, tier: front}
spec:
  selector: {matchLabels: *labels}
  template:
    metadata: {labels: *labels}
    spec:
      containers:
      - &defaults {name: web, image: nginx:1.25, imagePullPolicy: IfNotPresent}
      - <<: *defaults
        name: sidecar
        image: busybox:1.36
"""
    parsed = parse_file(content, is_json=False, limits=ManifestSettings())
    assert parsed.problems == ()
    spec = parsed.documents[0].data["spec"]
    assert spec["selector"]["matchLabels"] == {"app": "web", "tier": "front"}
    assert spec["template"]["spec"]["containers"][1] == {
        "name": "sidecar",
        "image": "busybox:1.36",
        "imagePullPolicy": "IfNotPresent",
    }


def test_each_use_of_an_alias_counts_as_every_value_it_stands_for() -> None:
    # mapping, key a, the list and its 2 items, key b, and *x again (3): 9 values
    content = b"{a: &x [1, 2], b: *x}\n"
    assert parse_file(content, is_json=False, limits=ManifestSettings(max_nodes=9)).problems == ()
    message = only_problem(content, ManifestSettings(max_nodes=8))
    assert "more than 8" in message


def test_aliases_of_a_long_string_count_its_text_against_the_size_limit() -> None:
    uses = ", ".join(["*blob"] * 100)
    content = f"a: &blob '{'x' * 100_000}'\nb: [{uses}]\n".encode()
    with peak_memory() as peak:
        message = only_problem(content, ManifestSettings())
    assert message == (
        "file too large once its YAML aliases are expanded: more than 4Mi of text"
        " (--manifest-max-file-size)"
    )
    assert peak() < 2 * MiB


def test_text_repeated_by_aliases_is_counted_exactly() -> None:
    content = b"{a: &x abcdefghij, b: [*x, *x, *x]}\n"
    text = len("a") + 10 + len("b") + 3 * 10  # 42 characters once expanded
    assert len(content) < text
    assert (
        parse_file(content, is_json=False, limits=ManifestSettings(max_file_size=text)).problems
        == ()
    )
    message = only_problem(content, ManifestSettings(max_file_size=text - 1))
    assert message.startswith("file too large once its YAML aliases are expanded")


@pytest.mark.parametrize("padding", [0, 70_000], ids=["small file", "large file"])
def test_values_without_aliases_are_counted_one_each(padding: int) -> None:
    content = b"{a: 1, b: 2}\n" + b"#" * padding + b"\n"  # the mapping, 2 keys, 2 values
    assert parse_file(content, is_json=False, limits=ManifestSettings(max_nodes=5)).problems == ()
    assert "more than 4" in only_problem(content, ManifestSettings(max_nodes=4))


def test_an_alias_inside_the_node_it_names_is_refused() -> None:
    message = only_problem(b"&a [*a]\n", ManifestSettings())
    assert message == "malformed YAML: alias *a is used inside the node it names"


# --- size of a file -------------------------------------------------------------------


def test_a_file_at_the_size_limit_loads_and_one_byte_more_fails() -> None:
    content = (CONFIG_MAP % "sized").encode()
    assert names(content, ManifestSettings(max_file_size=len(content))) == ["sized"]
    message = only_problem(content, ManifestSettings(max_file_size=len(content) - 1))
    assert message == (
        f"file too large: {len(content)} bytes is over the limit of {len(content) - 1}"
        " (--manifest-max-file-size)"
    )


def test_the_size_limit_applies_to_json_too() -> None:
    content = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "j"}})
    message = only_problem(content.encode(), ManifestSettings(max_file_size=10), is_json=True)
    assert message.endswith("over the limit of 10 (--manifest-max-file-size)")


# --- documents --------------------------------------------------------------------------


def test_a_file_with_as_many_documents_as_allowed_loads() -> None:
    content = "---\n".join(CONFIG_MAP % f"cm-{i}" for i in range(20)).encode()
    assert len(names(content, ManifestSettings(max_documents=20))) == 20


def test_a_file_with_one_document_too_many_fails_whole() -> None:
    content = "---\n".join(CONFIG_MAP % f"cm-{i}" for i in range(21)).encode()
    message = only_problem(content, ManifestSettings(max_documents=20))
    assert message == "too many documents: more than 20 in one file (--manifest-max-documents)"


def test_many_empty_documents_count_as_documents() -> None:
    content = b"---\n" * 5000
    with peak_memory() as peak:
        message = only_problem(content, ManifestSettings())
    assert "more than 1000" in message
    assert peak() < 2 * MiB


# --- nesting -----------------------------------------------------------------------


def nested_yaml(depth: int) -> bytes:
    """A ConfigMap whose ``data`` is nested to ``depth`` levels in all."""
    value = "x"
    for _ in range(depth - 3):  # the document's mapping, data's mapping, and "x"
        value = f"[{value}]"
    return (CONFIG_MAP % "deep" + f"data: {{k: {value}}}\n").encode()


def test_a_document_nested_as_deep_as_allowed_loads() -> None:
    assert names(nested_yaml(30), ManifestSettings(max_depth=30)) == ["deep"]


def test_a_document_nested_one_level_too_deep_fails() -> None:
    message = only_problem(nested_yaml(31), ManifestSettings(max_depth=30))
    assert message == "nested too deeply: more than 30 levels (--manifest-max-depth)"


def test_depth_through_an_alias_counts_the_levels_it_brings() -> None:
    # y (2) holds z's value: *x's list (3) and its list (4) and 1 (5)
    content = b"x: &x [[1]]\ny: {z: *x}\n"
    assert parse_file(content, is_json=False, limits=ManifestSettings(max_depth=5)).problems == ()
    assert "more than 4 levels" in only_problem(content, ManifestSettings(max_depth=4))


def test_deep_json_fails_with_the_depth_limit_not_a_recursion_error() -> None:
    content = b"[" * 100_000 + b"]" * 100_000
    message = only_problem(content, ManifestSettings(), is_json=True)
    assert message == "nested too deeply: more than 100 levels (--manifest-max-depth)"


def test_json_nested_just_past_the_limit_fails_and_at_it_loads() -> None:
    def nested(depth: int) -> bytes:
        value: object = "x"
        for _ in range(depth - 2):
            value = [value]
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "j"}, "d": value}
        return json.dumps(body).encode()

    assert names(nested(40), ManifestSettings(max_depth=40), is_json=True) == ["j"]
    message = only_problem(nested(41), ManifestSettings(max_depth=40), is_json=True)
    assert message.endswith("more than 40 levels (--manifest-max-depth)")


def test_deep_yaml_fails_with_the_depth_limit() -> None:
    content = b"[" * 900 + b"]" * 900
    assert only_problem(content, ManifestSettings()).endswith("(--manifest-max-depth)")


# --- within a load ----------------------------------------------------------------


def test_a_file_over_a_limit_fails_alone_and_keeps_garbage_collection_off() -> None:
    files = {"bomb.yaml": alias_bomb(), "good.yaml": (CONFIG_MAP % "good").encode()}
    result = load(
        files,
        {path: blob_id(content) for path, content in files.items()},
        scope=builtin_scope,
        default_namespace="default",
        cache=ParseCache(ManifestSettings()),
    )
    assert [str(r.ref) for r in result.resources] == ["default:configmap/good"]
    assert len(result.errors) == 1
    error = result.errors[0]
    assert isinstance(error, ManifestError)
    assert error.path == "bomb.yaml"
    assert str(error).startswith("bomb.yaml: too many values")
    assert "--manifest-max-nodes" in error.help
    assert not result.complete


def test_a_reader_that_refuses_a_file_makes_that_file_fail_alone() -> None:
    from fluxd.manifests.limits import file_too_large

    class Refusing(dict[str, bytes]):
        def __getitem__(self, path: str) -> bytes:
            if path == "big.yaml":
                raise file_too_large(30 * MiB, 4 * MiB)
            return super().__getitem__(path)

    files = Refusing({"big.yaml": b"", "good.yaml": (CONFIG_MAP % "good").encode()})
    result = load(
        files,
        {"big.yaml": "1" * 40, "good.yaml": "2" * 40},
        scope=builtin_scope,
        default_namespace="default",
    )
    assert [str(r.ref) for r in result.resources] == ["default:configmap/good"]
    assert [str(e) for e in result.errors] == [
        "big.yaml: file too large: 30.0 MiB is over the limit of 4Mi (--manifest-max-file-size)"
    ]

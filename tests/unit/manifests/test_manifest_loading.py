"""Which objects a set of files describes, and how broken input is reported."""

from __future__ import annotations

import json
from collections.abc import Callable

from fluxd.errors import ManifestError
from fluxd.manifests import LoadResult, ScopeResolver, load

LoadTexts = Callable[..., LoadResult]


def _ids(result: LoadResult) -> list[str]:
    return [str(resource.ref) for resource in result.resources]


def _only_error(result: LoadResult) -> ManifestError:
    assert len(result.errors) == 1, result.errors
    return result.errors[0]


def test_every_document_of_a_multi_document_stream_becomes_a_resource(
    load_texts: LoadTexts,
) -> None:
    result = load_texts(
        {
            "app.yaml": """\
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: one}
                ---
                apiVersion: v1
                kind: Secret
                metadata: {name: two}
                """
        }
    )
    assert _ids(result) == ["default:configmap/one", "default:secret/two"]
    assert [(r.source, r.document, r.line) for r in result.resources] == [
        ("app.yaml", 0, 1),
        ("app.yaml", 1, 5),
    ]
    assert result.complete


def test_the_line_of_a_document_is_where_its_content_starts_after_comments(
    load_texts: LoadTexts,
) -> None:
    result = load_texts(
        {
            "app.yaml": """\
                ---
                # the settings
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: one}
                """
        }
    )
    assert result.resources[0].line == 3


def test_empty_documents_and_documents_without_a_kind_are_skipped_silently(
    load_texts: LoadTexts,
) -> None:
    result = load_texts(
        {
            "app.yaml": """\
                ---
                ---
                # nothing but a comment
                ---
                foo: bar
                ---
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: kept}
                ---
                """,
            "empty.yaml": "",
        }
    )
    assert _ids(result) == ["default:configmap/kept"]
    assert result.errors == []


def test_a_list_is_expanded_into_its_items(load_texts: LoadTexts) -> None:
    result = load_texts(
        {
            "list.yaml": """\
                apiVersion: v1
                kind: ConfigMapList
                items:
                - apiVersion: v1
                  kind: ConfigMap
                  metadata: {name: a}
                - apiVersion: v1
                  kind: List
                  items:
                  - apiVersion: v1
                    kind: Secret
                    metadata: {name: nested}
                """
        }
    )
    assert _ids(result) == ["default:configmap/a", "default:secret/nested"]
    assert {r.document for r in result.resources} == {0}


def test_a_kind_ending_in_list_without_items_is_an_ordinary_object(load_texts: LoadTexts) -> None:
    result = load_texts(
        {
            "allow.yaml": """\
                apiVersion: v1
                kind: AllowList
                metadata: {name: a}
                """
        },
        scope=lambda api_version, kind: True,
    )
    assert _ids(result) == ["default:allowlist/a"]


def test_a_json_file_holds_one_object(load_texts: LoadTexts) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}
    result = load_texts({"c.json": json.dumps(body, indent=2)})
    assert _ids(result) == ["default:configmap/c"]
    assert result.resources[0].body["data"] == {"k": "v"}


def test_a_json_list_is_expanded_into_its_items(load_texts: LoadTexts) -> None:
    items = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}},
    ]
    result = load_texts(
        {"all.json": json.dumps({"apiVersion": "v1", "kind": "List", "items": items})}
    )
    assert _ids(result) == ["default:configmap/a", "<cluster>:namespace/demo"]


def test_malformed_json_is_reported_with_its_line(load_texts: LoadTexts) -> None:
    error = _only_error(load_texts({"c.json": '{\n  "kind": "ConfigMap",\n  oops\n}'}))
    assert error.path == "c.json"
    assert error.line == 3
    assert "malformed JSON" in error.cause


def test_a_broken_file_is_reported_with_its_line_and_the_others_still_load(
    load_texts: LoadTexts,
) -> None:
    result = load_texts(
        {
            "a.yaml": """\
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: before}
                """,
            "broken.yaml": """\
                apiVersion: v1
                kind: ConfigMap
                metadata:
                  name: x
                    labels: {}
                """,
            "z.yaml": """\
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: after}
                """,
        }
    )
    assert _ids(result) == ["default:configmap/before", "default:configmap/after"]
    error = _only_error(result)
    assert (error.path, error.document, error.line) == ("broken.yaml", 0, 5)
    assert error.cause.startswith("malformed YAML: ")
    assert str(error).startswith("broken.yaml (document 0, line 5): malformed YAML")
    assert not result.complete


def test_documents_before_a_syntax_error_in_the_same_file_are_kept(load_texts: LoadTexts) -> None:
    result = load_texts(
        {
            "app.yaml": """\
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: fine}
                ---
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: [unclosed
                """
        }
    )
    assert _ids(result) == ["default:configmap/fine"]
    assert _only_error(result).document == 1


def test_a_document_missing_api_version_or_name_is_reported_and_the_rest_loads(
    load_texts: LoadTexts,
) -> None:
    result = load_texts(
        {
            "app.yaml": """\
                kind: ConfigMap
                metadata: {name: no-version}
                ---
                apiVersion: v1
                kind: ConfigMap
                metadata: {labels: {a: b}}
                ---
                apiVersion: v1
                kind: ConfigMap
                ---
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: good}
                """
        }
    )
    assert _ids(result) == ["default:configmap/good"]
    assert [(e.document, e.line, e.cause) for e in result.errors] == [
        (0, 1, "missing apiVersion"),
        (1, 4, "missing metadata.name"),
        (2, 8, "missing metadata"),
    ]


def test_a_document_that_is_not_a_mapping_is_reported(load_texts: LoadTexts) -> None:
    result = load_texts({"app.yaml": "- a\n- b\n---\njust text\n"})
    assert [(e.document, e.cause) for e in result.errors] == [
        (0, "not a Kubernetes object: the document is a sequence"),
        (1, "not a Kubernetes object: the document is a scalar"),
    ]


def test_a_duplicate_object_is_reported_naming_both_files_and_neither_copy_is_kept(
    load_texts: LoadTexts,
) -> None:
    config = """\
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: settings, namespace: demo}
        """
    result = load_texts(
        {
            "a.yaml": config,
            "b.yaml": config,
            "c.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: other, namespace: demo}\n",
        }
    )
    assert _ids(result) == ["demo:secret/other"]
    error = _only_error(result)
    assert error.cause == "duplicate definition of 'demo:configmap/settings' (in a.yaml and b.yaml)"
    assert (error.path, error.document, error.line) == ("b.yaml", 0, 1)


def test_objects_that_differ_only_by_api_group_are_duplicates_as_in_flux_v1(
    load_texts: LoadTexts,
) -> None:
    result = load_texts(
        {
            "a.yaml": """\
                apiVersion: one.example.com/v1
                kind: Widget
                metadata: {name: w}
                ---
                apiVersion: two.example.com/v1
                kind: Widget
                metadata: {name: w}
                """
        },
        scope=lambda api_version, kind: True,
    )
    assert "duplicate definition of 'default:widget/w'" in _only_error(result).cause


def test_timestamps_stay_text_as_the_kubernetes_decoder_keeps_them(load_texts: LoadTexts) -> None:
    result = load_texts(
        {
            "c.yaml": """\
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: c}
                data: {since: 2024-01-31, at: 2024-01-31T10:00:00Z}
                """
        }
    )
    assert result.resources[0].body["data"] == {"since": "2024-01-31", "at": "2024-01-31T10:00:00Z"}


def test_a_value_json_cannot_carry_is_reported_for_its_document(load_texts: LoadTexts) -> None:
    result = load_texts(
        {
            "c.yaml": """\
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: c}
                data: {k: !!binary aGk=}
                """
        }
    )
    assert "cannot be represented as JSON" in _only_error(result).cause


def test_files_are_read_in_path_order_so_the_result_is_deterministic(
    scope: ScopeResolver,
) -> None:
    doc = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\n"
    files = {f"{name}.yaml": doc % name.encode() for name in ["c", "a", "b"]}
    result = load(files, {}, scope=scope, default_namespace="default")
    assert [r.source for r in result.resources] == ["a.yaml", "b.yaml", "c.yaml"]


def test_a_bad_item_of_a_list_is_reported_and_its_siblings_still_load(
    load_texts: LoadTexts,
) -> None:
    result = load_texts(
        {
            "list.yaml": """\
                apiVersion: v1
                kind: List
                items:
                - apiVersion: v1
                  kind: ConfigMap
                  metadata: {name: a}
                - apiVersion: v1
                  kind: ConfigMap
                  metadata: {}
                - apiVersion: v1
                  kind: ConfigMap
                  metadata: {name: c}
                """
        }
    )
    assert _ids(result) == ["default:configmap/a", "default:configmap/c"]
    error = _only_error(result)
    assert (error.document, error.line) == (0, 1)
    assert error.cause == "item 1 of the List: missing metadata.name"


def test_a_list_whose_items_are_not_a_sequence_is_reported(load_texts: LoadTexts) -> None:
    result = load_texts({"list.yaml": "apiVersion: v1\nkind: List\nitems: {a: b}\n"})
    assert _only_error(result).cause == "the items of a List must be a sequence"


def test_a_list_that_contains_itself_is_reported_not_expanded_forever(
    load_texts: LoadTexts,
) -> None:
    result = load_texts({"list.yaml": "&l {apiVersion: v1, kind: List, items: [*l]}\n"})
    assert _only_error(result).cause == (
        "malformed YAML: alias *l is used inside the node it names"
    )


def test_lists_nested_deeper_than_kubectl_would_flatten_are_reported(
    load_texts: LoadTexts,
) -> None:
    inner = "{apiVersion: v1, kind: ConfigMap, metadata: {name: deep}}"
    for _ in range(9):
        inner = f"{{apiVersion: v1, kind: List, items: [{inner}]}}"
    result = load_texts({"list.yaml": inner + "\n"})
    assert "Lists nested too deeply" in _only_error(result).cause


def test_kustomize_configuration_files_are_not_objects_and_are_skipped(
    load_texts: LoadTexts,
) -> None:
    result = load_texts(
        {
            "kustomization.yaml": """\
                apiVersion: kustomize.config.k8s.io/v1beta1
                kind: Kustomization
                resources: [app.yaml]
                """
        }
    )
    assert result.resources == []
    assert result.complete

"""Effective namespaces, cluster scope, and kinds the cluster does not know yet."""

from __future__ import annotations

from collections.abc import Callable

from fluxd.manifests import LoadResult, ScopeResolver, resolve_unresolved

LoadTexts = Callable[..., LoadResult]

CONFIG = """\
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: settings}
    """

WIDGET = """\
    apiVersion: example.com/v1
    kind: Widget
    metadata: {name: w, namespace: team}
    """


def _crd(scope: str) -> str:
    return f"""\
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata: {{name: widgets.example.com}}
        spec:
          group: example.com
          names: {{kind: Widget, plural: widgets}}
          scope: {scope}
        """


def test_a_namespaced_object_without_namespace_gets_the_default_one(load_texts: LoadTexts) -> None:
    resource = load_texts({"c.yaml": CONFIG}, default_namespace="apps").resources[0]
    assert str(resource.ref) == "apps:configmap/settings"
    assert resource.ref.namespace == "apps"
    assert resource.body["metadata"]["namespace"] == "apps"


def test_an_empty_default_namespace_falls_back_to_default_as_flux_v1_did(
    load_texts: LoadTexts,
) -> None:
    resource = load_texts({"c.yaml": CONFIG}, default_namespace="").resources[0]
    assert str(resource.ref) == "default:configmap/settings"


def test_a_namespace_written_in_git_is_kept(load_texts: LoadTexts) -> None:
    text = CONFIG.replace("{name: settings}", "{name: settings, namespace: team}")
    resource = load_texts({"c.yaml": text}, default_namespace="apps").resources[0]
    assert str(resource.ref) == "team:configmap/settings"


def test_a_cluster_scoped_object_loses_its_namespace_and_has_a_cluster_id(
    load_texts: LoadTexts,
) -> None:
    text = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
    text += "metadata: {name: reader, namespace: ignored}\n"
    resource = load_texts({"r.yaml": text}).resources[0]
    assert str(resource.ref) == "<cluster>:clusterrole/reader"
    assert resource.ref.namespace == ""
    assert "namespace" not in resource.body["metadata"]
    assert resource.ref.group == "rbac.authorization.k8s.io"


def test_placing_an_object_does_not_change_the_parsed_document(load_texts: LoadTexts) -> None:
    text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: demo, namespace: x}\n"
    resource = load_texts({"n.yaml": text}).resources[0]
    assert "namespace" not in resource.body["metadata"]
    # the checksum is of what git holds, namespace included
    again = load_texts({"n.yaml": text.replace(", namespace: x", "")}).resources[0]
    assert resource.checksum != again.checksum


def test_a_kind_of_unknown_scope_is_kept_aside_with_a_clear_problem(load_texts: LoadTexts) -> None:
    result = load_texts({"w.yaml": WIDGET, "c.yaml": CONFIG})
    assert [str(r.ref) for r in result.resources] == ["default:configmap/settings"]
    assert result.errors == []
    assert not result.complete
    [unresolved] = result.unresolved
    assert (unresolved.source, unresolved.kind, unresolved.name) == ("w.yaml", "Widget", "w")
    error = unresolved.error()
    assert (error.path, error.document, error.line) == ("w.yaml", 0, 1)
    assert "Widget 'w' (example.com/v1)" in error.cause


def test_an_unresolved_object_is_placed_once_its_kind_is_known(
    load_texts: LoadTexts, scope: ScopeResolver
) -> None:
    first = load_texts({"w.yaml": WIDGET})

    def after_crds_applied(api_version: str, kind: str) -> bool | None:
        return True if kind == "Widget" else scope(api_version, kind)

    second = resolve_unresolved(
        first.unresolved, scope=after_crds_applied, default_namespace="default"
    )
    assert [str(r.ref) for r in second.resources] == ["team:widget/w"]
    assert second.complete


def test_a_retry_that_still_fails_keeps_the_object_unresolved(load_texts: LoadTexts) -> None:
    first = load_texts({"w.yaml": WIDGET})
    second = resolve_unresolved(
        first.unresolved, scope=lambda av, kind: None, default_namespace="default"
    )
    assert second.resources == []
    assert [u.name for u in second.unresolved] == ["w"]


def test_a_retry_reports_a_duplicate_of_what_was_loaded_before(load_texts: LoadTexts) -> None:
    first = load_texts({"w.yaml": WIDGET})
    known = load_texts({"x.yaml": WIDGET}, scope=lambda av, kind: True).resources
    second = resolve_unresolved(
        first.unresolved, scope=lambda av, kind: True, default_namespace="default", loaded=known
    )
    assert second.resources == []
    assert second.errors[0].cause == (
        "duplicate definition of 'team:widget/w' (in x.yaml and w.yaml)"
    )


def test_a_crd_in_the_repo_tells_the_scope_of_its_namespaced_kind(load_texts: LoadTexts) -> None:
    text = WIDGET.replace(", namespace: team", "")
    result = load_texts({"crd.yaml": _crd("Namespaced"), "w.yaml": text})
    assert [str(r.ref) for r in result.resources] == [
        "<cluster>:customresourcedefinition/widgets.example.com",
        "default:widget/w",
    ]
    assert result.complete


def test_a_crd_in_the_repo_tells_the_scope_of_its_cluster_scoped_kind(
    load_texts: LoadTexts,
) -> None:
    result = load_texts({"crd.yaml": _crd("Cluster"), "w.yaml": WIDGET})
    assert "<cluster>:widget/w" in [str(r.ref) for r in result.resources]


def test_the_cluster_answer_wins_over_a_crd_in_the_repo(load_texts: LoadTexts) -> None:
    def cluster(api_version: str, kind: str) -> bool | None:
        return kind == "Widget"

    result = load_texts({"crd.yaml": _crd("Cluster"), "w.yaml": WIDGET}, scope=cluster)
    assert "team:widget/w" in [str(r.ref) for r in result.resources]


def test_a_crd_of_another_group_does_not_decide_the_scope(load_texts: LoadTexts) -> None:
    other = _crd("Cluster").replace("group: example.com", "group: other.example.com")
    result = load_texts({"crd.yaml": other, "w.yaml": WIDGET})
    assert [u.name for u in result.unresolved] == ["w"]


def test_the_cluster_is_asked_once_per_kind_not_once_per_object(
    load_texts: LoadTexts, scope: ScopeResolver
) -> None:
    asked: list[tuple[str, str]] = []

    def counting(api_version: str, kind: str) -> bool | None:
        asked.append((api_version, kind))
        return scope(api_version, kind)

    docs = "---\n".join(CONFIG.replace("settings", f"c{n}") for n in range(20))
    result = load_texts({"c.yaml": docs}, scope=counting)
    assert len(result.resources) == 20
    assert asked == [("v1", "ConfigMap")]

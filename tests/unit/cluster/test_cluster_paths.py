"""Kubernetes API paths are built in one place, from checked and quoted values."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fluxd.cluster.discovery import ResourceType
from fluxd.cluster.paths import InvalidName, api_path, check_settings
from fluxd.cluster.workloads import list_scopes
from fluxd.errors import SettingsError, UserError
from fluxd.settings import ClusterSettings
from fluxids import is_dns_label, parse_workload_id

TRAVERSALS = [
    "x/../../../../../api/v1/secrets?",
    "..",
    ".",
    "a/b",
    "a%2fb",
    "kube-system?watch=1",
    "",
]


def test_paths_of_the_core_group_and_of_named_groups() -> None:
    assert api_path("v1", "secrets", namespace="flux", name="git") == (
        "/api/v1/namespaces/flux/secrets/git"
    )
    assert api_path("apps/v1", "deployments") == "/apis/apps/v1/deployments"
    assert api_path("rbac.authorization.k8s.io/v1", "clusterroles", name="system:admin") == (
        "/apis/rbac.authorization.k8s.io/v1/clusterroles/system%3Aadmin"
    )


@pytest.mark.parametrize("namespace", [*TRAVERSALS[:-1], "UPPER", "a" * 64, "-x", "x-", "a_b"])
def test_a_namespace_that_is_not_a_dns_label_never_becomes_a_path(namespace: str) -> None:
    with pytest.raises(InvalidName) as raised:
        api_path("v1", "secrets", namespace=namespace)
    assert isinstance(raised.value, UserError)
    assert "namespace" in raised.value.message


@pytest.mark.parametrize(
    "name", ["x/../../../../../api/v1/secrets?", "..", ".", "a/b", "a%2fb", "with space", "x" * 254]
)
def test_a_name_that_is_not_a_path_segment_never_becomes_a_path(name: str) -> None:
    with pytest.raises(InvalidName):
        api_path("v1", "secrets", namespace="flux", name=name)


@pytest.mark.parametrize("name", ["alice@example.com", "a?b", "a#b", "ä"])
def test_every_name_the_check_lets_through_stays_one_quoted_segment(name: str) -> None:
    path = api_path("v1", "configmaps", namespace="flux", name=name)
    prefix = "/api/v1/namespaces/flux/configmaps/"
    assert path.startswith(prefix)
    assert not set(path[len(prefix) :]) & set("/?#@")


def test_resource_types_build_their_paths_the_same_way() -> None:
    rtype = ResourceType("apps/v1", "Deployment", "deployments", namespaced=True)
    assert rtype.path("team-a", "web") == "/apis/apps/v1/namespaces/team-a/deployments/web"
    with pytest.raises(InvalidName):
        rtype.path("x/../..", "web")


def test_listing_outside_the_allowed_namespaces_asks_for_nothing() -> None:
    assert list_scopes("kube-system", ["team-a"]) == []
    assert list_scopes("team-a", ["team-a"]) == ["team-a"]
    assert list_scopes(None, ["team-a", "team-b"]) == ["team-a", "team-b"]
    assert list_scopes(None, []) == [""]
    assert list_scopes("kube-system", []) == ["kube-system"]


@pytest.mark.parametrize("namespace", ["x/../../../api/v1/secrets?", "UPPER"])
def test_listing_a_malformed_namespace_is_refused_even_with_no_allow_list(namespace) -> None:
    with pytest.raises(InvalidName):
        list_scopes(namespace, [])


@pytest.mark.parametrize(
    ("settings", "flag"),
    [
        (ClusterSettings(allow_namespaces=("team-a", "Team_B")), "--k8s-allow-namespace"),
        (ClusterSettings(namespace="flux/.."), "--k8s-namespace"),
        (ClusterSettings(default_namespace="a b"), "--k8s-default-namespace"),
        (ClusterSettings(secret_name="../x"), "--k8s-secret-name"),
    ],
)
def test_namespaces_and_names_in_flags_are_checked_at_start_up(settings, flag) -> None:
    with pytest.raises(SettingsError) as raised:
        check_settings(settings)
    assert flag in raised.value.message


# --- properties, over generated text ---------------------------------------------------

names = st.text(max_size=80) | st.sampled_from(["..", ".", "a/../b", "%2e%2e", "x?y", "a#b"])


@settings(derandomize=True, max_examples=300, deadline=None, database=None)
@given(namespace=names, name=names)
def test_any_text_is_refused_or_stays_inside_its_two_segments(namespace: str, name: str) -> None:
    try:
        path = api_path("v1", "secrets", namespace=namespace or "flux", name=name or "x")
    except InvalidName:
        return
    segments = path.split("/")
    assert segments[:5] == ["", "api", "v1", "namespaces", namespace or "flux"]
    assert segments[5] == "secrets" and len(segments) == 7
    assert unquote(segments[6]) == (name or "x")
    assert not {"?", "#"} & set(path) and ".." not in segments


@settings(derandomize=True, max_examples=300, deadline=None, database=None)
@given(text=st.text(max_size=80) | st.from_regex(r"\A[a-z0-9<>-]{1,12}:[A-Za-z]{1,9}/.{1,20}\Z"))
def test_any_text_is_refused_or_parses_to_an_id_that_prints_back(text: str) -> None:
    try:
        parsed = parse_workload_id(text)
    except ValueError:
        return
    assert parse_workload_id(str(parsed)) == parsed
    assert parsed.namespace == "" or is_dns_label(parsed.namespace)
    api_path("apps/v1", "deployments", namespace=parsed.namespace, name=parsed.name)


def test_a_bad_namespace_flag_is_named_before_the_kubeconfig_is_read() -> None:
    from fluxd.cluster import Cluster
    from fluxd.settings import SyncSettings

    settings = ClusterSettings(kubeconfig="/nonexistent", allow_namespaces=("Bad_NS",))
    with pytest.raises(SettingsError, match="--k8s-allow-namespace"):
        Cluster.connect(settings, SyncSettings())

"""Malformed query values are refused with 400 naming the input, before the daemon is asked.

A namespace or workload ID goes into a Kubernetes API path further down; one
that is not a valid name (``x/../../../api/v1/secrets?``) must never get that far.
"""

from __future__ import annotations

import pytest

from unit.api.fakes import FakeDaemon

API = "/api/flux"
TRAVERSAL = "x/../../../../../api/v1/secrets?"


@pytest.mark.parametrize("route", ["/v6/services", "/v11/services", "/v10/images"])
@pytest.mark.parametrize(
    "namespace", [TRAVERSAL, "kube-system/secrets", "UPPER", "a" * 64, "-dash", "%2e%2e", " "]
)
def test_a_namespace_that_is_not_a_dns_label_is_a_400_naming_it(
    client, daemon: FakeDaemon, route: str, namespace: str
) -> None:
    response = client.get(API + route, params={"namespace": namespace})

    assert response.status_code == 400
    assert response.json()["type"] == "user"
    assert "namespace" in response.json()["error"]
    assert daemon.listed == [] and daemon.images_asked == []


@pytest.mark.parametrize(
    ("route", "param"),
    [("/v11/services", "services"), ("/v10/images", "service"), ("/v6/images", "service")],
)
@pytest.mark.parametrize(
    "workload",
    [
        "x/../..:deployment/web",
        f"{TRAVERSAL}:deployment/web",
        "default:deployment/../../secrets",
        "default:deployment/..",
        "Default:deployment/web",
        "default:deploy ment/web",
        "default:deployment/a%2fb",
    ],
)
def test_a_workload_id_with_a_bad_part_is_a_400_naming_the_parameter(
    client, daemon: FakeDaemon, route: str, param: str, workload: str
) -> None:
    response = client.get(API + route, params={param: workload})

    assert response.status_code == 400
    assert param in response.json()["error"]
    assert daemon.listed == [] and daemon.images_asked == []


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("default:Deployment/web", "default:deployment/web"),
        ("default/web", "default:deployment/web"),
        ("<cluster>:clusterrole/system:admin", "<cluster>:clusterrole/system:admin"),
        ("team-a:cronjob/backup.nightly", "team-a:cronjob/backup.nightly"),
    ],
)
def test_valid_workload_ids_are_passed_on_normalised(client, daemon: FakeDaemon, text, normal):
    response = client.get(f"{API}/v11/services", params={"services": text})

    assert response.status_code == 200
    assert daemon.listed == [("", (normal,))]


def test_a_valid_namespace_is_passed_on(client, daemon: FakeDaemon) -> None:
    assert client.get(f"{API}/v6/services", params={"namespace": "team-a"}).status_code == 200
    assert daemon.listed == [("team-a", ())]


@pytest.mark.parametrize("url", ["http://[bad", "https://host:99999/x", "ssh://[::1/x"])
def test_notify_with_an_unparsable_repository_url_is_a_400(client, daemon, url) -> None:
    body = {"Kind": "git", "Source": {"URL": url, "Branch": "main"}}

    response = client.post(f"{API}/v11/notify", json=body)

    assert response.status_code == 400
    assert "URL" in response.json()["error"]
    assert daemon.notified == []

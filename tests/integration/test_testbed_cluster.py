"""The Kubernetes test bed is a real cluster: apply, controllers, scheduling,
port-forward and RBAC all behave as on any cluster, on loopback addresses only."""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import portforward

from fluxtestbed.kube import NODE_NAME, Cluster

pytestmark = pytest.mark.cluster


def _deployment(namespace: str, replicas: int = 3) -> dict[str, Any]:
    labels = {"app": "web"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.17.7"}]},
            },
        },
    }


def _server_side_apply(api: client.ApiClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    method, url, headers, payload, _ = api.param_serialize(
        "PATCH",
        path,
        query_params=[("fieldManager", "testbed-check"), ("force", "true")],
        header_params={
            "Content-Type": "application/apply-patch+yaml",
            "Accept": "application/json",
        },
        body=body,
        auth_settings=["BearerToken"],
    )
    response: Any = api.call_api(method, url, header_params=headers, body=payload)
    response.read()
    assert response.status in (200, 201), response.data
    return dict(json.loads(response.data))


def _wait(what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def test_server_side_apply_records_the_field_manager_and_pods_become_ready_on_the_kwok_node(
    kube: Cluster,
) -> None:
    api = kube.api_client()
    ns = "testbed-apply"
    created = _server_side_apply(
        api,
        f"/api/v1/namespaces/{ns}",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
    )
    assert created["metadata"]["name"] == ns
    deployment = _server_side_apply(
        api, f"/apis/apps/v1/namespaces/{ns}/deployments/web", _deployment(ns)
    )
    managers = {m["manager"] for m in deployment["metadata"]["managedFields"]}
    assert "testbed-check" in managers

    core: Any = client.CoreV1Api(api)
    apps: Any = client.AppsV1Api(api)
    _wait("a ReplicaSet of the Deployment", lambda: apps.list_namespaced_replica_set(ns).items)

    def ready_pods() -> list[Any] | None:
        pods = core.list_namespaced_pod(ns, label_selector="app=web").items
        ready = [
            p
            for p in pods
            if any(c.type == "Ready" and c.status == "True" for c in (p.status.conditions or []))
        ]
        return ready if len(ready) == 3 else None

    pods = _wait("3 Ready pods", ready_pods)
    assert len(pods) == 3
    assert {p.spec.node_name for p in pods} == {NODE_NAME}
    assert all(ipaddress.ip_address(p.status.pod_ip).is_loopback for p in pods)

    core.delete_namespace(ns)
    _wait(
        "the namespace and its pods to be gone",
        lambda: (
            not core.list_namespaced_pod(ns).items
            and ns not in {n.metadata.name for n in core.list_namespace().items}
        ),
        timeout=90,
    )


def test_every_address_the_cluster_hands_out_is_on_loopback(kube: Cluster, namespace: str) -> None:
    core: Any = client.CoreV1Api(kube.api_client())
    node = core.read_node(NODE_NAME)
    internal = [a.address for a in node.status.addresses if a.type == "InternalIP"]
    assert internal and all(ipaddress.ip_address(a).is_loopback for a in internal)
    service = core.create_namespaced_service(
        namespace,
        {
            "metadata": {"name": "nginx-service"},
            "spec": {"type": "NodePort", "selector": {"app": "x"}, "ports": [{"port": 80}]},
        },
    )
    assert ipaddress.ip_address(service.spec.cluster_ip).is_loopback


@pytest.fixture
def echo_server() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that sends back what it receives, upper-cased."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                data = conn.recv(1024)
                conn.sendall(data.upper())

    threading.Thread(target=serve, daemon=True).start()
    yield int(listener.getsockname()[1])
    listener.close()


def test_a_port_forward_through_the_api_server_reaches_a_local_tcp_server(
    kube: Cluster, namespace: str, echo_server: int
) -> None:
    kube.register_pod(namespace, "stand-in", labels={"app": "flux"}, port_forward_to=echo_server)
    core = client.CoreV1Api(kube.api_client())
    forward = portforward(
        core.connect_get_namespaced_pod_portforward, "stand-in", namespace, ports="3030"
    )
    sock = forward.socket(3030)
    sock.settimeout(10)
    sock.sendall(b"round trip")
    assert sock.recv(1024) == b"ROUND TRIP"
    sock.close()
    forward.close()


def test_rbac_denies_a_service_account_without_rights(kube: Cluster, namespace: str) -> None:
    kube.kubectl("create", "serviceaccount", "nobody", "-n", namespace)
    token = kube.kubectl("create", "token", "nobody", "-n", namespace).stdout.strip()
    admin = kube.api_client().configuration
    conf = client.Configuration()
    conf.host = admin.host
    conf.ssl_ca_cert = admin.ssl_ca_cert
    conf.api_key = {"authorization": f"Bearer {token}"}
    with client.ApiClient(conf) as api, pytest.raises(ApiException) as denied:
        client.CoreV1Api(api).list_namespaced_secret(namespace)
    assert denied.value.status == 403
    assert "forbidden" in str(denied.value.body).lower()

"""Objects for tests of fluxd.cluster: bodies with our GC mark, as apply items."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from fluxd.cluster import ApplyObject, KubeClient
from fluxd.cluster.client import Query, Response
from fluxids import ObjectRef
from fluxids.marks import GC_MARK_LABEL as MARK_LABEL
from fluxids.marks import INSTANCE_LABEL

RANKS = {"Namespace": 0, "CustomResourceDefinition": 1, "ConfigMap": 2, "Deployment": 3}


def rank(kind: str) -> int:
    return RANKS.get(kind, 4)


def item(body: dict[str, Any], source: str = "repo/app.yaml") -> ApplyObject:
    meta = body["metadata"]
    ref = ObjectRef(meta.get("namespace", ""), body["kind"], meta["name"], body["apiVersion"])
    return ApplyObject(ref, source, body)


def marked(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` labelled as fluxd's engine labels what it applies.

    The tests' Cluster is installed in the test's namespace and named after it
    (no --k8s-instance), so the install label is the object's namespace;
    cluster-scoped objects of these tests are not checked for drift.
    """
    labels = body["metadata"].setdefault("labels", {})
    labels[MARK_LABEL] = "sha256.test"
    if "namespace" in body["metadata"]:
        labels[INSTANCE_LABEL] = body["metadata"]["namespace"]
    return body


def configmap(namespace: str, name: str, **data: str) -> dict[str, Any]:
    meta = {"name": name, "namespace": namespace}
    return marked({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data})


def deployment(
    namespace: str, name: str = "web", replicas: int = 3, app: str = "web"
) -> dict[str, Any]:
    labels = {"app": app}
    return marked(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "nginx", "image": "nginx:1.17"}]},
                },
            },
        }
    )


class CountingClient(KubeClient):
    """Counts the requests fluxd sends, by HTTP method, and its LISTs by label selector."""

    sent: Counter[str]
    #: GETs with a label selector (LISTs), by that selector.
    listed: Counter[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent, self.listed = Counter(), Counter()

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Query = (),
        body: Mapping[str, Any] | None = None,
        content_type: str = "application/json",
        accept: str = "application/json",
    ) -> Response:
        self.sent[method] += 1
        if method == "GET":
            self.listed.update(value for key, value in query if key == "labelSelector")
        return super().request(
            method, path, query=query, body=body, content_type=content_type, accept=accept
        )

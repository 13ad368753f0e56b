"""The benchmark's repo: N objects of a realistic mix spread over namespaces.

Every object of one run carries the label ``bench-run=<run id>`` and lives in
namespaces named after the run, so each run starts from a fresh cluster state
and can be listed (and deleted) as a whole.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

#: One cycle of 20 objects: 30% ConfigMaps, 20% Secrets, 15% ServiceAccounts,
#: 15% Services, 20% Deployments.
MIX: tuple[str, ...] = (
    ("ConfigMap",) * 6 + ("Secret",) * 4 + ("ServiceAccount",) * 3 + ("Service",) * 3
) + ("Deployment",) * 4

#: Where each kind is served, for URLs and LISTs.
PLURAL = {
    "Namespace": ("v1", "namespaces"),
    "ConfigMap": ("v1", "configmaps"),
    "Secret": ("v1", "secrets"),
    "ServiceAccount": ("v1", "serviceaccounts"),
    "Service": ("v1", "services"),
    "Deployment": ("apps/v1", "deployments"),
}

LABEL = "bench-run"


def namespace_count(n: int) -> int:
    """10 namespaces up to N = 1,000, then one per 100 objects, at most 50."""
    return min(50, max(10, n // 100))


@dataclass(frozen=True)
class Manifest:
    """One object: where it goes in the repo and its body."""

    path: str
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body["kind"])

    @property
    def name(self) -> str:
        return str(self.body["metadata"]["name"])

    @property
    def namespace(self) -> str:
        return str(self.body["metadata"].get("namespace", ""))

    def api_path(self) -> str:
        """The object's URL path on the API server."""
        version, plural = PLURAL[self.kind]
        base = "/api/v1" if version == "v1" else f"/apis/{version}"
        if self.namespace:
            return f"{base}/namespaces/{self.namespace}/{plural}/{self.name}"
        return f"{base}/{plural}/{self.name}"

    def text(self) -> str:
        """The file's YAML text (JSON is YAML; a parser reads both alike)."""
        return json.dumps(self.body, indent=2) + "\n"


@dataclass(frozen=True)
class RepoSet:
    """The namespaces and objects of one run."""

    run: str
    namespaces: tuple[Manifest, ...]
    objects: tuple[Manifest, ...]

    @property
    def all(self) -> tuple[Manifest, ...]:
        return self.namespaces + self.objects

    def files(self) -> dict[str, str]:
        return {m.path: m.text() for m in self.all}

    def kinds(self) -> dict[str, int]:
        return dict(Counter(m.kind for m in self.objects))

    def probe(self) -> Manifest:
        """The ConfigMap that push-to-live changes."""
        return next(m for m in self.objects if m.kind == "ConfigMap")


def generate(run: str, n: int, *, probe_value: str = "0") -> RepoSet:
    """N objects in fresh namespaces named after ``run``."""
    count = namespace_count(n)
    names = [f"{run}-ns{i:02d}" for i in range(count)]
    namespaces = tuple(
        Manifest(
            f"00-namespaces/{name}.yaml",
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": name, "labels": {LABEL: run}},
            },
        )
        for name in names
    )
    objects = []
    for i in range(n):
        # Round-robin over namespaces; the kind shifts by one each round, so
        # every namespace gets the whole mix.
        ns = names[i % count]
        kind = MIX[(i + i // count) % len(MIX)]
        body = _BUILDERS[kind](ns, f"{kind.lower()}-{i:05d}", run, i)
        if i == 0:
            body["data"]["probe"] = probe_value
        objects.append(Manifest(f"{ns}/{kind.lower()}-{i:05d}.yaml", body))
    return RepoSet(run, namespaces, tuple(objects))


def with_probe(repo: RepoSet, value: str) -> dict[str, str]:
    """The one-file change of a push-to-live step: the probe ConfigMap's new value."""
    probe = repo.probe()
    body = json.loads(json.dumps(probe.body))
    body["data"]["probe"] = value
    return {probe.path: Manifest(probe.path, body).text()}


def _meta(ns: str, name: str, run: str, app: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": ns,
        "labels": {LABEL: run, "app.kubernetes.io/name": app, "app.kubernetes.io/part-of": "bench"},
        "annotations": {"bench/owner": "team-" + app[-1]},
    }


def _config_map(ns: str, name: str, run: str, i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(ns, name, run, f"app{i % 7}"),
        "data": {
            "LOG_LEVEL": "info",
            "FEATURE_FLAGS": "a,b,c",
            "settings.yaml": f"replicas: 3\ntimeout: 30s\nindex: {i}\n" + "# padding\n" * 8,
        },
    }


def _secret(ns: str, name: str, run: str, i: int) -> dict[str, Any]:
    token = base64.b64encode(f"token-{run}-{i}".encode() * 4).decode()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(ns, name, run, f"app{i % 7}"),
        "type": "Opaque",
        "data": {"username": base64.b64encode(b"svc").decode(), "password": token},
    }


def _service_account(ns: str, name: str, run: str, i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _meta(ns, name, run, f"app{i % 7}"),
    }


def _service(ns: str, name: str, run: str, i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(ns, name, run, f"app{i % 7}"),
        "spec": {
            "selector": {"app": name},
            "ports": [
                {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                {"name": "metrics", "port": 9090, "targetPort": 9090, "protocol": "TCP"},
            ],
        },
    }


def _deployment(ns: str, name: str, run: str, i: int) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(ns, name, run, f"app{i % 7}"),
        "spec": {
            # No pods: running them is the cluster's work, not the apply path's,
            # and on a small machine it would compete for the CPU being measured.
            "replicas": 0,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": f"registry.example/app{i % 7}:1.{i % 10}.0",
                            "ports": [{"containerPort": 8080, "name": "http"}],
                            "env": [
                                {"name": "MODE", "value": "production"},
                                {"name": "INDEX", "value": str(i)},
                            ],
                            "resources": {
                                "requests": {"cpu": "10m", "memory": "32Mi"},
                                "limits": {"memory": "64Mi"},
                            },
                        }
                    ]
                },
            },
        },
    }


_BUILDERS = {
    "ConfigMap": _config_map,
    "Secret": _secret,
    "ServiceAccount": _service_account,
    "Service": _service,
    "Deployment": _deployment,
}

"""What the differential test asks: the manifests both repos hold and the
requests both daemons answer (see ``fluxtestbed.differential``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluxtestbed.scenario import NGINX_DEPLOYMENT, NGINX_SERVICE

MULTI = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: multi
  annotations:
    fluxcd.io/automated: "true"
    fluxcd.io/tag.app: semver:~1.2
    fluxcd.io/locked: "true"
    fluxcd.io/locked_msg: "held for the audit"
spec:
  replicas: 2
  selector: {matchLabels: {app: multi}}
  template:
    metadata: {labels: {app: multi}}
    spec:
      containers:
      - {name: app, image: "ghcr.io/acme/app:1.2.0"}
      - {name: proxy, image: "envoyproxy/envoy:v1.30.1"}
"""

DAEMONSET = """\
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, labels: {tier: node}}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers:
      - {name: agent, image: "busybox:1.36"}
"""

STATEFULSET = """\
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - {name: postgres, image: "postgres:16.3"}
"""

CRONJOB = """\
apiVersion: batch/v1
kind: CronJob
metadata: {name: report}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - {name: report, image: "busybox:1.36"}
"""

# In the cluster but not in git: listed read-only ("NotInRepo").
HANDMADE = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: handmade}
spec:
  replicas: 1
  selector: {matchLabels: {app: handmade}}
  template:
    metadata: {labels: {app: handmade}}
    spec:
      containers:
      - {name: web, image: "nginx:1.25"}
"""

# In the cluster before either daemon starts; git holds it with another
# selector, which the API server refuses to change: a workload with a SyncError.
LEGACY = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: legacy}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {app}}}}}
  template:
    metadata: {{labels: {{app: {app}}}}}
    spec:
      containers:
      - {{name: web, image: "nginx:1.25"}}
"""

REPO_FILES = {
    "deploy/nginx-deployment.yaml": NGINX_DEPLOYMENT.format(version="1.17.7"),
    "deploy/nginx-service.yaml": NGINX_SERVICE,
    "deploy/multi.yaml": MULTI,
    "deploy/agent.yaml": DAEMONSET,
    "deploy/db.yaml": STATEFULSET,
    "deploy/report.yaml": CRONJOB,
    "deploy/legacy.yaml": LEGACY.format(app="legacy-v2"),
    "README.md": "Manifests for the differential test; only deploy/ is synced.\n",
}

ROLLOUTS = ("deployment/nginx-deployment", "deployment/multi", "daemonset/agent", "statefulset/db")


@dataclass(frozen=True)
class Case:
    """One request sent to both daemons; strings in ``body`` are filled in per side."""

    name: str
    method: str = "GET"
    path: str = ""
    body: Any = None
    raw: bytes | None = None
    accept: str | None = "application/json"

    @property
    def request_path(self) -> str:
        # By default the name is "<METHOD> <path>[, <note>]".
        return self.path or self.name.split(" ", 1)[1].split(", ", 1)[0]


def _get(path: str, **kw: Any) -> Case:
    return Case(f"GET {path}", **kw)


def _notify(name: str, body: Any = None, raw: bytes | None = None) -> Case:
    return Case(f"POST /v11/notify {name}", "POST", "/v11/notify", body=body, raw=raw)


def _update(name: str, body: Any = None, raw: bytes | None = None) -> Case:
    return Case(f"POST /v9/update-manifests {name}", "POST", "/v9/update-manifests", body, raw)


def _repo_config(name: str, body: Any = None, raw: bytes | None = None) -> Case:
    return Case(f"POST /v9/git-repo-config {name}", "POST", "/v9/git-repo-config", body, raw)


IN_TARGET = "/v6/services?namespace={target}"
EARLY_CASES = [
    Case("before sync: POST /v9/git-repo-config false", "POST", "/v9/git-repo-config", False),
    Case(
        "before sync: GET /v6/services?namespace={target}", path="/v6/services?namespace={target}"
    ),
]

# The request bodies of the unit tests' fixtures, so that what they claim
# Flux v1 accepts is checked here. (Flux v1's image.Name is an object.)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fluxv1"
NGINX_IMAGE = json.loads((FIXTURES / "notify-image-request.json").read_text())["Source"]["Name"]
MASTER, DEV = {"Branch": "master"}, {"Branch": "dev"}
WORKLOADS = "{target}:deployment/nginx-deployment,{target}:daemonset/agent"
CASES = [
    _get("/v11/version"),
    _get("/v11/ping"),
    _repo_config("false", False),
    _get("/v6/identity.pub"),
    _get("/v6/services"),
    _get("/v6/services?namespace={target}"),
    _get("/v11/services"),
    _get("/v11/services?namespace={target}"),
    _get(f"/v11/services?services={WORKLOADS}"),
    _get("/v11/services?services={target}:deployment/absent"),
    _get("/v11/services?namespace=no-such-namespace"),
    _get("/v11/services?namespace={target}&services={target}:deployment/multi"),
    _get("/v11/services?services=not-an-id"),
    _get("/v6/images"),
    _get("/v6/images?service={target}:deployment/multi"),
    _get("/v10/images"),
    _get("/v10/images?namespace={target}"),
    _get("/v10/images?service={target}:deployment/multi&containerFields=Name,Current"),
    _get("/v10/images?containerFields=Bogus"),
    _get("/v10/images?service=not-an-id"),
    _get("/v6/sync?ref={HEAD}"),
    _get("/v6/sync?ref={HEAD7}"),
    _get("/v6/sync?ref=0123456789012345678901234567890123456789"),
    _get("/v6/sync"),
    _get("/v6/sync?ref="),
    _get("/v6/sync?ref=master"),
    _get("/v6/jobs?id=no-such-job"),
    _get("/v6/jobs"),
    _get("/v6/jobs?id="),
    _get("/v6/export"),
    _notify("git, our branch", {"Kind": "git", "Source": {"URL": "{repo_url}", **MASTER}}),
    _notify("git, other branch", {"Kind": "git", "Source": {"URL": "{repo_url}", **DEV}}),
    _notify("image", {"Kind": "image", "Source": {"Name": NGINX_IMAGE}}),
    _notify("unknown kind", {"Kind": "bogus", "Source": {}}),
    _notify("malformed JSON", raw=b"{"),
    _update("malformed JSON", raw=b"{"),
    _update("unknown type", {"type": "bogus", "cause": {}, "spec": {}}),
    _update("policy", {"type": "policy", "cause": {"Message": "", "User": ""}, "spec": {}}),
    _repo_config("not a boolean", raw=b'"yes"'),
    _get("/v99/nothing"),
    _get("/v5/services"),
    _get("/v6/services/extra"),
    Case("PUT /v11/ping", "PUT"),
    _get("/v9/git-repo-config"),
    _get("/v6/jobs?id=no-such-job, no Accept header", accept=None),
    _get("/v99/nothing, no Accept header", accept=None),
]

SYNC_REQUEST = json.loads((FIXTURES / "update-manifests-sync-request.json").read_text())
LATE_CASES = [
    _repo_config("true", True),
    Case("after regenerating: GET /v6/identity.pub", path="/v6/identity.pub"),
    Case("POST /v6/identity.pub", "POST"),
]

# Asked of a second pair of daemons, started without a git URL.
UNCONFIGURED_CASES = [
    Case("unconfigured: POST /v9/git-repo-config false", "POST", "/v9/git-repo-config", False),
    Case("unconfigured: GET /v6/services?namespace={target}", path=IN_TARGET),
    Case("unconfigured: GET /v6/sync?ref=master", path="/v6/sync?ref=master"),
]

JOB_CASES = ["POST /v9/update-manifests sync", "GET /v6/jobs?id=<sync job>, finished"]

#: Every case both daemons answered, in the order they were asked.
COMPARED = [
    *(c.name for c in EARLY_CASES),
    *(f"before sync: {name}" for name in JOB_CASES),
    *(c.name for c in CASES),
    *JOB_CASES,
    *(c.name for c in LATE_CASES),
    *(c.name for c in UNCONFIGURED_CASES),
    *(f"unconfigured: {name}" for name in JOB_CASES),
]

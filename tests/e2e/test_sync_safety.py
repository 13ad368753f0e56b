"""fluxd installed from deploy/: held deletions, rewritten histories, an API server outage.

The user's view: fluxctl sync's output and exit code, /v11/sync-errors,
Events, /metrics, and the objects in the cluster.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable

import pytest
from prometheus_client.parser import text_string_to_metric_families

from fluxd.sync.guard import APPROVAL_ANNOTATION
from fluxtestbed.fluxd_host import wait_for
from fluxtestbed.scenario import Installation, deployment_image, seed_files

pytestmark = [pytest.mark.cluster, pytest.mark.gitserver, pytest.mark.slow]

SEED_IDS = ["{ns}:deployment/nginx-deployment", "{ns}:service/nginx-service"]


def metric(inst: Installation, name: str) -> float | None:
    url = f"http://127.0.0.1:{inst.daemon.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and not sample.labels:
                return float(sample.value)
    return None


def events(inst: Installation, reason: str) -> list[str]:
    out = inst.kube.kubectl(
        "get", "events", "-n", inst.namespace, "--field-selector", f"reason={reason}", "-o", "json"
    ).stdout
    return [item["message"] for item in json.loads(out)["items"]]


def synced(factory: Callable[..., Installation], *extra: str) -> Installation:
    inst = factory(files=seed_files("1.17.7"), extra_args=("--sync-garbage-collection", *extra))
    inst.authorize_deploy_key()
    wait_for("a first good sync", lambda: inst.fluxctl("sync").returncode == 0, timeout=90)
    return inst


def test_a_commit_deleting_every_manifest_is_held_until_approved(
    installation_factory: Callable[..., Installation],
) -> None:
    inst = synced(installation_factory)
    head = inst.git.push_files(
        inst.repo,
        {"nginx-deployment-flux.yaml": None, "nginx-service.yaml": None},
        "remove every manifest",
    )

    held = inst.fluxctl("sync")
    assert held.returncode == 1
    assert "Done." not in held.stderr
    assert "garbage collection was held back: the revision holds no manifests" in held.stderr
    approval = f"kubectl annotate namespace {inst.namespace} --overwrite "
    approval += f"{APPROVAL_ANNOTATION}={head[:12]}"
    assert approval in held.stderr
    assert held.stderr.splitlines()[-1] == f"Error: 2 deletion(s) of {head[:7]} wait for approval"
    assert deployment_image(inst.kube, inst.target) == "nginx:1.17.7"
    report = inst.daemon.get_json(f"/v11/sync-errors?ref={head}")
    assert sorted(report["gcHeld"]["deletions"]) == [i.format(ns=inst.target) for i in SEED_IDS]
    assert metric(inst, "flux_daemon_gc_guard_blocked") == 2
    assert any("nothing deleted" in message for message in events(inst, "GarbageCollectionHeld"))

    inst.kube.kubectl(*approval.split()[1:])
    approved = inst.fluxctl("sync")
    assert approved.returncode == 0, approved.stderr
    assert approved.stderr.splitlines()[-1] == "Done."
    wait_for("the Deployment to be deleted", lambda: deployment_image(inst.kube, inst.target) == "")
    assert metric(inst, "flux_daemon_gc_guard_blocked") == 0


def test_a_force_push_of_an_unrelated_history_is_shown_counted_and_synced(
    installation_factory: Callable[..., Installation],
) -> None:
    inst = synced(installation_factory)
    previous = inst.git.git(inst.repo, "rev-parse", "master")
    unrelated = inst.git.push_files(
        inst.repo, seed_files("1.19.0"), "an unrelated root", branch="rewritten"
    )
    inst.git.git(inst.repo, "update-ref", "refs/heads/master", unrelated)

    out = inst.fluxctl("sync")
    assert out.returncode == 0, out.stderr
    assert (
        f"Warning: {unrelated[:7]} does not descend from {previous[:7]}, the revision applied "
        "before it" in out.stderr
    )
    assert deployment_image(inst.kube, inst.target) == "nginx:1.19.0"
    assert metric(inst, "flux_daemon_history_rewrites_total") == 1
    assert inst.daemon.get_json(f"/v11/sync-errors?ref={unrelated}")["historyRewrittenFrom"] == (
        previous
    )
    assert len(events(inst, "HistoryRewritten")) == 1


def config_maps(count: int, per_file: int = 500) -> dict[str, str]:
    files: dict[str, str] = {}
    for start in range(0, count, per_file):
        docs = [
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\ndata:\n  v: '{i}'\n"
            for i in range(start, min(start + per_file, count))
        ]
        files[f"maps/cm-{start}.yaml"] = "---\n".join(docs)
    return files


def live_count(inst: Installation) -> int:
    """ConfigMaps in the target namespace, from one cheap paged LIST."""
    path = f"/api/v1/namespaces/{inst.target}/configmaps?limit=1"
    listed = json.loads(inst.kube.raw_get(path))
    return len(listed["items"]) + int(listed["metadata"].get("remainingItemCount", 0))


def test_an_api_server_stopped_mid_sync_is_retried_within_seconds_of_its_return(
    installation_factory: Callable[..., Installation],
) -> None:
    objects = 3000
    files = config_maps(objects)
    # Intervals of an hour: only the retries can finish the sync within the test.
    inst = installation_factory(
        files=files, extra_args=("--sync-interval=1h", "--git-poll-interval=1h")
    )
    inst.authorize_deploy_key()
    # kube-root-ca.crt is in every namespace; the repo's maps come on top.
    base = live_count(inst)
    wait_for("the first sync to be under way", lambda: live_count(inst) >= base + 200, 180, 0.05)

    stopped = time.monotonic()
    inst.kube.stop_apiserver(crash=True)
    inst.kube.start_apiserver()
    back = time.monotonic()
    applied_at_restart = live_count(inst) - base
    wait_for("fluxd to apply again", lambda: live_count(inst) - base > applied_at_restart, 240)
    resumed = time.monotonic() - back
    wait_for("every ConfigMap", lambda: live_count(inst) == base + objects, timeout=240)
    recovered = time.monotonic() - back

    print(
        f"[recovery] {objects} objects; kube-apiserver away {back - stopped:.1f}s with "
        f"{applied_at_restart} live; fluxd applying again {resumed:.1f}s after its return, "
        f"all live {recovered:.1f}s after it"
    )
    assert applied_at_restart < objects, "the sync finished before the API server stopped"
    log = inst.daemon.process.log.read_text()
    assert "event=sync-retry" in log
    # A crash's traceback is logged once, not at each retry.
    crashes = [line for line in log.splitlines() if "Traceback" in line]
    assert len(crashes) <= 1
    assert all("event=sync-crashed " in line for line in crashes)

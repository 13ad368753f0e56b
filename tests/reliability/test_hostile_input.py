"""Whatever lands in the branch, and whoever calls the webhook: hostile or odd
repo content, objects the cluster refuses, a flood of deliveries.

fluxd reads anything that is pushed, with rights over the whole cluster, so
its answer to odd input must be: apply what is good, report what is not (by
file and object), never read outside the repo, never answer with a 5xx.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from fluxtestbed import git_faults
from fluxtestbed.faults import (
    Ledger,
    config_map,
    config_maps,
    count_live,
    head,
    record,
    synced,
    time_until,
)
from fluxtestbed.fluxd_host import wait_for
from fluxtestbed.kube import Cluster
from fluxtestbed.scenario import Installation

pytestmark = [pytest.mark.cluster, pytest.mark.gitserver, pytest.mark.slow]

#: How long a pass over the odd content may take at most.
PASS_BOUND = 180.0
DEPTH = 1200
HOST_SECRET = "value-only-on-the-host-7f3c"


def _passed(inst: Installation, revision: str) -> bool:
    """fluxd finished a pass of ``revision`` (with or without failures)."""
    return bool(inst.daemon.readyz()["last_sync_revision"] == revision)


def _sync_errors(inst: Installation, revision: str) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = inst.daemon.get_json(f"/v11/sync-errors?ref={revision}")[
        "errors"
    ]
    return errors


@pytest.fixture
def host_file() -> Iterator[Path]:
    """A manifest on the host, outside any repo: fluxd must never read it."""
    with tempfile.TemporaryDirectory(prefix="fluxpy-host-") as tmp:
        path = Path(tmp) / "secret.yaml"
        path.write_text(config_map("host-secret", HOST_SECRET, "main"))
        yield path


def _odd_tree(host_file: Path) -> Callable[[Path], None]:
    def populate(work: Path) -> None:
        # Symlinks out of the repo: to the file, to its directory, and relative.
        (work / "leak.yaml").symlink_to(host_file)
        (work / "hostdir").symlink_to(host_file.parent, target_is_directory=True)
        (work / "up.yaml").symlink_to("../" * 30 + str(host_file).lstrip("/"))
        deep = work
        for _ in range(DEPTH):  # one level at a time: mkdir(parents=True) recurses
            deep /= "d"
            deep.mkdir()
        (deep / "deep.yaml").write_text(config_map("deep", "v1", "main"))
        latin1 = config_map("latin", "caf\xe9", "main").encode("latin-1")
        (work / "latin1.yaml").write_bytes(latin1)
        # File names that are not UTF-8: one good manifest, one broken like above.
        (work / os.fsdecode(b"caf\xe9.yaml")).write_text(config_map("odd-name", "v1", "main"))
        (work / os.fsdecode(b"bad-\xff.yaml")).write_bytes(latin1.replace(b"latin", b"latin2"))

    return populate


def test_symlinks_out_of_the_repo_deep_nesting_and_non_utf8_files(
    fluxd_factory: Callable[..., Installation], host_file: Path
) -> None:
    inst = fluxd_factory(config_maps(20, "v1"))
    wait_for("the first sync", lambda: synced(inst, head(inst.git, inst.repo)), timeout=90)
    revision = git_faults.push_tree(inst.git, inst.repo, _odd_tree(host_file), "odd content")
    took = time_until(lambda: _passed(inst, revision), timeout=PASS_BOUND)
    live = Ledger.take(inst.kube, inst.target)
    errors = _sync_errors(inst, revision) if took is not None else []
    record(
        "hostile repo: symlinks out, 1,200-deep directories, non-UTF-8 content and names",
        pass_seconds=took,
        host_file_applied="host-secret" in live.objects,
        failures_reported=len(errors),
        peak_rss_mib=round(inst.daemon.peak_rss_mib(), 1),
    )
    assert took is not None, f"no pass of the odd revision: fluxd reports {inst.daemon.readyz()}"
    # Never followed out of the repo: not applied, not even quoted anywhere.
    assert "host-secret" not in live.objects
    assert HOST_SECRET not in json.dumps(errors) + inst.daemon.process.log.read_text()
    assert live.lost([f"cm-{i:05d}" for i in range(20)], "v1") == []
    assert {"deep", "odd-name"} <= set(live.objects)
    # The two files that are not UTF-8 are reported by file, with the reason.
    assert sorted(e["Path"] for e in errors) == ["bad-\\xff.yaml", "latin1.yaml"]
    assert all("utf-8" in e["Error"].lower() for e in errors)


@pytest.mark.reliability
def test_ten_thousand_tiny_files(fluxd_factory: Callable[..., Installation]) -> None:
    files = config_maps(20, "v1")
    files.update({f"tiny/{i // 100:03d}/{i:05d}.yaml": f"# tiny file {i}\n" for i in range(10_000)})
    inst = fluxd_factory(files)
    revision = head(inst.git, inst.repo)
    took = time_until(lambda: synced(inst, revision), timeout=PASS_BOUND)
    live = Ledger.take(inst.kube, inst.target)
    lost = live.lost([f"cm-{i:05d}" for i in range(20)], "v1")
    record(
        "hostile repo: 10,000 tiny files",
        first_sync_seconds=took,
        objects_lost=len(lost),
        peak_rss_mib=round(inst.daemon.peak_rss_mib(), 1),
    )
    assert took is not None, f"no clean pass: fluxd reports {inst.daemon.readyz()}"
    assert lost == []


# --- objects the cluster refuses ------------------------------------------------


def _frozen(value: str) -> str:
    return config_map("frozen", value, "main") + "immutable: true\n"


def _service_account(name: str) -> str:
    return f"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n"


def _without_service_accounts(kube: Cluster, namespace: str) -> None:
    """Narrow fluxd's ClusterRole: everything it needs, but no ServiceAccounts."""
    rules = [
        {"apiGroups": [""], "verbs": ["*"], "resources": [
            "configmaps", "secrets", "events", "namespaces", "pods", "services"]},
        {"apiGroups": ["events.k8s.io", "apps"], "resources": ["*"], "verbs": ["*"]},
        {"apiGroups": ["apiextensions.k8s.io"], "resources": ["*"], "verbs": ["get", "list"]},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["*"]},
        {"nonResourceURLs": ["*"], "verbs": ["*"]},
    ]  # fmt: skip
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": f"flux-{namespace}", "labels": {"name": "flux"}},
        "rules": rules,
    }
    kube.apply_objects([role])


def test_a_forbidden_kind_and_an_immutable_change_among_1000_good_objects(
    fluxd_factory: Callable[..., Installation], kube: Cluster
) -> None:
    inst = fluxd_factory({"frozen.yaml": _frozen("v1")})
    wait_for("the first sync", lambda: synced(inst, head(inst.git, inst.repo)), timeout=90)
    _without_service_accounts(kube, inst.namespace)
    before = Ledger.take(kube, inst.target)
    files = config_maps(1000, "v1")
    files["frozen.yaml"] = _frozen("v2")
    files["account.yaml"] = _service_account("not-allowed")
    revision = inst.git.push_files(inst.repo, files, "1,000 objects and two the cluster refuses")
    took = time_until(lambda: _passed(inst, revision), timeout=PASS_BOUND)
    after = Ledger.take(kube, inst.target)
    errors = _sync_errors(inst, revision) if took is not None else []
    lost = after.lost([f"cm-{i:05d}" for i in range(1000)], "v1")
    record(
        "RBAC-forbidden kind and immutable-field change among 1,000 good objects",
        pass_seconds=took,
        applied=count_live(kube, inst.target) - 1,
        failures_reported=len(errors),
        objects_lost=len(lost),
        wrongly_deleted=len(before.wrongly_deleted(after)),
    )
    assert took is not None, f"no pass of the revision: fluxd reports {inst.daemon.readyz()}"
    assert lost == []
    # The immutable one stays as it was: fluxd must not delete it to get its way.
    assert before.wrongly_deleted(after) == []
    assert after.objects["frozen"][1] == "v1"
    assert sorted(e["ID"] for e in errors) == [
        f"{inst.target}:configmap/frozen",
        f"{inst.target}:serviceaccount/not-allowed",
    ]
    by_id = {e["ID"]: e["Error"].lower() for e in errors}
    assert "immutable" in by_id[f"{inst.target}:configmap/frozen"]
    assert "forbidden" in by_id[f"{inst.target}:serviceaccount/not-allowed"]


# --- a flood of webhook deliveries ------------------------------------------------

SECRET = "reliability-webhook-secret"


def _sync_passes(inst: Installation) -> float:
    url = f"http://127.0.0.1:{inst.daemon.port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as resp:
        text = resp.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "flux_daemon_sync_duration_seconds_count"
    )


def _delivery(inst: Installation, number: int) -> int:
    """Delivery ``number``: every 4th badly signed, every 4th malformed, the rest valid."""
    payload: dict[str, Any] = {"ref": "refs/heads/master"}
    payload["repository"] = {"ssh_url": inst.git.ssh_url(inst.repo)}
    body = json.dumps(payload).encode() if number % 4 != 1 else b"{not json"
    key = b"wrong secret" if number % 4 == 0 else SECRET.encode()
    headers = {
        "X-GitHub-Event": "push",
        "X-Hub-Signature-256": "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest(),
        "Content-Type": "application/json",
    }
    try:
        return inst.daemon.post("/hook/github", body, headers)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_burst_of_1000_webhook_deliveries(
    fluxd_factory: Callable[..., Installation],
) -> None:
    inst = fluxd_factory(
        config_maps(20, "v1"),
        extra_args=("--git-poll-interval=10m", f"--webhook-secret={SECRET}"),
    )
    wait_for("the first sync", lambda: synced(inst, head(inst.git, inst.repo)), timeout=90)
    passes_before = _sync_passes(inst)
    revision = inst.git.push_files(inst.repo, config_maps(20, "v2"), "v2")
    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda n: _delivery(inst, n), range(1000)))
    burst_seconds = round(time.monotonic() - began, 2)
    live_after = time_until(lambda: synced(inst, revision), timeout=60)
    # A pass caused by a late delivery would start at the fetch that follows
    # it; give that fetch time to happen before counting.
    time.sleep(3)
    passes = _sync_passes(inst) - passes_before
    by_kind = {kind: Counter(statuses[k::4]) for k, kind in enumerate(("bad", "malformed"))}
    valid = Counter(s for n, s in enumerate(statuses) if n % 4 > 1)
    record(
        "1,000 webhook deliveries in a burst (valid, badly signed, malformed)",
        deliveries=len(statuses),
        answers_5xx=sum(1 for s in statuses if s >= 500),
        statuses={str(k): v for k, v in sorted(Counter(statuses).items())},
        burst_seconds=burst_seconds,
        change_live_after_burst_s=live_after,
        sync_passes=passes,
    )
    assert [s for s in statuses if s >= 500] == []
    assert set(by_kind["bad"]) == {401}
    assert set(by_kind["malformed"]) == {400}
    assert set(valid) <= {200, 202}
    assert live_after is not None
    assert 1 <= passes <= 2

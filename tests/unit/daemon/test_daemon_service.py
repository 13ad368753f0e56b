"""The daemon behind the API: jobs, "is this revision applied", per-resource errors."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from fluxd.api.port import DaemonPort
from fluxd.cluster import EventTarget, EventType, Workload
from fluxd.cluster.workloads import exportable, to_workload
from fluxd.daemon import Daemon
from fluxd.errors import GitError, IdentityError, MissingError, UserError
from fluxd.identity import PublicKeyInfo
from fluxd.jobs import JobRunner
from fluxd.metrics import Metrics
from fluxd.passes import SyncPasses
from fluxd.settings import Settings
from fluxd.sync.loop import LoopTimings, SyncLoop
from fluxd.sync.results import ResourceFailure, SyncResult

HEAD = "a" * 40
OLD = "b" * 40
LIVE_WEB: dict[str, Any] = {
    "metadata": {"name": "web", "namespace": "team-a", "uid": "u", "labels": {"app": "web"}},
    "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
        },
    },
}


class FakeMirror:
    def __init__(self) -> None:
        self.ready = True
        self.status = "ready"
        self.error = ""
        self.head_sha = HEAD
        self.fetches = 0

    def safe_url(self) -> str:
        return "ssh://git@example.com/repo"

    def advance(self) -> object:
        return None

    def refresh(self) -> str:
        self.fetches += 1
        return self.head_sha

    def head(self) -> str:
        return self.head_sha

    def commits_between(self, old: str | None, new: str) -> list[str]:
        if new not in (HEAD, OLD):
            raise GitError(f"revision {new!r} is not a commit in the local mirror")
        return [] if old == new else [new]


class FakeEngine:
    def __init__(self, applied: str | None) -> None:
        self.applied = applied
        self.result = SyncResult(HEAD, 0.0, 0.1, applied=1)

    def applied_revision(self) -> str | None:
        return self.applied

    def run_pass(self, *, check_drift: bool = True) -> SyncResult:
        self.applied = self.result.revision
        return self.result

    def forget(self) -> None:
        self.applied = None


class BrokenKeyRing:
    def public_key(self) -> PublicKeyInfo | None:
        raise IdentityError("the key in Secret flux-git-deploy has a passphrase")

    def regenerate(self) -> PublicKeyInfo:
        raise AssertionError("not asked")


class FakeCluster:
    def __init__(self) -> None:
        self.events: list[str] = []

    def list_workloads(self, namespace: str | None = None) -> list[Workload]:
        return [to_workload("Deployment", LIVE_WEB)]

    def export_workloads(self) -> list[dict[str, Any]]:
        return [exportable("Deployment", "apps/v1", LIVE_WEB)]

    def ping(self) -> None:
        return None

    def record_event(
        self, target: EventTarget, *, reason: str, message: str, type: EventType = EventType.NORMAL
    ) -> None:
        self.events.append(reason)


def wire(
    engine: FakeEngine,
    *,
    mirror: FakeMirror | None = None,
    cluster: FakeCluster | None = None,
    keyring: Any = None,
    registry: CollectorRegistry | None = None,
) -> tuple[Daemon, SyncPasses]:
    """The daemon and its passes, wired as fluxd.runner wires them."""
    settings, mirror, cluster = Settings(), mirror or FakeMirror(), cluster or FakeCluster()
    metrics = Metrics(registry or CollectorRegistry())
    passes = SyncPasses(
        engine, events=cluster, metrics=metrics, namespace=settings.cluster.namespace
    )
    timings = LoopTimings(settings.git.poll_interval, settings.sync.interval)
    loop = SyncLoop(mirror, passes.run, timings)
    jobs = JobRunner(loop, None, lambda: None if mirror.ready else mirror.error)
    daemon = Daemon(
        settings,
        mirror=mirror,
        passes=passes,
        loop=loop,
        keyring=keyring,
        cluster=cluster,
        jobs=jobs,
    )
    return daemon, passes


def make(applied: str | None = None, keyring: Any = None) -> tuple[Daemon, FakeMirror, FakeEngine]:
    mirror, engine = FakeMirror(), FakeEngine(applied)
    return wire(engine, mirror=mirror, keyring=keyring)[0], mirror, engine


async def _jobs_finished() -> None:
    """Wait for the jobs' tasks (without a running sync loop, nothing else runs)."""
    await asyncio.gather(*(asyncio.all_tasks() - {asyncio.current_task()}))


def test_the_daemon_fits_the_port_the_api_needs() -> None:
    daemon: DaemonPort = make()[0]
    assert daemon.version


def test_a_sync_job_fetches_and_reports_the_branch_head() -> None:
    async def scenario() -> tuple[str, str, int]:
        daemon, mirror, _ = make()
        job_id = daemon.start_sync_job()
        await _jobs_finished()
        status = daemon.job_status(job_id)
        return status.state, status.revision, mirror.fetches

    state, revision, fetches = asyncio.run(scenario())
    assert (state, revision, fetches) == ("succeeded", HEAD, 1)


def test_a_sync_job_on_a_repo_that_is_not_ready_fails_with_the_reason() -> None:
    async def scenario() -> tuple[str, str]:
        daemon, mirror, _ = make()
        mirror.ready, mirror.error = False, "git repo has not been cloned yet"
        job_id = daemon.start_sync_job()
        await _jobs_finished()
        status = daemon.job_status(job_id)
        return status.state, status.error

    state, error = asyncio.run(scenario())
    assert state == "failed"
    assert "not been cloned" in error


def test_a_sync_job_that_crashes_keeps_the_text_and_logs_the_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> tuple[str, str]:
        daemon, mirror, _ = make()

        def crash() -> str:
            raise KeyError("packed-refs")

        mirror.refresh = crash  # type: ignore[method-assign]
        job_id = daemon.start_sync_job()
        await _jobs_finished()
        status = daemon.job_status(job_id)
        return status.state, status.error

    with caplog.at_level(logging.WARNING, logger="fluxd.jobs"):
        state, error = asyncio.run(scenario())
    assert (state, error) == ("failed", "'packed-refs'")
    (record,) = [r for r in caplog.records if "job-crashed" in r.getMessage()]
    assert record.exc_info is not None
    assert record.exc_info[0] is KeyError


def test_a_sync_job_refused_for_a_known_reason_logs_it_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        daemon, mirror, _ = make()
        mirror.ready, mirror.error = False, "git repo has not been cloned yet"
        daemon.start_sync_job()
        await _jobs_finished()

    with caplog.at_level(logging.WARNING, logger="fluxd.jobs"):
        asyncio.run(scenario())
    (record,) = [r for r in caplog.records if "job-failed" in r.getMessage()]
    assert "not been cloned" in record.getMessage()
    assert record.exc_info is None


def test_an_unknown_job_is_missing() -> None:
    with pytest.raises(MissingError):
        make()[0].job_status("nope")


def test_a_revision_is_applied_once_the_marker_reaches_it_and_short_shas_resolve() -> None:
    daemon, _, _ = make(applied=OLD)
    assert daemon.sync_status(HEAD[:7]) == [HEAD]
    daemon, _, _ = make(applied=HEAD)
    assert daemon.sync_status(HEAD[:7]) == []
    # As in Flux v1, the empty ref is the branch HEAD.
    assert make(applied=OLD)[0].sync_status("") == [HEAD]


def test_a_ref_that_is_no_commit_id_or_an_unknown_one_is_a_user_error() -> None:
    with pytest.raises(UserError):
        make()[0].sync_status("not a ref!")
    with pytest.raises(UserError, match="not known"):
        make()[0].sync_status("c" * 7)
    with pytest.raises(UserError, match="not known"):
        make()[0].sync_status("c" * 40)


def test_per_resource_failures_of_the_pass_that_applied_a_revision_are_served() -> None:
    async def scenario() -> Any:
        engine = FakeEngine(None)
        engine.result = SyncResult(
            HEAD, 0.0, 0.2, failures=(ResourceFailure("ns:deployment/web", "web.yaml", "boom"),)
        )
        daemon, passes = wire(engine)
        await passes.run()
        return daemon.sync_errors(HEAD[:7])

    errors = asyncio.run(scenario())
    assert errors.revision == HEAD
    assert [(e.id, e.source, e.error) for e in errors.failures] == [
        ("ns:deployment/web", "web.yaml", "boom")
    ]


def test_passes_asking_for_the_same_objects_keep_one_set_of_their_ids() -> None:
    ids = [f"ns:configmap/cm-{i}" for i in range(100)]

    async def scenario() -> list[SyncResult]:
        engine = FakeEngine(None)
        _, passes = wire(engine)
        kept = []
        for revision, wanted in [(OLD, ids), (HEAD, ids), (OLD, ids[:-1])]:
            # Each pass builds its set anew, as the engine does.
            engine.result = SyncResult(revision, 0.0, 0.1, desired=frozenset(list(wanted)))
            kept.append(await passes.run())
        return kept

    first, same, fewer = asyncio.run(scenario())
    assert same.desired is first.desired
    assert fewer.desired == frozenset(ids[:-1])


def test_no_errors_are_known_for_a_revision_no_pass_applied() -> None:
    with pytest.raises(MissingError):
        make()[0].sync_errors(HEAD[:7])


def test_a_broken_key_is_reported_in_the_git_config_instead_of_failing_the_probe() -> None:
    daemon, _, _ = make(keyring=BrokenKeyRing())
    config = daemon.git_config(False)
    assert config.public_key is None
    assert "passphrase" in config.errors


def test_export_writes_what_the_cluster_exports_with_pod_templates_in_place() -> None:
    import yaml

    daemon, _, _ = make()

    docs = list(yaml.safe_load_all(daemon.export()))

    assert [d["kind"] for d in docs] == ["Deployment"]
    spec = docs[0]["spec"]
    assert "containers" not in spec
    assert spec["template"]["spec"]["containers"] == [{"name": "web", "image": "nginx:1.27"}]
    assert spec["selector"] == {"matchLabels": {"app": "web"}}

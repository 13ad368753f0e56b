"""Composition root: build every part from the settings and run them together.

The HTTP servers and the sync loop run as tasks of one TaskGroup; the first
to fail stops the rest, and SIGTERM/SIGINT stop all of them cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import socket
import tempfile
from collections.abc import Callable, Coroutine, Generator
from pathlib import Path
from typing import Any

import uvicorn

from fluxd import __version__
from fluxd.api.app import create_app, make_webhook_app
from fluxd.clock import SystemClock
from fluxd.cluster import Cluster, SecretRequests
from fluxd.cluster.lease import LeaseStore
from fluxd.daemon import Daemon
from fluxd.errors import FluxError
from fluxd.flags import split_address
from fluxd.git import GitMirror
from fluxd.identity import KeyRing, KubeSecretStore
from fluxd.metrics import CollectorRegistry, Metrics, make_metrics_app
from fluxd.settings import Settings, SyncState
from fluxd.sync.election import LeaderElector, advertised
from fluxd.sync.engine import SyncEngine
from fluxd.sync.marker import GitTagMarker, SecretMarker, SyncMarker

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the runner owns SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class _SecretAnnotations:
    def __init__(self, cluster: Cluster, name: str) -> None:
        self._cluster = cluster
        self._name = name

    def read_annotations(self) -> dict[str, str]:
        return dict(self._cluster.read_secret(self._name).annotations)

    def write_annotation(self, key: str, value: str) -> None:
        self._cluster.annotate_secret(self._name, {key: value})


def _server(app: Callable[..., object], address: str, flag: str) -> _Server:
    host, port = split_address(address, flag)
    config = uvicorn.Config(
        app, host=host, port=port, log_config=None, access_log=False, lifespan="off"
    )
    return _Server(config)


def _start_keyring(settings: Settings, cluster: Cluster) -> KeyRing:
    store = KubeSecretStore(
        SecretRequests(
            cluster.client.api_client,
            namespace=settings.cluster.namespace,
            name=settings.cluster.secret_name,
        )
    )
    keyring = KeyRing(store, ssh=settings.ssh, data_key=settings.cluster.secret_data_key)
    try:
        info = keyring.start()
        log.info("event=identity fingerprint=%s", info.sha256.hash)
    except FluxError as exc:
        # fluxd keeps serving: `fluxctl identity` and the git status say what is wrong.
        log.error("event=identity-unusable error=%r help=%r", str(exc), exc.help)
    return keyring


def _elector(
    settings: Settings, cluster: Cluster, metrics: Metrics, clock: SystemClock
) -> LeaderElector | None:
    """The leader elector, fencing the cluster's writes; None without --leader-elect."""
    leader = settings.leader
    if not leader.elect:
        return None
    lease = LeaseStore(cluster.client, namespace=settings.cluster.namespace, name=leader.lease_name)
    elector = LeaderElector(
        lease,
        leader,
        address=advertised(leader.advertise_address, settings.api.listen),
        clock=clock,
        on_change=metrics.set_leader,
    )
    metrics.set_leader(False)
    cluster.set_fence(elector.may_write)
    return elector


#: The coroutine that fetches and syncs until cancelled.
Syncing = Callable[[], Coroutine[Any, Any, None]]


def _syncing(daemon: Daemon, engine: SyncEngine, elector: LeaderElector | None) -> Syncing:
    """Fetch and sync; with election, sync only while leading (a standby keeps
    its mirror fresh, so that taking over costs one pass and no clone)."""
    if elector is None:
        return daemon.loop.run

    async def lead() -> None:
        # Another replica may have synced while this one stood by.
        await daemon.passes.run(engine.forget)
        await daemon.loop.run_syncing()

    return lambda: elector.serve(daemon.loop.run_fetching, lead)


def build(
    settings: Settings, workdir: Path
) -> tuple[Daemon, list[_Server], Cluster, KeyRing, Syncing]:
    # Each replica claims the Lease under its own name: the pod's (POD_NAME),
    # else the host's, which is the pod's too inside a container.
    identity = settings.leader.identity or socket.gethostname()
    settings = dataclasses.replace(
        settings, leader=dataclasses.replace(settings.leader, identity=identity)
    )
    # One clock for every wait (sync loop, API client throttling and 429s).
    clock = SystemClock()
    # Each replica names itself to the API server (its audit log shows who wrote what).
    agent = f"fluxd/{__version__} ({settings.leader.identity or 'fluxd'})"
    cluster = Cluster.connect(settings.cluster, settings.sync, clock=clock, user_agent=agent)
    keyring = _start_keyring(settings, cluster)
    mirror = GitMirror(
        settings.git,
        settings.ssh,
        workdir=workdir / "mirror",
        identity_file=keyring.identity_file,
        max_file_size=settings.manifests.max_file_size,
    )
    marker: SyncMarker
    if settings.sync.state is SyncState.SECRET:
        marker = SecretMarker(_SecretAnnotations(cluster, settings.cluster.secret_name))
    else:
        marker = GitTagMarker(mirror)
    engine = SyncEngine(
        mirror,
        cluster,
        marker,
        git=settings.git,
        sync=settings.sync,
        cluster_settings=settings.cluster,
        manifests=settings.manifests,
    )
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    elector = _elector(settings, cluster, metrics, clock)
    daemon = Daemon(
        settings,
        mirror=mirror,
        engine=engine,
        keyring=keyring,
        cluster=cluster,
        metrics=metrics,
        clock=clock,
        elector=elector,
    )
    api = settings.api
    servers = [_server(create_app(daemon, settings=api, registry=registry), api.listen, "--listen")]
    if api.listen_metrics:
        servers.append(_server(make_metrics_app(registry), api.listen_metrics, "--listen-metrics"))
    if api.listen_webhook:
        servers.append(
            _server(
                make_webhook_app(daemon, settings=api, registry=registry),
                api.listen_webhook,
                "--listen-webhook",
            )
        )
    return daemon, servers, cluster, keyring, _syncing(daemon, engine, elector)


async def run(settings: Settings) -> None:
    """Run fluxd until SIGTERM or SIGINT."""
    with tempfile.TemporaryDirectory(prefix="fluxd-") as tmp:
        built = await asyncio.to_thread(build, settings, Path(tmp))
        daemon, servers, cluster, keyring, syncing = built
        log.info(
            "event=started url=%s branch=%s paths=%s sync-state=%s readonly=%s listen=%s",
            daemon.git_remote().url,
            settings.git.branch,
            ",".join(settings.git.paths) or ".",
            settings.sync.state.value,
            settings.git.readonly,
            settings.api.listen,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(s.serve()) for s in servers]
                tasks.append(group.create_task(syncing()))
                await stop.wait()
                log.info("event=stopping")
                for server in servers:
                    server.should_exit = True
                tasks[-1].cancel()
        finally:
            keyring.close()
            await asyncio.to_thread(cluster.close)

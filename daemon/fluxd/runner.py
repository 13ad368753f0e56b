"""Composition root: build every part from the settings and run them together.

The HTTP servers and the sync loop run as tasks of one TaskGroup; the first
to fail stops the rest, and SIGTERM/SIGINT stop all of them cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import tempfile
from collections.abc import Callable, Generator
from pathlib import Path

import uvicorn

from fluxd.api.app import create_app, make_webhook_app
from fluxd.automation import AutomationLoop
from fluxd.clock import SystemClock
from fluxd.cluster import Cluster, SecretRequests
from fluxd.daemon import Daemon
from fluxd.errors import FluxError
from fluxd.flags import split_address
from fluxd.git import GitMirror
from fluxd.identity import KeyRing, KubeSecretStore
from fluxd.image_scan import ImageLoops, ImageScanLoop
from fluxd.metrics import CollectorRegistry, Metrics, RegistryMetrics, make_metrics_app
from fluxd.registry import Scanner
from fluxd.settings import Settings, SyncState
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


def _image_loops(
    settings: Settings, cluster: Cluster, clock: SystemClock, registry: CollectorRegistry
) -> ImageLoops | None:
    """The registry scan and the automation check, unless scanning is off."""
    if settings.registry.disable_scanning:
        return None
    scanner = Scanner(settings.registry, clock=clock, observer=RegistryMetrics(registry))
    # No release port yet: automation finds and logs the updates it would
    # commit; committing them needs the write-back jobs.
    automation = AutomationLoop(
        workloads=lambda: cluster.list_workloads(None),
        cache=scanner.cache,
        release=None,
        interval=settings.registry.automation_interval,
        clock=clock,
    )
    scan = ImageScanLoop(
        settings.registry,
        cluster=cluster,
        scanner=scanner,
        clock=clock,
        on_new_tags=automation.poke,
    )
    return ImageLoops(scan, automation)


def build(settings: Settings, workdir: Path) -> tuple[Daemon, list[_Server], Cluster, KeyRing]:
    # One clock for every wait (sync loop, API client throttling and 429s).
    clock = SystemClock()
    cluster = Cluster.connect(settings.cluster, settings.sync, clock=clock)
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
    images = _image_loops(settings, cluster, clock, registry)
    daemon = Daemon(
        settings,
        mirror=mirror,
        engine=engine,
        keyring=keyring,
        cluster=cluster,
        metrics=metrics,
        clock=clock,
        images=images.scan.scanner.cache if images else None,
        image_loops=images,
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
    return daemon, servers, cluster, keyring


async def run(settings: Settings) -> None:
    """Run fluxd until SIGTERM or SIGINT."""
    with tempfile.TemporaryDirectory(prefix="fluxd-") as tmp:
        daemon, servers, cluster, keyring = await asyncio.to_thread(build, settings, Path(tmp))
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
                loops = daemon.image_loops
                if loops is not None:
                    tasks.append(group.create_task(loops.run()))
                tasks.append(group.create_task(daemon.loop.run()))
                await stop.wait()
                log.info("event=stopping")
                for server in servers:
                    server.should_exit = True
                for task in tasks[len(servers) :]:
                    task.cancel()  # the loops; the servers stop on should_exit
        finally:
            keyring.close()
            await asyncio.to_thread(cluster.close)

"""Composition root: build every part from the settings and run them together.

The HTTP servers and the sync loop run as tasks of one TaskGroup; the first
to fail stops the rest, and SIGTERM/SIGINT stop all of them cleanly. With
--leader-elect the sync loop runs under the leader elector: every replica
fetches, only the one holding the Lease syncs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import tempfile
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from pathlib import Path

import uvicorn

from fluxd import __version__
from fluxd.api.app import create_app, make_webhook_app
from fluxd.automation import AutomationLoop
from fluxd.autorelease import JobReleases
from fluxd.clock import Clock, SystemClock
from fluxd.cluster import Cluster
from fluxd.cluster.lease import LeaseStore
from fluxd.cluster.podlabels import PodLabels
from fluxd.daemon import Daemon
from fluxd.errors import FluxError
from fluxd.flags import split_address
from fluxd.git import GitMirror
from fluxd.identity import KeyRing, KubeSecretStore
from fluxd.image_scan import ImageLoops, ImageScanLoop
from fluxd.jobs import JobRunner
from fluxd.metrics import CollectorRegistry, Metrics, RegistryMetrics, make_metrics_app
from fluxd.passes import SyncPasses
from fluxd.registry import Scanner
from fluxd.settings import Settings, SyncState
from fluxd.status_service import StatusService
from fluxd.sync.badge import LeaderBadge
from fluxd.sync.election import LeaderElector, advertised
from fluxd.sync.engine import SyncEngine
from fluxd.sync.loop import LoopTimings, SyncLoop
from fluxd.sync.marker import GitTagMarker, SecretMarker, SyncMarker
from fluxd.writeback import GitWriter, WriterSettings
from fluxd.writeback.scanned import ScannedImages

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


def _identified(settings: Settings) -> Settings:
    """``settings`` with this replica's name for the Lease: the pod's (POD_NAME),
    else the host's, which is the pod's too inside a container."""
    identity = settings.leader.identity or socket.gethostname()
    return replace(settings, leader=replace(settings.leader, identity=identity))


def _connect(settings: Settings, clock: Clock) -> Cluster:
    # Each replica names itself to the API server (its audit log shows who wrote what).
    agent = f"fluxd/{__version__} ({settings.leader.identity or 'fluxd'})"
    return Cluster.connect(settings.cluster, settings.sync, clock=clock, user_agent=agent)


def _elector(
    settings: Settings, cluster: Cluster, metrics: Metrics, clock: Clock
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


def _badge(settings: Settings, cluster: Cluster) -> LeaderBadge | None:
    leader = settings.leader
    if not (leader.elect and leader.pod_labels):
        return None
    labels = PodLabels(
        cluster.client, namespace=settings.cluster.namespace, labels=leader.pod_labels
    )
    return LeaderBadge(labels, pod=leader.identity)


def _start_keyring(settings: Settings, cluster: Cluster) -> KeyRing:
    store = KubeSecretStore(cluster.secret_requests())
    keyring = KeyRing(store, ssh=settings.ssh, data_key=settings.cluster.secret_data_key)
    try:
        info = keyring.start()
        log.info("event=identity fingerprint=%s", info.sha256.hash)
    except FluxError as exc:
        # fluxd keeps serving: `fluxctl identity` and the git status say what is wrong.
        log.error("event=identity-unusable error=%r help=%r", str(exc), exc.help)
    return keyring


def _scanner(settings: Settings, clock: SystemClock, registry: CollectorRegistry) -> Scanner | None:
    """The registry scan, unless scanning is off."""
    if settings.registry.disable_scanning:
        return None
    return Scanner(settings.registry, clock=clock, observer=RegistryMetrics(registry))


def _image_loops(
    settings: Settings,
    cluster: Cluster,
    clock: SystemClock,
    scanner: Scanner | None,
    jobs: JobRunner,
    elector: LeaderElector | None,
) -> ImageLoops | None:
    """The registry scan and the automation check, unless scanning is off."""
    if scanner is None:
        return None
    # Without a writable repo automation only finds and logs its updates.
    writable = bool(settings.git.url) and not settings.git.readonly
    releases = JobReleases(
        jobs,
        events=cluster,
        namespace=settings.cluster.namespace,
        leading=elector.may_write if elector is not None else lambda: True,
    )
    automation = AutomationLoop(
        workloads=lambda: cluster.list_workloads(None),
        cache=scanner.cache,
        release=releases if writable else None,
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


def _writer(
    settings: Settings, mirror: GitMirror, cluster: Cluster, scanner: Scanner | None
) -> GitWriter | None:
    """What carries out release and policy jobs; None without a repo."""
    if not settings.git.url:
        return None
    git = settings.git
    return GitWriter(
        mirror,
        cluster,
        scope=cluster.scope,
        settings=WriterSettings(
            default_namespace=settings.cluster.default_namespace or "default",
            readonly=git.readonly,
            set_author=git.set_author,
            message_suffix=git.commit_suffix,
        ),
        # `<all latest>` releases choose from what the registry scan found.
        images=ScannedImages(scanner.cache) if scanner else None,
    )


def _mirror(settings: Settings, workdir: Path, keyring: KeyRing) -> GitMirror:
    return GitMirror(
        settings.git,
        settings.ssh,
        workdir=workdir / "mirror",
        identity_file=keyring.identity_file,
        max_file_size=settings.manifests.max_file_size,
    )


def _marker(settings: Settings, cluster: Cluster, mirror: GitMirror) -> SyncMarker:
    if settings.sync.state is SyncState.SECRET:
        return SecretMarker(_SecretAnnotations(cluster, settings.cluster.secret_name))
    return GitTagMarker(mirror)


def _engine(settings: Settings, mirror: GitMirror, cluster: Cluster, clock: Clock) -> SyncEngine:
    return SyncEngine(
        mirror,
        cluster,
        _marker(settings, cluster, mirror),
        git=settings.git,
        sync=settings.sync,
        cluster_settings=settings.cluster,
        manifests=settings.manifests,
        clock=clock,
    )


def _timings(settings: Settings) -> LoopTimings:
    return LoopTimings(
        poll_interval=settings.git.poll_interval,
        sync_interval=settings.sync.interval,
        retry_max_delay=settings.sync.retry_max_delay,
    )


def _sync_loop(
    settings: Settings, mirror: GitMirror, passes: SyncPasses, metrics: Metrics, clock: Clock
) -> SyncLoop:
    """The fetch-and-sync loop; the git-ready gauge reads the mirror it drives."""
    metrics.track_git_ready(lambda: mirror.ready)
    return SyncLoop(
        mirror, passes.run, _timings(settings), clock=clock, on_retry=metrics.observe_retry
    )


def _servers(
    settings: Settings, daemon: Daemon, status: StatusService, registry: CollectorRegistry
) -> list[_Server]:
    """The API server on --listen, and the optional metrics and webhook servers."""
    api = settings.api
    app = create_app(
        daemon, settings=api, registry=registry, status=status, limits=settings.manifests
    )
    servers = [_server(app, api.listen, "--listen")]
    if api.listen_metrics:
        servers.append(_server(make_metrics_app(registry), api.listen_metrics, "--listen-metrics"))
    if api.listen_webhook:
        webhooks = make_webhook_app(daemon, settings=api, registry=registry)
        servers.append(_server(webhooks, api.listen_webhook, "--listen-webhook"))
    return servers


@dataclass(frozen=True, slots=True)
class Parts:
    """What ``run`` starts and stops."""

    daemon: Daemon
    passes: SyncPasses
    loop: SyncLoop
    servers: list[_Server]
    cluster: Cluster
    keyring: KeyRing
    #: The registry scan and automation (None with --registry-disable-scanning).
    images: ImageLoops | None = None
    #: Who of the replicas syncs (None without --leader-elect: this one always does).
    elector: LeaderElector | None = None
    #: The labels the leader wears on its pod (--leader-pod-labels).
    badge: LeaderBadge | None = None

    async def sync(self) -> None:
        """Fetch and sync until cancelled; with election, sync only while leading (a
        standby keeps its mirror fresh, so that taking over costs one pass and no clone)."""
        elector, badge = self.elector, self.badge
        if elector is None:
            await self.loop.run()
            return

        async def lead() -> None:
            # Another replica may have synced while this one stood by.
            await self.passes.forget()
            try:
                if badge is None:
                    await self.loop.run_syncing()
                    return
                async with badge.worn(elector.taken_from):
                    await self.loop.run_syncing()
            finally:
                # A standby needs no drift watches; the next leadership starts them anew.
                await asyncio.shield(asyncio.to_thread(self.cluster.stop_watching))

        if badge is not None:
            await badge.take_off_own()
        await elector.serve(self.loop.run_fetching, lead)


def build(settings: Settings, workdir: Path) -> Parts:
    """Every part of fluxd, wired: the one place that constructs them."""
    settings = _identified(settings)
    # One clock for every wait (sync loop and pass deadline, API client
    # throttling and 429s, CRD waits, discovery refreshes, the Lease).
    clock = SystemClock()
    cluster = _connect(settings, clock)
    keyring = _start_keyring(settings, cluster)
    mirror = _mirror(settings, workdir, keyring)
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    elector = _elector(settings, cluster, metrics, clock)
    engine = _engine(settings, mirror, cluster, clock)
    passes = SyncPasses(
        engine, events=cluster, metrics=metrics, namespace=settings.cluster.namespace
    )
    loop = _sync_loop(settings, mirror, passes, metrics, clock)
    scanner = _scanner(settings, clock, registry)
    writer = _writer(settings, mirror, cluster, scanner)
    jobs = JobRunner(loop, writer, lambda: None if mirror.ready else mirror.error)
    images = _image_loops(settings, cluster, clock, scanner, jobs, elector)
    daemon = Daemon(
        settings,
        mirror=mirror,
        passes=passes,
        loop=loop,
        keyring=keyring,
        cluster=cluster,
        jobs=jobs,
        images=images.scan.scanner.cache if images else None,
        image_loops=images,
        elector=elector,
    )
    status = StatusService(
        settings, daemon=daemon, mirror=mirror, cluster=cluster, inventory=engine.inventory
    )
    servers = _servers(settings, daemon, status, registry)
    return Parts(
        daemon, passes, loop, servers, cluster, keyring, images, elector, _badge(settings, cluster)
    )


async def run(settings: Settings) -> None:
    """Run fluxd until SIGTERM or SIGINT."""
    with tempfile.TemporaryDirectory(prefix="fluxd-") as tmp:
        parts = await asyncio.to_thread(build, settings, Path(tmp))
        daemon, servers = parts.daemon, parts.servers
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
                if parts.images is not None:
                    tasks.append(group.create_task(parts.images.run()))
                tasks.append(group.create_task(parts.sync()))
                await stop.wait()
                log.info("event=stopping")
                for server in servers:
                    server.should_exit = True
                for task in tasks[len(servers) :]:
                    task.cancel()  # the loops; the servers stop on should_exit
        finally:
            parts.keyring.close()
            await asyncio.to_thread(parts.cluster.close)

"""The scanning loop: which images the workloads run, with whose credentials, scanned how often.

Every ``--registry-scan-interval`` the workloads are listed (init containers
too) and each image's repository is scanned with the credentials that would
pull it: the pod template's ``imagePullSecrets``, then its ServiceAccount's,
then ``--docker-config``. A Secret that cannot be read or parsed costs that
workload its credentials (logged), never the scan.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from fluxd.automation import AutomationLoop
from fluxd.clock import Clock, SystemClock
from fluxd.cluster import SecretData, Workload
from fluxd.errors import FluxError
from fluxd.registry import (
    BadConfig,
    Credentials,
    Scanner,
    ScanSummary,
    ScanTarget,
    from_secret,
    parse_image,
    read_docker_config,
)
from fluxd.settings import RegistrySettings

log = logging.getLogger(__name__)

HostCredentials = dict[str, Credentials]


class ImageCluster(Protocol):
    """What scanning reads of the cluster."""

    def list_workloads(self, namespace: str | None = None) -> list[Workload]: ...

    def read_secret(self, name: str, namespace: str | None = None) -> SecretData: ...

    def pull_secrets_of(self, namespace: str, service_account: str) -> list[str]: ...


class ImageScanLoop:
    """Scans every ``scan_interval``, or soon when asked; pokes automation on new tags."""

    def __init__(
        self,
        settings: RegistrySettings,
        *,
        cluster: ImageCluster,
        scanner: Scanner,
        clock: Clock | None = None,
        on_new_tags: Callable[[], None] = lambda: None,
    ) -> None:
        self._settings = settings
        self._cluster = cluster
        self.scanner = scanner
        self._clock: Clock = clock or SystemClock()
        self._on_new_tags = on_new_tags
        self._wake = asyncio.Event()
        self.passes = 0

    def ask(self) -> None:
        """Scan soon (a registry webhook said an image was pushed)."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self.scan_once()
            await self._clock.wait(self._wake, self._settings.scan_interval)
            self._wake.clear()

    async def scan_once(self) -> ScanSummary:
        try:
            targets = await asyncio.to_thread(self.targets)
        except FluxError as exc:
            log.warning("event=image-scan-failed error=%r", str(exc))
            return ScanSummary()
        summary = await asyncio.to_thread(self.scanner.scan, targets)
        self.passes += 1
        log.info(
            "event=image-scan repositories=%d new-tags=%d failed=%d",
            summary.repositories,
            summary.new_tags,
            summary.failed,
        )
        if summary.new_tags:
            self._on_new_tags()
        return summary

    def targets(self) -> list[ScanTarget]:
        """Every image the workloads run, with the credentials to pull it (blocking)."""
        shared = self._docker_config()
        secrets: dict[tuple[str, str], HostCredentials] = {}
        found: dict[str, ScanTarget] = {}
        for workload in self._cluster.list_workloads(None):
            credentials = {**shared, **self._workload_credentials(workload, secrets)}
            for container in workload.containers:
                try:
                    image = parse_image(container.image).image
                except FluxError:
                    continue  # list-images shows this container's error
                # One scan per repository, with the credentials of any workload
                # that has some for its host: one that lacks them does not hide it.
                known = found.get(image.name)
                if known is None or known.credentials is None:
                    found[image.name] = ScanTarget(image, credentials.get(image.host))
        return list(found.values())

    def _workload_credentials(
        self, workload: Workload, cache: dict[tuple[str, str], HostCredentials]
    ) -> HostCredentials:
        namespace = workload.ref.namespace
        names = list(workload.pull_secrets)
        try:
            names = self._cluster.pull_secrets_of(namespace, workload.service_account) + names
        except FluxError as exc:
            log.warning("event=pull-secrets-unread workload=%s error=%r", workload.id, str(exc))
        merged: HostCredentials = {}
        for name in names:  # later ones (the pod's own) win over the ServiceAccount's
            key = (namespace, name)
            if key not in cache:
                cache[key] = self._secret_credentials(namespace, name)
            merged.update(cache[key])
        return merged

    def _secret_credentials(self, namespace: str, name: str) -> HostCredentials:
        try:
            return from_secret(self._cluster.read_secret(name, namespace).data)
        except (FluxError, BadConfig) as exc:
            log.warning(
                "event=pull-secret-unusable secret=%s/%s error=%r", namespace, name, str(exc)
            )
            return {}

    def _docker_config(self) -> HostCredentials:
        path: Path | None = self._settings.docker_config
        if path is None:
            return {}
        try:
            return read_docker_config(path.read_bytes())
        except (OSError, BadConfig) as exc:
            log.warning("event=docker-config-unusable path=%s error=%r", path, str(exc))
            return {}


@dataclass(frozen=True, slots=True)
class ImageLoops:
    """The scan and the automation check, run side by side."""

    scan: ImageScanLoop
    automation: AutomationLoop

    async def run(self) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self.scan.run())
                group.create_task(self.automation.run())
        finally:
            await asyncio.to_thread(self.scan.scanner.close)

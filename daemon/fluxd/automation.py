"""Automated image releases: which containers get a newer image, and the loop that asks.

Every ``--automation-interval`` (and soon after a scan found new tags), each
workload annotated ``fluxcd.io/automated: "true"`` and not locked or ignored
is checked: a container whose filter selects a tag other than the one it
runs gets an ``ImageUpdate``. One pass hands all of them to the release
port at once, with Flux v1's commit message (``Auto-release <image>``, or
``Auto-release multiple (N) images`` and the list), so a pass makes at most
one commit. Committing and pushing is the release port's job.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from fluxd.clock import Clock, SystemClock
from fluxd.cluster import Workload
from fluxd.errors import FluxError
from fluxd.manifests import policies_of
from fluxd.registry import ImageCache, container_filter, parse_image, select_tag

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ImageUpdate:
    """Move one container of one workload from ``current`` to ``target`` (both ``name:tag``)."""

    workload: str
    container: str
    current: str
    target: str


class ReleasePort(Protocol):
    """Commits image updates to git and pushes them (the write-back side provides it)."""

    async def release_images(self, updates: Sequence[ImageUpdate], *, message: str) -> str:
        """Edit the manifests, commit with ``message`` and push; the new revision."""
        ...


def automated(policies: dict[str, str]) -> bool:
    """Automated and neither locked nor ignored: what automation may touch."""
    return (
        policies.get("automated") == "true"
        and policies.get("locked") != "true"
        and policies.get("ignore") not in ("true", "sync_only")
    )


def compute_updates(workloads: Iterable[Workload], cache: ImageCache) -> list[ImageUpdate]:
    """Every container of an automated workload whose filter picks another tag."""
    updates: list[ImageUpdate] = []
    for workload in workloads:
        policies = policies_of(workload.policies)
        if not automated(policies):
            continue
        for container in workload.containers:
            update = _container_update(
                workload.id, container.name, container.image, policies, cache
            )
            if update is not None:
                updates.append(update)
    return updates


def _container_update(
    workload: str, container: str, image: str, policies: dict[str, str], cache: ImageCache
) -> ImageUpdate | None:
    try:
        ref = parse_image(image)
        tag_filter = container_filter(policies, container)
    except FluxError as exc:
        log.warning(
            "event=automation-skipped workload=%s container=%s error=%r",
            workload,
            container,
            str(exc),
        )
        return None
    state = cache.get(ref.image.name)
    if state is None or not state.tags or ref.digest:
        return None  # nothing known yet, or pinned by digest
    tag = select_tag(tag_filter, state.times(), ref.tag)
    if tag is None:
        return None
    return ImageUpdate(workload, container, image, ref.image.with_tag(tag))


def release_message(updates: Sequence[ImageUpdate]) -> str:
    """Flux v1's commit message of an automated release."""
    images = sorted({u.target for u in updates})
    if len(images) == 1:
        return f"Auto-release {images[0]}"
    listed = "\n".join(f" - {image}" for image in images)
    return f"Auto-release multiple ({len(images)}) images\n\n{listed}"


class AutomationLoop:
    """Checks automated workloads every ``interval``, or at once when poked."""

    def __init__(
        self,
        *,
        workloads: Callable[[], list[Workload]],
        cache: ImageCache,
        release: ReleasePort | None,
        interval: float,
        clock: Clock | None = None,
    ) -> None:
        self._workloads = workloads
        self._cache = cache
        self._release = release
        self._interval = interval
        self._clock: Clock = clock or SystemClock()
        self._poke = asyncio.Event()
        #: The updates the last pass found (released or, with no port, only logged).
        self.last_updates: tuple[ImageUpdate, ...] = ()
        self.passes = 0

    def poke(self) -> None:
        """Check soon (new tags were found, or a policy changed)."""
        self._poke.set()

    async def run(self) -> None:
        while True:
            await self.run_once()
            await self._clock.wait(self._poke, self._interval)
            self._poke.clear()

    async def run_once(self) -> tuple[ImageUpdate, ...]:
        try:
            workloads = await asyncio.to_thread(self._workloads)
            updates = tuple(compute_updates(workloads, self._cache))
        except FluxError as exc:
            log.warning("event=automation-failed error=%r", str(exc))
            return ()
        self.last_updates, self.passes = updates, self.passes + 1
        if updates:
            await self._hand_over(updates)
        return updates

    async def _hand_over(self, updates: tuple[ImageUpdate, ...]) -> None:
        message = release_message(updates)
        for update in updates:
            log.info(
                "event=automation-update workload=%s container=%s from=%s to=%s",
                update.workload,
                update.container,
                update.current,
                update.target,
            )
        if self._release is None:
            log.info("event=automation-not-released reason=%r", "no release port wired")
            return
        try:
            revision = await self._release.release_images(updates, message=message)
            log.info("event=automation-released revision=%s count=%d", revision, len(updates))
        except FluxError as exc:
            log.warning("event=automation-release-failed error=%r help=%r", str(exc), exc.help)

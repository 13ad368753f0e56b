"""Automation's release port: its image updates become one write job.

``AutomationLoop`` finds the updates; ``JobReleases`` hands them to the job
runner, which commits them (in turn with fluxctl's writes) and asks the sync
loop to fetch, so the cluster follows within the same pass. A pushed release
is also told as a Kubernetes Event in fluxd's namespace, as sync passes are.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from fluxd.automation import ImageUpdate
from fluxd.cluster import EventTarget, EventType
from fluxd.errors import FluxError
from fluxd.jobs import JobRunner, JobState
from fluxids import ObjectRef

__all__ = ["JobReleases"]

log = logging.getLogger(__name__)


class EventRecorder(Protocol):
    def record_event(
        self, target: EventTarget, *, reason: str, message: str, type: EventType = ...
    ) -> None: ...


class JobReleases:
    """``ReleasePort`` over the job runner."""

    def __init__(
        self,
        jobs: JobRunner,
        *,
        events: EventRecorder,
        namespace: str,
        leading: Callable[[], bool] = lambda: True,
    ) -> None:
        self._jobs = jobs
        self._events = events
        self._namespace = namespace
        #: With replicas, only the leader writes to git; a standby only looks.
        self._leading = leading

    async def release_images(self, updates: Sequence[ImageUpdate], *, message: str) -> str:
        """Commit and push ``updates``; the new revision ("" when git had them already)."""
        if not self._leading():
            log.info("event=automation-standby updates=%d (the leader releases)", len(updates))
            return ""
        targets: dict[ObjectRef, dict[str, str]] = {}
        for update in updates:
            targets.setdefault(ObjectRef.parse(update.workload), {})[update.container] = (
                update.target
            )
        job = await self._jobs.release_containers(targets, message)
        if job.state is JobState.FAILED:
            raise FluxError(
                f"automated release failed: {job.error}",
                help="fluxd tries again at the next automation pass; see its log.",
            )
        if job.revision:
            text = f"{message.splitlines()[0]} (revision {job.revision[:7]})"
            await asyncio.to_thread(self._record, text)
        return job.revision

    def _record(self, message: str) -> None:
        namespace = self._namespace
        target = EventTarget(ObjectRef(namespace, "Namespace", namespace, "v1"))
        try:
            self._events.record_event(target, reason="AutoReleased", message=message)
        except FluxError as exc:
            log.debug("event=event-not-recorded error=%r", str(exc))

"""The leader's badge: pod labels only the replica holding the Lease wears.

Flux v1's fluxctl finds fluxd by pod label and stops at "Ambiguous pod" when
two pods match. With ``--leader-pod-labels`` the leader puts those labels on
its own pod when it gains the Lease, takes them off the pod of the replica
it took over from (which may have died wearing them), and takes them off
its own when it loses the Lease or stops; every replica also takes them off
its own pod when it starts (a restarted container keeps its pod's labels).

A label that cannot be written is logged, never fatal: syncing matters
more than being found by an old client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from fluxd.errors import FluxError

log = logging.getLogger(__name__)


class PodLabelling(Protocol):
    """Labels on pods of fluxd's namespace (``fluxd.cluster.podlabels.PodLabels`` fits)."""

    def put_on(self, pod: str) -> None: ...

    def take_off(self, pod: str) -> None: ...


class LeaderBadge:
    """Puts the leader's labels on this replica's pod ``pod`` while it leads."""

    def __init__(self, labels: PodLabelling, *, pod: str) -> None:
        self._labels = labels
        self._pod = pod

    async def take_off_own(self) -> None:
        await self._quietly(self._labels.take_off, self._pod)

    @contextlib.asynccontextmanager
    async def worn(self, taken_from: str) -> AsyncIterator[None]:
        """Wear the badge for the ``with`` block; ``taken_from`` is the previous holder."""
        if taken_from and taken_from != self._pod:
            await self._quietly(self._labels.take_off, taken_from)
        await self._quietly(self._labels.put_on, self._pod)
        try:
            yield
        finally:
            # Leadership ended (its task cancelled): finish taking it off anyway.
            await asyncio.shield(self._quietly(self._labels.take_off, self._pod))

    @staticmethod
    async def _quietly(change: Callable[[str], None], pod: str) -> None:
        try:
            await asyncio.to_thread(change, pod)
        except FluxError as exc:
            log.warning("event=leader-label-failed pod=%s error=%r", pod, str(exc))

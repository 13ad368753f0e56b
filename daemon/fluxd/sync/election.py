"""Leader election: of several replicas of one install, exactly one syncs.

The rules are those of Kubernetes' own controllers (client-go's
leaderelection), on a ``coordination.k8s.io/v1`` Lease:

* Every ``retry_period`` each replica reads the Lease. The holder writes it
  again (a renewal); the others note when they last saw it change.
* A replica takes the Lease when it has no holder, or when it has not
  changed for ``lease_duration`` as measured on the replica's own clock
  (clocks of different machines are never compared). Writes carry the
  version read, so of two replicas racing only one wins.
* A leader that has not renewed for ``renew_deadline`` stops writing at
  once (``may_write`` turns false) and steps down. Since ``renew_deadline``
  is shorter than ``lease_duration``, the old leader has stopped before any
  other replica may take over: the fence is what keeps two replicas from
  writing at the same time, not the cancellation of the old leader's pass
  (whose worker thread finishes on its own, but writes nothing more).
* A leader that stops cleanly (SIGTERM, a rolling update) empties the
  holder, so the next replica takes over at its next look.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from fluxd.clock import Clock, SystemClock
from fluxd.cluster.lease import LeaseConflict, LeaseRecord
from fluxd.errors import FluxError
from fluxd.settings import LeaderSettings

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Leadership:
    """Who syncs among the replicas of this install, as this replica knows it."""

    #: Leader election is on (several replicas may run).
    elected: bool = False
    #: This replica holds the Lease (always, without election).
    leading: bool = True
    #: The holder's name and API address ("" when no one holds the Lease).
    leader: str = ""
    leader_address: str = ""
    #: This replica's own name in the Lease.
    identity: str = ""


class OnePass:
    """Runs work in worker threads, one at a time.

    A pass cancelled because leadership was lost runs on in its thread
    (writing nothing: the fence is closed); whatever comes after leadership
    returns (forgetting the stale inventory, the next pass) waits for it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()

    async def run(self, work: Callable[[], T]) -> T:
        return await asyncio.to_thread(self._locked, work)

    def _locked(self, work: Callable[[], T]) -> T:
        with self._lock:
            return work()


class LeaseAccess(Protocol):
    """Reading and writing the Lease (``fluxd.cluster.lease.LeaseStore`` fits)."""

    @property
    def name(self) -> str: ...

    def get(self) -> LeaseRecord | None: ...

    def write(self, record: LeaseRecord, *, previous: LeaseRecord | None) -> LeaseRecord: ...


class LeaderElector:
    """Takes and keeps the Lease; says who leads and whether this replica may write."""

    def __init__(
        self,
        lease: LeaseAccess,
        settings: LeaderSettings,
        *,
        address: str,
        clock: Clock | None = None,
        on_change: Callable[[bool], None] = lambda leading: None,
    ) -> None:
        self._lease = lease
        self._settings = settings
        self.identity = settings.identity
        self._address = address
        self._clock: Clock = clock or SystemClock()
        self._on_change = on_change
        self._record: LeaseRecord | None = None
        self._seen_at = 0.0
        #: When the last successful write of ours was sent (monotonic); the
        #: fence is open until ``renew_deadline`` after it.
        self._renewed_at: float | None = None
        self._changed = asyncio.Event()
        self.transitions = 0
        #: Who held the Lease before this replica last took it ("" when no one did).
        self.taken_from = ""

    # --- what the rest of fluxd asks ---------------------------------------------

    def may_write(self) -> bool:
        """Whether this replica leads and renewed recently enough to write.

        Safe to call from any thread; it only reads two numbers.
        """
        renewed = self._renewed_at
        return (
            renewed is not None
            and self._clock.monotonic() - renewed < self._settings.renew_deadline
        )

    @property
    def leading(self) -> bool:
        return self._renewed_at is not None

    def view(self) -> Leadership:
        """Who leads (the holder's name and API address), as last read."""
        record = self._record
        holder = record.holder if record is not None else ""
        return Leadership(
            elected=True,
            leading=self.leading,
            leader=holder,
            leader_address=record.address if record is not None and holder else "",
            identity=self.identity,
        )

    # --- the loop ------------------------------------------------------------------

    async def run(self) -> None:
        """Look at the Lease every ``retry_period`` until cancelled; then let it go."""
        try:
            while True:
                await self.step()
                await self._clock.wait(asyncio.Event(), self._settings.retry_period)
        finally:
            if self.leading:
                self._set_leading(None)
                await asyncio.shield(asyncio.to_thread(self._release))

    async def step(self) -> None:
        """One look at the Lease: renew it, take it, or note who holds it."""
        began = self._clock.monotonic()
        try:
            record = await asyncio.to_thread(self._lease.get)
        except FluxError as exc:
            log.warning("event=lease-unreadable lease=%s error=%r", self._lease.name, str(exc))
            self._check_deadline()
            return
        self._observe(record)
        if record is None or record.holder in ("", self.identity) or self._expired(record):
            await self._claim(record, began)
        elif self.leading:
            log.warning("event=leadership-lost lease=%s holder=%s", self._lease.name, record.holder)
            self._set_leading(None)

    async def serve(
        self,
        always: Callable[[], Coroutine[Any, Any, None]],
        leading: Callable[[], Coroutine[Any, Any, None]],
    ) -> None:
        """Run ``always``, the election, and ``leading`` while this replica leads."""
        async with asyncio.TaskGroup() as group:
            group.create_task(always(), name="standby")
            group.create_task(self.run(), name="leader-election")
            group.create_task(self.while_leading(leading), name="leading")

    async def while_leading(self, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run ``work`` each time this replica leads; cancel it when leadership ends."""
        while True:
            await self._until(lambda: self.leading)
            task = asyncio.create_task(work())
            await self._until(functools.partial(self._ended, task))
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _ended(self, task: asyncio.Task[None]) -> bool:
        return not self.leading or task.done()

    # --- the steps -----------------------------------------------------------------

    def _observe(self, record: LeaseRecord | None) -> None:
        previous = self._record
        if record is None or previous is None or record.version != previous.version:
            self._seen_at = self._clock.monotonic()
        self._record = record

    def _expired(self, record: LeaseRecord) -> bool:
        duration = record.duration or self._settings.lease_duration
        return self._clock.monotonic() - self._seen_at >= duration

    async def _claim(self, record: LeaseRecord | None, began: float) -> None:
        ours = record is not None and record.holder == self.identity
        wanted = LeaseRecord(
            holder=self.identity,
            duration=self._settings.lease_duration,
            transitions=(record.transitions if record else 0) + (0 if ours else 1),
            address=self._address,
            acquired=record.acquired if ours and record is not None else "",
        )
        try:
            written = await asyncio.to_thread(self._lease.write, wanted, previous=record)
        except LeaseConflict:
            log.info("event=lease-taken-by-other lease=%s", self._lease.name)
            self._check_deadline()
            return
        except FluxError as exc:
            log.warning("event=lease-not-renewed lease=%s error=%r", self._lease.name, str(exc))
            self._check_deadline()
            return
        self._record = written
        self._seen_at = self._clock.monotonic()
        if not ours:
            self.taken_from = record.holder if record else ""
            log.info(
                "event=leadership-acquired lease=%s identity=%s previous=%s",
                self._lease.name,
                self.identity,
                record.holder if record else "",
            )
        self._set_leading(began)

    def _check_deadline(self) -> None:
        """Step down once the renew deadline has passed without a renewal."""
        if self.leading and not self.may_write():
            log.warning(
                "event=leadership-lost lease=%s reason=renew-deadline-passed", self._lease.name
            )
            self._set_leading(None)

    def _set_leading(self, renewed_at: float | None) -> None:
        was = self.leading
        self._renewed_at = renewed_at
        if was != self.leading:
            self.transitions += 1
            self._on_change(self.leading)
            self._changed.set()

    def _release(self) -> None:
        """Empty the holder so the next replica need not wait out the lease."""
        try:
            # Read again: a renewal cut short by the stop may have been written.
            record = self._lease.get()
            if record is None or record.holder != self.identity:
                return
            empty = dataclasses.replace(record, holder="", address="", duration=1)
            self._lease.write(empty, previous=record)
            log.info("event=leadership-released lease=%s", self._lease.name)
        except FluxError as exc:
            log.warning("event=lease-not-released lease=%s error=%r", self._lease.name, str(exc))

    async def _until(self, condition: Callable[[], bool]) -> None:
        while not condition():
            self._changed.clear()
            await self._clock.wait(self._changed, self._settings.retry_period)


def advertised(address: str, listen: str) -> str:
    """``host:port`` others reach this replica's API at: ``address``, with --listen's port
    when it names only a host."""
    if not address:
        return ""
    host = address
    if address.startswith("[") and "]:" in address:
        return address
    if address.count(":") == 1:
        return address
    port = listen.rpartition(":")[2]
    if ":" in host:  # an IPv6 address without a port
        host = f"[{host}]"
    return f"{host}:{port}"

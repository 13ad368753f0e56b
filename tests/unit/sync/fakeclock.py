"""A clock for the loops' tests: waits are recorded and jump, nothing sleeps.

A wait up to ``horizon`` seconds moves the fake time on and returns at once;
a longer one (the sync interval, the poll interval) is recorded and then
blocks until its event fires, so a test sees that the loop went back to the
interval without the loop spinning through intervals.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class FakeClock:
    def __init__(self, horizon: float = 60.0) -> None:
        self.now = 0.0
        self.horizon = horizon
        self.waits: list[tuple[asyncio.Event, float]] = []
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        self.waits.append((event, seconds))
        if seconds > self.horizon:
            await event.wait()
            return True
        if not event.is_set():
            self.now += seconds
        await asyncio.sleep(0)
        return event.is_set()

    def waits_on(self, event: asyncio.Event) -> list[float]:
        """The waits asked for on ``event``, in order."""
        return [seconds for waited, seconds in self.waits if waited is event]


async def until(condition: Callable[[], bool], *, steps: int = 5000) -> None:
    """Let the event loop run until ``condition`` holds (worker threads need a moment)."""
    for _ in range(steps):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the condition never held")


async def yield_now() -> None:
    """Let every other ready task run once (no time passes, real or fake)."""
    await asyncio.sleep(0)

"""Time as the loops see it, behind a small interface.

The retry and backoff logic and the API client's rate limiter wait a lot;
with the clock injected (one, made in ``fluxd.runner``), their tests run a
fake one that jumps instead of sleeping, so they take milliseconds and can
check every wait exactly.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Protocol


class Clock(Protocol):
    """Monotonic time, an interruptible wait, and a sleep for worker threads."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None:
        """Block the calling (worker) thread for ``seconds``."""
        ...

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        """Wait until ``event`` is set or ``seconds`` pass; True when the event fired."""
        ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)
        return event.is_set()

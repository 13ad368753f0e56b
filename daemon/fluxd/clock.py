"""Time as the loops see it, behind a small interface.

The retry and backoff logic waits a lot; with the clock injected, its tests
run a fake one that jumps instead of sleeping, so they take milliseconds and
can check every wait exactly.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Protocol


class Clock(Protocol):
    """Monotonic time and an interruptible wait."""

    def monotonic(self) -> float: ...

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        """Wait until ``event`` is set or ``seconds`` pass; True when the event fired."""
        ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)
        return event.is_set()

"""Polling with a deadline: the one ``--timeout`` bounds a whole command's waits.

The clock is a parameter so that tests of the waiting run on a fake one
instead of sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Protocol


class Clock(Protocol):
    """Monotonic time and a blocking sleep."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class Deadline:
    """A point in time ``seconds`` from now, on ``clock``."""

    def __init__(self, seconds: float, *, clock: Clock | None = None) -> None:
        self.seconds = seconds
        self._clock: Clock = clock or SystemClock()
        self._end = self._clock.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self._end - self._clock.monotonic())

    def sleep(self, delay: float) -> bool:
        """Sleep up to ``delay``; False (without sleeping) once the deadline has passed."""
        left = self.remaining()
        if left <= 0:
            return False
        self._clock.sleep(min(delay, left))
        return True


def backoff(
    initial: float, cap: float, factor: float = 2.0, *, steady: float = 0.0
) -> Iterator[float]:
    """Delays ``initial`` for the first ``steady`` seconds, then ``*factor`` up to ``cap``."""
    delay, waited = initial, 0.0
    while True:
        yield delay
        waited += delay
        if waited >= steady:
            delay = min(delay * factor, cap)

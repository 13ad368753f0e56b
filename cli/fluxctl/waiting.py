"""Polling with a deadline: the one ``--timeout`` bounds a whole command's waits."""

from __future__ import annotations

import time
from collections.abc import Iterator


class Deadline:
    """A point in time ``seconds`` from now."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self._end - time.monotonic())

    def sleep(self, delay: float) -> bool:
        """Sleep up to ``delay``; False (without sleeping) once the deadline has passed."""
        left = self.remaining()
        if left <= 0:
            return False
        time.sleep(min(delay, left))
        return True


def backoff(initial: float, cap: float, factor: float = 2.0) -> Iterator[float]:
    """Delays ``initial, initial*factor, ...`` up to ``cap``, forever."""
    delay = initial
    while True:
        yield delay
        delay = min(delay * factor, cap)

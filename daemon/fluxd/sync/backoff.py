"""Capped, jittered exponential backoff for passes and fetches that failed.

A failure caused by something passing (the API server restarting, the git
host away for a moment) should be retried within seconds, not at the next
sync interval; one that lasts should not be retried in a tight loop. So the
waits double from ``first`` up to ``cap``: 1 s, 2 s, 4 s ... 30 s. Each wait
is shortened by a random part of up to ``jitter`` of itself, so that many
daemons cut off by the same outage do not come back at the same instant.
"""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    """The wait before each next retry; ``reset`` after a success."""

    def __init__(
        self,
        *,
        first: float = 1.0,
        cap: float = 30.0,
        factor: float = 2.0,
        jitter: float = 0.2,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if first <= 0 or cap <= 0 or factor < 1 or not 0 <= jitter < 1:
            raise ValueError("backoff needs first > 0, cap > 0, factor >= 1, 0 <= jitter < 1")
        self._first = min(first, cap)
        self._cap = cap
        self._factor = factor
        self._jitter = jitter
        self._rand = rand
        self.attempts = 0

    def next(self) -> float:
        """The wait before the next retry (and count this retry)."""
        # The exponent stops growing long before floats overflow (a days-long
        # outage counts thousands of attempts).
        base = min(self._cap, self._first * self._factor ** min(self.attempts, 64))
        self.attempts += 1
        return base * (1 - self._jitter * self._rand())

    def reset(self) -> None:
        self.attempts = 0

"""A token bucket for clients that must not flood a server: the Kubernetes
API client and the image registry client each hold one (per registry host)."""

from __future__ import annotations

import threading

from fluxd.clock import Clock, SystemClock


class RateLimiter:
    """A token bucket shared by all threads: ``qps`` per second, ``burst`` at once.

    The Python client has no client-side throttling of its own; without one a
    large apply would hit the API server's priority-and-fairness limits and be
    answered with 429s instead of being smoothed here. ``qps <= 0`` disables it.
    """

    def __init__(self, qps: float, burst: int, clock: Clock | None = None) -> None:
        self._clock: Clock = clock or SystemClock()
        self._qps = qps
        self._burst = float(max(burst, 1))
        self._tokens = self._burst
        self._stamp = self._clock.monotonic()
        self._lock = threading.Lock()

    def take(self) -> None:
        if self._qps <= 0:
            return
        with self._lock:
            now = self._clock.monotonic()
            self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._qps)
            self._stamp = now
            # Reserve the token now and sleep off the debt outside the lock,
            # so waiting threads are served in arrival order.
            self._tokens -= 1.0
            wait = -self._tokens / self._qps if self._tokens < 0 else 0.0
        if wait > 0:
            self._clock.sleep(wait)

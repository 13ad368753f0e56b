"""One scan: list each repository's tags, fetch metadata of the tags not known yet.

A repository's failure is its own: its error is kept for ``list-images`` and
the others are scanned on. A registry that answers 429 or 5xx, or does not
answer, is left alone for a while that doubles with each such answer (or
for as long as its Retry-After says), up to ``max_backoff``; one good answer
resets it. Requests to one host are throttled to ``rps`` with ``burst`` at
once, which also bounds how many tags are fetched in parallel.
"""

from __future__ import annotations

import fnmatch
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from fluxd.clock import Clock, SystemClock
from fluxd.errors import RegistryError
from fluxd.ratelimit import RateLimiter
from fluxd.registry.cache import ImageCache, ImageMeta, RepoState
from fluxd.registry.client import Credentials, RegistryClient, TagInfo
from fluxd.registry.refs import ImageName
from fluxd.settings import RegistrySettings

log = logging.getLogger(__name__)

#: First wait after a throttled answer; it doubles from there.
BASE_BACKOFF = 5.0

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ScanTarget:
    image: ImageName
    credentials: Credentials | None = None


class ScanObserver(Protocol):
    """Where the scanner reports what it did (``fluxd.metrics.RegistryMetrics``)."""

    def observe_fetch(self, kind: str, seconds: float, success: bool) -> None: ...

    def observe_cache(self, repositories: int, images: int, hits: int, misses: int) -> None: ...


@dataclass(frozen=True, slots=True)
class ScanSummary:
    repositories: int = 0
    new_tags: int = 0
    failed: int = 0


class Scanner:
    """Scans repositories into its ``cache``; ``scan`` blocks (run it in a thread)."""

    def __init__(
        self,
        settings: RegistrySettings,
        *,
        clock: Clock | None = None,
        observer: ScanObserver | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        client_factory: Callable[..., RegistryClient] = RegistryClient,
    ) -> None:
        self._settings = settings
        self._clock: Clock = clock or SystemClock()
        self._observer = observer
        self._now = now
        self._client_factory = client_factory
        self._clients: dict[tuple[str, Credentials | None], RegistryClient] = {}
        self._limiters: dict[str, RateLimiter] = {}
        self._pool = ThreadPoolExecutor(max(1, settings.burst), thread_name_prefix="registry")
        self._lock = threading.Lock()
        self.cache = ImageCache()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        for client in self._clients.values():
            client.close()

    @property
    def requests(self) -> int:
        """Requests sent to registries so far."""
        return sum(c.requests for c in self._clients.values())

    def excluded(self, image: ImageName) -> bool:
        names = (image.name, f"{image.host}/{image.path}")
        include = self._settings.include_images
        if include and not any(fnmatch.fnmatchcase(n, g) for n in names for g in include):
            return True
        return any(fnmatch.fnmatchcase(n, g) for n in names for g in self._settings.exclude_images)

    def scan(self, targets: Iterable[ScanTarget]) -> ScanSummary:
        """One pass over every target not excluded and not backing off."""
        seen: set[str] = set()
        summary = ScanSummary()
        for target in targets:
            name = target.image.name
            if name in seen or self.excluded(target.image):
                continue
            seen.add(name)
            state = self.cache.get(name)
            if state is not None and state.not_before > self._clock.monotonic():
                continue
            new, failed = self._scan_repo(target)
            summary = ScanSummary(
                summary.repositories + 1, summary.new_tags + new, summary.failed + failed
            )
        self.cache.forget_except(seen)
        self._report_cache(hits=0, misses=0)
        return summary

    def _scan_repo(self, target: ScanTarget) -> tuple[int, int]:
        client = self._client(target)
        name, path = target.image.name, target.image.path
        try:
            tags = self._timed("tags", lambda: client.tags(path))
        except RegistryError as exc:
            self._failed(name, exc)
            return 0, 1
        known = self.cache.get(name) or RepoState()
        wanted = [t for t in tags if known.tags.get(t) is None]
        fetched, error = self._fetch_all(client, path, wanted)
        merged = {t: known.tags.get(t) or fetched.get(t) for t in tags}
        self._report_cache(hits=len(tags) - len(wanted), misses=len(wanted))
        if error is not None:
            self._failed(name, error, tags=merged)
            return len(fetched), 1
        self.cache.put(name, RepoState(tags=merged, listed=self._now()))
        return len(fetched), 0

    def _fetch_all(
        self, client: RegistryClient, path: str, tags: list[str]
    ) -> tuple[dict[str, ImageMeta], RegistryError | None]:
        futures: dict[str, Future[TagInfo]] = {
            tag: self._pool.submit(self._timed, "metadata", _tag_info(client, path, tag))
            for tag in tags
        }
        fetched: dict[str, ImageMeta] = {}
        error: RegistryError | None = None
        for tag, future in futures.items():
            try:
                info = future.result()
            except RegistryError as exc:
                if error is None or (exc.throttled and not error.throttled):
                    error = exc
                if exc.throttled:
                    for rest in futures.values():
                        rest.cancel()  # the registry is struggling: ask it less, later
                continue
            except Exception as exc:  # a cancelled future, after a throttled answer
                if error is None:
                    error = RegistryError(f"{path}:{tag}: not fetched ({type(exc).__name__})")
                continue
            fetched[tag] = self._meta(info)
        return fetched, error

    def _meta(self, info: TagInfo) -> ImageMeta:
        config = info.config
        return ImageMeta(info.digest, config.image_id, config.created, config.labels, self._now())

    def _failed(
        self, name: str, exc: RegistryError, *, tags: dict[str, ImageMeta | None] | None = None
    ) -> None:
        state = self.cache.get(name) or RepoState()
        throttled = state.throttled + 1 if exc.throttled else 0
        delay = 0.0
        if exc.throttled:
            delay = min(self._settings.max_backoff, BASE_BACKOFF * 2 ** (throttled - 1))
            delay = max(delay, min(exc.retry_after or 0.0, self._settings.max_backoff))
        log.warning("event=registry-failed image=%s error=%r retry-in=%.0fs", name, str(exc), delay)
        self.cache.put(
            name,
            RepoState(
                tags=tags if tags is not None else state.tags,
                error=str(exc),
                listed=state.listed,
                not_before=self._clock.monotonic() + delay,
                throttled=throttled,
            ),
        )

    def _client(self, target: ScanTarget) -> RegistryClient:
        host = target.image.api_host
        key = (host, target.credentials)
        with self._lock:
            if key not in self._clients:
                limiter = self._limiters.setdefault(
                    host, RateLimiter(self._settings.rps, self._settings.burst, self._clock)
                )
                self._clients[key] = self._client_factory(
                    host,
                    credentials=target.credentials,
                    limiter=limiter,
                    timeout=self._settings.timeout,
                    insecure=_matches(target.image.host, self._settings.insecure_hosts),
                )
            return self._clients[key]

    def _timed(self, kind: str, call: Callable[[], T]) -> T:
        start = time.perf_counter()
        success = False
        try:
            result = call()
            success = True
            return result
        finally:
            if self._observer is not None:
                self._observer.observe_fetch(kind, time.perf_counter() - start, success)

    def _report_cache(self, *, hits: int, misses: int) -> None:
        if self._observer is not None:
            repositories, images = self.cache.sizes()
            self._observer.observe_cache(repositories, images, hits, misses)


def _tag_info(client: RegistryClient, path: str, tag: str) -> Callable[[], TagInfo]:
    return lambda: client.tag_info(path, tag)


def _matches(host: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(host, p) for p in patterns)

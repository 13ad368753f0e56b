"""Watches that keep the drift check's metadata current, so a no-op pass lists nothing.

For each kind the inventory holds, one thread (per namespace with
--k8s-allow-namespace) LISTs the metadata of this install's objects and then
WATCHes them from that LIST's resourceVersion, with the drift check's own
label selector, into a ``MetaCache`` (``fluxd.cluster.metacache`` says when
the drift check may trust it). The rules:

* a watch the server ends (it does so every ``timeoutSeconds``) is resumed
  from the last resourceVersion seen, bookmarks included;
* 410 Gone (that resourceVersion is compacted away), any other error
  answer, a cut connection or an unreadable event: the cache is dropped
  and the kind listed again, after a backoff when it keeps failing;
* ``stop`` aborts the stream's socket, so the thread ends at once.

Only the replica that writes watches: the cluster starts watches from its
passes, and the runner stops them when leadership ends; a standby has none.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping, Sequence

from fluxd import wirejson
from fluxd.clock import Clock, SystemClock
from fluxd.cluster.client import METADATA, KubeClient, Stream
from fluxd.cluster.discovery import Discovery
from fluxd.cluster.drift import LiveMeta, list_pages
from fluxd.cluster.errors import api_error
from fluxd.cluster.metacache import MetaCache, WatchExpired, revision
from fluxd.cluster.objects import InventoryEntry
from fluxd.errors import ClusterError
from fluxids import ObjectRef

log = logging.getLogger(__name__)

#: The server ends each watch after this long; it is resumed at once.
WATCH_SECONDS = 120
#: Beyond ``WATCH_SECONDS``, how long a silent connection is given before it
#: counts as dead (the server sends a bookmark at least as it ends a watch).
_READ_SLACK = 30.0
#: A watch the server ends sooner than this counts as a failure (waits before the next).
_SHORTEST_WATCH = 1.0
#: Waits after failures: doubling from the first, up to the cap.
_FIRST_RETRY, _MAX_RETRY = 0.5, 30.0
#: How long the drift check waits for a watch to catch up with our applies.
CATCH_UP = 1.0

Kind = tuple[str, str]


def retry_delay(failures: int) -> float:
    """The wait after the ``failures``-th failure in a row (the stop event cuts it short)."""
    return min(_MAX_RETRY, _FIRST_RETRY * 2.0 ** min(failures - 1, 16))


class MetaWatch:
    """One thread keeping one ``MetaCache`` current (one kind, one scope)."""

    def __init__(
        self,
        client: KubeClient,
        path: str,
        cache: MetaCache,
        *,
        selector: str,
        namespace: str,
        clock: Clock | None = None,
    ) -> None:
        self.cache = cache
        self._clock: Clock = clock or SystemClock()
        self.namespace = namespace
        self._client = client
        self._path = path
        self._selector = selector
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._stream: Stream | None = None
        #: LISTs made so far (the first one included); for logs and tests.
        self.lists = 0
        scope = namespace or "cluster"
        self._thread = threading.Thread(
            target=self._run, name=f"drift-watch-{cache.kind}-{scope}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end, cutting the stream it reads (returns at once)."""
        with self._lock:
            self._stopping.set()
            if self._stream is not None:
                self._stream.abort()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            delay = 0.0
            try:
                if not self.cache.synced:
                    self._relist()
                began = self._clock.monotonic()
                self._watch()
                if self._clock.monotonic() - began >= _SHORTEST_WATCH:
                    failures = 0
                else:  # ended at once: do not spin on a server doing so
                    failures += 1
                    delay = retry_delay(failures)
            except WatchExpired as exc:
                log.info("event=drift-watch-relist kind=%s reason=%r", self.cache.kind, exc.message)
                self.cache.invalidate()
                # The first relist is at once; one that expires again at once waits.
                failures += 1
                delay = retry_delay(failures) if failures > 1 else 0.0
            except ClusterError as exc:
                if self._stopping.is_set():
                    break
                self.cache.invalidate()
                failures += 1
                delay = retry_delay(failures)
                level = logging.WARNING if failures == 1 else logging.DEBUG
                log.log(
                    level,
                    "event=drift-watch-failed kind=%s namespace=%s retry-in=%.1fs error=%r",
                    self.cache.kind,
                    self.namespace,
                    delay,
                    exc.message,
                )
            if delay:
                self._stopping.wait(delay)
        self.cache.disconnected()

    def _relist(self) -> None:
        what = f"listing {self.cache.kind} in {self.cache.api_version} to watch it"
        metas: list[LiveMeta] = []
        resource_version = ""
        for page in list_pages(self._client, self._path, self._selector, what=what):
            # Pages after the first come from the same snapshot as the first.
            resource_version = resource_version or str(
                (page.get("metadata") or {}).get("resourceVersion", "")
            )
            metas.extend(self.cache.compact(page.get("items") or ()))
        if not resource_version:
            raise ClusterError(f"the API server no longer serves {self.cache.kind}")
        self.lists += 1
        self.cache.relisted(metas, resource_version)

    def _watch(self) -> None:
        """Watch from the cache's resourceVersion until the server ends it."""
        query = [
            ("labelSelector", self._selector),
            ("watch", "true"),
            ("resourceVersion", self.cache.resume_from),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", str(WATCH_SECONDS)),
        ]
        read_timeout = WATCH_SECONDS + _READ_SLACK
        with self._client.stream(
            self._path, query=query, accept=METADATA, read_timeout=read_timeout
        ) as stream:
            with self._lock:
                if self._stopping.is_set():
                    return
                self._stream = stream
            try:
                self._follow(stream)
            finally:
                self.cache.disconnected()
                with self._lock:
                    self._stream = None

    def _follow(self, stream: Stream) -> None:
        what = f"watching {self.cache.kind}"
        if stream.status == 410:
            raise WatchExpired(f"the watch of {self.cache.kind} expired (410 Gone)")
        if not 200 <= stream.status < 300:
            raise api_error(stream.status, stream.read_all(), what=what, reason=stream.reason)
        self.cache.connected()
        for line in stream.lines():
            try:
                event = wirejson.loads(line)
            except ValueError as exc:
                raise ClusterError(f"{what}: an event is not JSON: {exc}") from exc
            if not isinstance(event, Mapping):
                raise ClusterError(f"{what}: an event is not a JSON object")
            self.cache.apply(event)


class DriftWatches:
    """The watches of every kind the inventory holds; see the module docstring."""

    def __init__(
        self,
        client: KubeClient,
        discovery: Discovery,
        *,
        selector: str,
        namespaces: Sequence[str] = (),
        catch_up: float = CATCH_UP,
        clock: Clock | None = None,
    ) -> None:
        self._client = client
        self._clock = clock
        self._discovery = discovery
        self._selector = selector
        self._namespaces = tuple(namespaces)
        self._catch_up = catch_up
        self._lock = threading.Lock()
        self._by_kind: dict[Kind, list[MetaWatch]] = {}

    def kinds(self) -> frozenset[Kind]:
        with self._lock:
            return frozenset(self._by_kind)

    def watches(self, api_version: str, kind: str) -> list[MetaWatch]:
        with self._lock:
            return list(self._by_kind.get((api_version, kind), ()))

    def track(self, kinds: Iterable[Kind]) -> None:
        """Start watching each of ``kinds`` not watched yet (one the server lacks is skipped)."""
        for key in set(kinds) - self.kinds():
            try:
                rtype = self._discovery.lookup(*key)
            except ClusterError as exc:
                # Not watching costs a LIST per pass; the next pass tries again.
                log.warning("event=drift-watch-not-started kind=%s error=%r", key[1], exc.message)
                continue
            if rtype is None:
                continue
            scopes = self._namespaces if rtype.namespaced and self._namespaces else ("",)
            watches = [
                MetaWatch(
                    self._client,
                    rtype.path(scope),
                    MetaCache(*key),
                    selector=self._selector,
                    namespace=scope,
                    clock=self._clock,
                )
                for scope in scopes
            ]
            with self._lock:
                if key in self._by_kind:
                    continue
                self._by_kind[key] = watches
            log.info("event=drift-watch-started kind=%s api-version=%s", key[1], key[0])
            for watch in watches:
                watch.start()

    def retain(self, kinds: Iterable[Kind]) -> None:
        """Watch exactly ``kinds``: start the new ones, stop those no longer wanted."""
        wanted = set(kinds)
        with self._lock:
            gone = {key: self._by_kind.pop(key) for key in set(self._by_kind) - wanted}
        self._stop_all(gone)
        self.track(wanted)

    def stop(self) -> None:
        """Stop every watch (at shutdown, or when this replica stops leading)."""
        with self._lock:
            gone, self._by_kind = self._by_kind, {}
        self._stop_all(gone)

    def cached(
        self, api_version: str, kind: str, entries: Sequence[InventoryEntry]
    ) -> Mapping[ObjectRef, LiveMeta] | None:
        """The live metadata of a kind if its watches can vouch for ``entries``, else None."""
        watches = self.watches(api_version, kind)
        if not watches:
            return None
        found: dict[ObjectRef, LiveMeta] = {}
        for watch in watches:
            scope = watch.namespace
            revisions = [
                revision(e.resource_version)
                for e in entries
                if not scope or e.ref.namespace == scope
            ]
            if None in revisions:  # recorded by something we cannot compare
                return None
            highest = max((r or 0 for r in revisions), default=0)
            view = watch.cache.view(highest, wait=self._catch_up)
            if view is None:
                return None
            found.update(view)
        return found

    def _stop_all(self, gone: Mapping[Kind, list[MetaWatch]]) -> None:
        watches = [w for ws in gone.values() for w in ws]
        for watch in watches:
            watch.stop()
        for watch in watches:
            watch.join(5.0)
        for key in gone:
            log.info("event=drift-watch-stopped kind=%s api-version=%s", key[1], key[0])

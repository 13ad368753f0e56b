"""The metadata of one kind's objects as a watch keeps it, and when to trust it.

One ``MetaCache`` holds what a LIST and then a WATCH of one kind (in one
namespace, or cluster-wide) told: per object only what the drift check
compares (generation, resourceVersion, uid, our gc mark), never the
``managedFields`` the server sends with it, so 20,000 objects stay a few MiB.

When the drift check may read it instead of listing:

* it is *synced* (a LIST filled it, and no error since) and *connected*
  (a watch answered and has not ended since). A watch that ended is
  resumed from the last resourceVersion; until the server answers, the
  kind is listed as before, so a broken watch costs speed, never
  correctness.
* it is *fresh* for the entries asked about: it has seen a resourceVersion
  at or past the highest one those entries recorded. The entries hold the
  resourceVersions the API server answered to our own applies, and the
  server sends events of one watch in resourceVersion order, so once the
  watch has passed the highest of them, the event of each of our applies
  has been applied here. Without that rule the pass right after an apply
  would compare its new resourceVersions with the cache's older ones and
  send everything again.

resourceVersions are opaque strings in Kubernetes' API contract; the API
server (backed by etcd) makes them decimal revisions that grow, and this
rule compares them as integers. One that is not an integer makes the cache
unusable for that kind (it is listed), not wrong.

Edits by others reach the cache as their events arrive, a few milliseconds
after the write; a pass in between sees them at the next pass, as a LIST
begun a moment earlier would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

from fluxd.cluster.drift import LiveMeta
from fluxd.errors import ClusterError
from fluxids import ObjectRef
from fluxids.marks import GC_MARK_LABEL

_NO_ANNOTATIONS: Mapping[str, str] = MappingProxyType({})


class WatchExpired(ClusterError):
    """The resourceVersion to resume from is too old (410 Gone): list again."""

    default_help = "Nothing to do: fluxd lists the kind again and watches from there."


def revision(resource_version: str) -> int | None:
    """A resourceVersion as the integer it is on this API server, None if not one."""
    return int(resource_version) if resource_version.isdigit() else None


def compact_meta(api_version: str, kind: str, item: Mapping[str, Any]) -> LiveMeta:
    """What the drift check compares of one object's metadata, and nothing else."""
    meta = item.get("metadata") or {}
    generation = meta.get("generation")
    mark = (meta.get("labels") or {}).get(GC_MARK_LABEL)
    return LiveMeta(
        ref=ObjectRef(str(meta.get("namespace") or ""), kind, str(meta["name"]), api_version),
        uid=str(meta.get("uid", "")),
        generation=int(generation) if generation is not None else None,
        resource_version=str(meta.get("resourceVersion", "")),
        labels={GC_MARK_LABEL: str(mark)} if mark is not None else _NO_ANNOTATIONS,
        annotations=_NO_ANNOTATIONS,
    )


class MetaCache:
    """One watched kind in one scope; thread-safe (a watch thread writes, passes read)."""

    def __init__(self, api_version: str, kind: str) -> None:
        self.api_version = api_version
        self.kind = kind
        self._changed = threading.Condition()
        self._objects: dict[ObjectRef, LiveMeta] = {}
        #: Where a resumed watch starts: the last resourceVersion seen.
        self._resume = ""
        self._synced = False
        self._connected = False

    @property
    def resume_from(self) -> str:
        with self._changed:
            return self._resume

    @property
    def synced(self) -> bool:
        with self._changed:
            return self._synced

    @property
    def usable(self) -> bool:
        with self._changed:
            return self._synced and self._connected

    def __len__(self) -> int:
        with self._changed:
            return len(self._objects)

    def relisted(self, metas: Iterable[LiveMeta], resource_version: str) -> None:
        """Replace everything with a LIST's answer (taken at ``resource_version``)."""
        objects = {meta.ref: meta for meta in metas}
        with self._changed:
            self._objects = objects
            self._resume, self._synced, self._connected = resource_version, True, False
            self._changed.notify_all()

    def compact(self, items: Iterable[Mapping[str, Any]]) -> list[LiveMeta]:
        """``compact_meta`` of each item of a LIST; ``ClusterError`` if one is unreadable."""
        try:
            return [compact_meta(self.api_version, self.kind, item) for item in items]
        except (KeyError, TypeError, ValueError) as exc:
            raise ClusterError(f"a LIST of {self.kind} sent an unreadable object: {exc}") from exc

    def connected(self) -> None:
        """A watch from ``resume_from`` answered: events flow again."""
        with self._changed:
            self._connected = True
            self._changed.notify_all()

    def disconnected(self) -> None:
        """The watch ended; the objects stay valid as of ``resume_from``."""
        with self._changed:
            self._connected = False
            self._changed.notify_all()

    def invalidate(self) -> None:
        """After an error: unusable until the next LIST (which replaces everything)."""
        with self._changed:
            self._synced = self._connected = False
            self._objects = {}
            self._changed.notify_all()

    def apply(self, event: Mapping[str, Any]) -> None:
        """One watch event; ``WatchExpired`` on 410, ``ClusterError`` on any other error."""
        kind = event.get("type")
        body = event.get("object")
        if not isinstance(body, Mapping):
            raise ClusterError(f"a watch event of {self.kind} has no object: {str(event)[:200]}")
        if kind == "ERROR":
            code, message = body.get("code"), str(body.get("message", ""))
            if code == 410:
                raise WatchExpired(f"the watch of {self.kind} expired: {message}")
            raise ClusterError(f"the watch of {self.kind} failed ({code}): {message}")
        resource_version = str((body.get("metadata") or {}).get("resourceVersion", ""))
        try:
            meta = None if kind == "BOOKMARK" else compact_meta(self.api_version, self.kind, body)
        except (KeyError, TypeError, ValueError) as exc:
            raise ClusterError(f"a watch of {self.kind} sent an unreadable object: {exc}") from exc
        with self._changed:
            if kind in ("ADDED", "MODIFIED") and meta is not None:
                self._objects[meta.ref] = meta
            elif kind == "DELETED" and meta is not None:
                self._objects.pop(meta.ref, None)
            elif kind != "BOOKMARK":
                raise ClusterError(f"a watch of {self.kind} sent an unknown event {kind!r}")
            if resource_version:
                self._resume = resource_version
            self._changed.notify_all()

    def view(self, at_least: int, *, wait: float = 0.0) -> dict[ObjectRef, LiveMeta] | None:
        """A copy of the objects, if usable and past revision ``at_least``, else None.

        Waits up to ``wait`` seconds for the watch to catch up (right after
        an apply its events are usually milliseconds away).
        """
        with self._changed:
            # Only a live watch is worth waiting for; a broken one is listed at once.
            self._changed.wait_for(
                lambda: self._fresh(at_least) or not (self._synced and self._connected),
                timeout=wait,
            )
            return dict(self._objects) if self._fresh(at_least) else None

    def seen(self, at_least: int) -> bool:
        """Whether the cache is usable and has seen revision ``at_least``."""
        with self._changed:
            return self._fresh(at_least)

    def wait(self, until: Callable[[], bool], timeout: float) -> bool:
        """Block until ``until()`` holds, re-asked at each change; False after ``timeout``."""
        with self._changed:
            return self._changed.wait_for(until, timeout=timeout)

    def _fresh(self, at_least: int) -> bool:
        seen = revision(self._resume)
        return self._synced and self._connected and seen is not None and seen >= at_least

"""Server-side apply in stages, many requests at a time.

One object costs one request: ``PATCH <object>?fieldManager=fluxd&force=true``
with ``Content-Type: application/apply-patch+yaml`` and the object as JSON
(JSON is YAML). The API server creates it if it is missing and merges our
fields otherwise, so there is no GET first and no client-side diff.

Order matters only where the API server needs something to exist first:

1. Namespaces and CustomResourceDefinitions, all at once.
2. New CRDs must be ``Established`` and their kinds visible in discovery
   before their custom resources can be addressed; we wait for both, with a
   deadline. The caller may then resolve objects whose scope was unknown
   (``before_rest``), since their kinds may exist now.
3. Everything else, by kind rank (a rank at a time, concurrently inside), so
   ServiceAccounts and ConfigMaps exist before the workloads that use them.

A failed object fails alone: its outcome carries the API's message, and the
other objects are applied regardless.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from itertools import groupby
from typing import Any

from fluxd.clock import Clock, SystemClock
from fluxd.cluster.client import APPLY_PATCH, JSON, METADATA, KubeClient, Response
from fluxd.cluster.discovery import Discovery, ResourceType
from fluxd.cluster.errors import IMMUTABLE_HELP, is_immutable, is_transient, status_message
from fluxd.cluster.objects import RECREATE_ANNOTATION, ApplyItem, ApplyOutcome, Result
from fluxd.cluster.paths import InvalidName, api_path
from fluxd.errors import ClusterError

log = logging.getLogger(__name__)

FIELD_MANAGER = "fluxd"
CRD_GROUP = "apiextensions.k8s.io"
_POLL = 0.1
OUT_OF_TIME = "not sent: the sync pass ran out of time (--sync-timeout); fluxd sends it again"
NOT_LEADING = "not sent: this replica lost the leader Lease; the new leader applies it"

Rank = Callable[[str], int]


def is_first_stage(item: ApplyItem) -> bool:
    """Namespaces and CRDs go before everything else."""
    ref = item.ref
    if ref.kind == "Namespace":
        return ref.api_version == "v1"
    return ref.kind == "CustomResourceDefinition" and ref.api_version.startswith(CRD_GROUP)


def rank_stages(items: Iterable[ApplyItem], rank: Rank) -> list[list[ApplyItem]]:
    """Group items by kind rank, lowest first; order within a rank is kept."""
    ordered = sorted(items, key=lambda item: rank(item.ref.kind))
    return [list(group) for _, group in groupby(ordered, key=lambda item: rank(item.ref.kind))]


class Applier:
    """Applies sets of objects; one instance may serve many syncs."""

    def __init__(
        self,
        client: KubeClient,
        discovery: Discovery,
        *,
        concurrency: int = 16,
        force: bool = True,
        wait_timeout: float = 60.0,
        clock: Clock | None = None,
        fence: Callable[[], bool] = lambda: True,
    ) -> None:
        self._client = client
        self._clock: Clock = clock or SystemClock()
        #: Asked before every request: false once this replica may no longer write.
        self._fence = fence
        self._discovery = discovery
        self._concurrency = max(concurrency, 1)
        self._query = [("fieldManager", FIELD_MANAGER), ("force", "true" if force else "false")]
        self._wait_timeout = wait_timeout

    def apply(
        self,
        items: Sequence[ApplyItem],
        *,
        rank: Rank,
        before_rest: Callable[[], Sequence[ApplyItem]] | None = None,
        deadline: float | None = None,
    ) -> list[ApplyOutcome]:
        """Apply ``items`` in stages; ``before_rest`` may add items after the CRD stage.

        Past ``deadline`` (on the clock's ``monotonic()``) no more requests are sent: the
        objects left fail as transient, so the caller records what was applied
        and tries the rest again.
        """
        first = [item for item in items if is_first_stage(item)]
        rest = [item for item in items if not is_first_stage(item)]
        apply_in_time = partial(self._apply_before, deadline=deadline)
        with ThreadPoolExecutor(self._concurrency, thread_name_prefix="apply") as pool:
            results = list(pool.map(apply_in_time, first))
            outcomes = [outcome for outcome, _ in results]
            try:
                self._await_crds([(i, *r) for i, r in zip(first, results, strict=True)])
            except ClusterError as exc:
                # The objects of the next stages will each fail with the cause.
                log.warning("waiting for CRDs failed: %s", exc.message)
            if before_rest is not None:
                rest += before_rest()
            for stage in rank_stages(rest, rank):
                began = self._clock.monotonic()
                outcomes += (outcome for outcome, _ in pool.map(apply_in_time, stage))
                log.debug(
                    "applied stage rank=%d objects=%d took=%.2fs",
                    rank(stage[0].ref.kind),
                    len(stage),
                    self._clock.monotonic() - began,
                )
        return outcomes

    def _apply_before(
        self, item: ApplyItem, *, deadline: float | None
    ) -> tuple[ApplyOutcome, Mapping[str, Any]]:
        if deadline is not None and self._clock.monotonic() > deadline:
            return _failed(item, OUT_OF_TIME, transient=True)
        if not self._fence():
            return _failed(item, NOT_LEADING, transient=True)
        return self._apply(item)

    def _apply(self, item: ApplyItem) -> tuple[ApplyOutcome, Mapping[str, Any]]:
        """The outcome, and the live object the API server answered with ({} on failure)."""
        try:
            rtype = self._resource_type(item)
            path = rtype.path(item.ref.namespace, item.ref.name)
            response = self._patch(path, item)
            if response.ok:
                return _applied(item, response)
            message = status_message(response.body, response.status, response.reason)
            if is_immutable(response.status, message):
                if _wants_recreate(item.body):
                    return self._recreate(item, path)
                return _failed(item, f"immutable field changed: {message}. {IMMUTABLE_HELP}")
            return _failed(item, message, transient=is_transient(response.status))
        except ClusterError as exc:
            return _failed(item, exc.message, transient=exc.transient)
        except InvalidName as exc:
            return _failed(item, exc.message)

    def _resource_type(self, item: ApplyItem) -> ResourceType:
        ref = item.ref
        rtype = self._discovery.lookup(ref.api_version, ref.kind)
        if rtype is None:
            raise ClusterError(
                f"the API server does not serve kind {ref.kind} in {ref.api_version}"
            )
        if rtype.namespaced and not ref.namespace:
            raise ClusterError(f"{ref.kind} is namespaced but the object has no namespace")
        return rtype

    def _patch(self, path: str, item: ApplyItem) -> Response:
        # Only metadata comes back (a quarter of a Deployment's bytes to send
        # and decode), except for CRDs, whose status says if they are Established.
        accept = JSON if item.ref.kind == "CustomResourceDefinition" else METADATA
        return self._client.request(
            "PATCH",
            path,
            query=self._query,
            body=item.body,
            content_type=APPLY_PATCH,
            accept=accept,
        )

    def _recreate(self, item: ApplyItem, path: str) -> tuple[ApplyOutcome, Mapping[str, Any]]:
        log.info("recreating %s: an immutable field changed", item.ref)
        gone = self._client.request("DELETE", path, query=[("propagationPolicy", "Background")])
        if not gone.ok and gone.status != 404:
            why = status_message(gone.body, gone.status, gone.reason)
            return _failed(item, f"deleting it to re-create it failed: {why}")
        if not self._wait(lambda: self._client.request("GET", path).status == 404):
            return _failed(item, "deleted to re-create it, but it was still there at the deadline")
        response = self._patch(path, item)
        if response.ok:
            return _applied(item, response)
        return _failed(item, status_message(response.body, response.status, response.reason))

    def _await_crds(
        self, applied: Sequence[tuple[ApplyItem, ApplyOutcome, Mapping[str, Any]]]
    ) -> None:
        """Wait until new CRDs are Established and every applied CRD's kinds are served."""
        names = [
            item.ref.name for item, outcome, live in applied if _needs_wait(item, outcome, live)
        ]
        if names and not self._wait(lambda: all(self._settled(name) for name in names)):
            log.warning("CRDs not Established before the deadline: %s", ", ".join(names))
        kinds = [
            key
            for item, outcome, _ in applied
            if item.ref.kind == "CustomResourceDefinition" and outcome.applied
            for key in _served_kinds(item.body)
        ]
        if kinds and not self._wait(lambda: self._served(kinds)):
            log.warning("CRD kinds not in discovery before the deadline: %s", kinds)

    def _served(self, kinds: Sequence[tuple[str, str]]) -> bool:
        # Unchanged CRDs are already in the cache, and then this costs nothing.
        if all(self._discovery.cached(version, kind) for version, kind in kinds):
            return True
        self._discovery.refresh()
        return all(self._discovery.cached(version, kind) for version, kind in kinds)

    def _settled(self, name: str) -> bool:
        """Established, or never will be (its names clash with another CRD's)."""
        path = api_path(f"{CRD_GROUP}/v1", "customresourcedefinitions", name=name)
        response = self._client.request("GET", path)
        if not response.ok:
            return response.status == 404
        live = response.json()
        return _condition_true(live, "Established") or _condition_is(live, "NamesAccepted", "False")

    def _wait(self, done: Callable[[], bool]) -> bool:
        deadline = self._clock.monotonic() + self._wait_timeout
        while not done():
            if self._clock.monotonic() > deadline:
                return False
            self._clock.sleep(_POLL)
        return True


def _applied(item: ApplyItem, response: Response) -> tuple[ApplyOutcome, Mapping[str, Any]]:
    live = response.json()
    meta = live.get("metadata") or {}
    generation = meta.get("generation")
    outcome = ApplyOutcome(
        ref=item.ref,
        source=str(item.source),
        result=Result.APPLIED,
        resource_version=str(meta.get("resourceVersion", "")),
        generation=int(generation) if generation is not None else None,
        uid=str(meta.get("uid", "")),
    )
    return outcome, live


def _failed(
    item: ApplyItem, message: str, *, transient: bool = False
) -> tuple[ApplyOutcome, Mapping[str, Any]]:
    outcome = ApplyOutcome(
        ref=item.ref,
        source=str(item.source),
        result=Result.FAILED,
        error=message,
        transient=transient,
    )
    return outcome, {}


def _needs_wait(item: ApplyItem, outcome: ApplyOutcome, live: Mapping[str, Any]) -> bool:
    """A CRD we applied whose answer did not already say it is Established."""
    if item.ref.kind != "CustomResourceDefinition" or not outcome.applied:
        return False
    return not _condition_true(live, "Established")


def _condition_true(live: Mapping[str, Any], kind: str) -> bool:
    return _condition_is(live, kind, "True")


def _condition_is(live: Mapping[str, Any], kind: str, status: str) -> bool:
    conditions = (live.get("status") or {}).get("conditions") or ()
    return any(c.get("type") == kind and c.get("status") == status for c in conditions)


def _served_kinds(body: Mapping[str, Any]) -> list[tuple[str, str]]:
    spec = body.get("spec") or {}
    group, kind = spec.get("group", ""), (spec.get("names") or {}).get("kind", "")
    versions = [v["name"] for v in spec.get("versions") or () if v.get("served", True)]
    return [(f"{group}/{version}", kind) for version in versions]


def _wants_recreate(body: Mapping[str, Any]) -> bool:
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(RECREATE_ANNOTATION, "")).lower() == "true"

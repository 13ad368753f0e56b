"""``Cluster``: everything the sync engine and the API ask of Kubernetes.

One object holding the client, the discovery cache and the apply engine,
with a method per use case. It is synchronous and thread-safe; async
callers run it with ``asyncio.to_thread``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

from fluxd.clock import Clock
from fluxd.cluster.applying import Applier, Rank
from fluxd.cluster.client import KubeClient
from fluxd.cluster.discovery import Discovery
from fluxd.cluster.drift import Drift, LiveMeta, detect_drift, group_by_kind
from fluxd.cluster.dryrun import DryRunner, Preview
from fluxd.cluster.gc import GcReport, Guard, collect_garbage
from fluxd.cluster.inventory import Inventory, InventoryStore
from fluxd.cluster.objects import ApplyItem, ApplyOutcome, InventoryEntry
from fluxd.cluster.ownership import LEGACY_SELECTOR, foreign_objects, own_selector
from fluxd.cluster.paths import check_settings
from fluxd.cluster.records import (
    EventTarget,
    EventType,
    SecretData,
    SecretRequests,
    annotate_secret,
    read_secret,
    record_event,
    service_account_pull_secrets,
)
from fluxd.cluster.watching import DriftWatches
from fluxd.cluster.workloads import Workload, export_workloads, list_workloads
from fluxd.errors import ClusterError
from fluxd.settings import ClusterSettings, SyncSettings
from fluxids import ObjectRef

_WATCH_CONNECTIONS = 64


class NotLeading(ClusterError):
    """A write refused because this replica lost the leader Lease."""

    default_help = (
        "Another replica holds the Lease now and syncs; nothing needs doing. "
        "This replica writes again once it leads again."
    )


class Cluster:
    """The Kubernetes API as fluxd uses it."""

    def __init__(
        self,
        client: KubeClient,
        cluster: ClusterSettings,
        sync: SyncSettings,
        *,
        clock: Clock | None = None,
        watch_client: KubeClient | None = None,
    ) -> None:
        check_settings(cluster)
        self.client = client
        self._watch_client = watch_client
        self._settings = cluster
        self._sync = sync
        self.discovery = Discovery(client, clock=clock)
        self._fence: Callable[[], bool] = lambda: True
        self._applier = Applier(
            client,
            self.discovery,
            concurrency=sync.concurrency,
            force=sync.force_conflicts,
            wait_timeout=sync.timeout,
            clock=clock,
            fence=self.may_write,
        )
        self._dry_runner = DryRunner(
            client, self.discovery, concurrency=sync.concurrency, force=sync.force_conflicts
        )
        self._inventory = InventoryStore(
            client, namespace=cluster.namespace, name=cluster.inventory_name
        )
        # Drift watches need a client of their own (``connect`` makes one);
        # without it every drift check lists, as before watches existed.
        self.watches: DriftWatches | None = None
        if sync.drift_watch and watch_client is not None:
            self.watches = self._drift_watches(watch_client, clock)

    @classmethod
    def connect(
        cls,
        cluster: ClusterSettings,
        sync: SyncSettings,
        *,
        clock: Clock | None = None,
        user_agent: str = "",
    ) -> Cluster:
        """Build the client from the settings (kubeconfig, context or in-cluster)."""
        check_settings(cluster)  # before the kubeconfig, so a typo in a flag is named first
        # A few connections beyond the apply threads serve the API's reads.
        client = KubeClient.from_settings(
            cluster,
            pool_size=sync.concurrency + 4,
            timeout=sync.timeout,
            clock=clock,
            user_agent=user_agent,
        )
        # Watches hold a connection each for minutes: their own pool keeps
        # them from taking the connections the apply threads reuse. It keeps
        # up to _WATCH_CONNECTIONS (a watch per kind, and per namespace with
        # --k8s-allow-namespace); past that urllib3 opens more and warns as
        # it drops them.
        watch_client = None
        if sync.drift_watch:
            watch_client = KubeClient.from_settings(
                cluster,
                pool_size=_WATCH_CONNECTIONS,
                timeout=sync.timeout,
                clock=clock,
                user_agent=user_agent,
            )
        return cls(client, cluster, sync, clock=clock, watch_client=watch_client)

    def _drift_watches(self, client: KubeClient, clock: Clock | None) -> DriftWatches:
        return DriftWatches(
            client,
            self.discovery,
            selector=own_selector(self._settings.instance_name),
            namespaces=self._settings.allow_namespaces,
            clock=clock,
        )

    def close(self) -> None:
        self.stop_watching()
        if self._watch_client is not None:
            self._watch_client.close()
        self.client.close()

    def stop_watching(self) -> None:
        """End the drift watches (shutdown, or this replica stopped leading)."""
        if self.watches is not None:
            self.watches.stop()

    def secret_requests(self) -> SecretRequests:
        """Requests on fluxd's deploy-key Secret, for the key ring's store."""
        settings = self._settings
        return SecretRequests(
            self.client.api_client, namespace=settings.namespace, name=settings.secret_name
        )

    def set_fence(self, fence: Callable[[], bool]) -> None:
        """Ask ``fence`` before every write; once it answers False nothing more is written.

        With leader election, it is the elector's ``may_write``: a replica
        that lost the Lease stops before its next apply, delete or record.
        """
        self._fence = fence

    def may_write(self) -> bool:
        return self._fence()

    def _check_fence(self, what: str) -> None:
        if not self._fence():
            raise NotLeading(f"not {what}: this replica no longer holds the leader Lease")

    def ping(self) -> None:
        """Raise ``ClusterError`` unless the API server answers."""
        self.client.call("GET", "/version", what="asking the API server for its version")

    # -- sync -------------------------------------------------------------

    def scope(self, api_version: str, kind: str) -> bool | None:
        """True if the kind is namespaced, False if cluster-scoped, None if unknown."""
        return self.discovery.scope(api_version, kind)

    def apply(
        self,
        items: Sequence[ApplyItem],
        *,
        rank: Rank,
        before_rest: Callable[[], Sequence[ApplyItem]] | None = None,
        deadline: float | None = None,
    ) -> list[ApplyOutcome]:
        """Server-side apply in stages: Namespaces and CRDs, then by ``rank``."""
        return self._applier.apply(items, rank=rank, before_rest=before_rest, deadline=deadline)

    def detect_drift(self, entries: Iterable[InventoryEntry]) -> Drift:
        """Ids changed or gone since we applied them; reads metadata only.

        Kinds whose watch vouches for them are read from it; the others are
        listed, and their watch is started (only while this replica leads:
        a standby answering a preview keeps no watches).
        """
        entries = list(entries)
        watches = self.watches if self.may_write() else None
        if watches is not None:
            watches.track(group_by_kind(entries))
        return detect_drift(
            self.client,
            self.discovery,
            entries,
            namespaces=self._settings.allow_namespaces,
            selector=own_selector(self._settings.instance_name),
            cached=watches.cached if watches is not None else None,
        )

    def foreign_objects(self, refs: Iterable[ObjectRef]) -> dict[ObjectRef, LiveMeta]:
        """Of ``refs``, those live with another install's label or an unlabelled gc mark."""
        return foreign_objects(
            self.client,
            self.discovery,
            refs,
            instance=self._settings.instance_name,
            namespaces=self._settings.allow_namespaces,
        )

    def preview_apply(self, items: Sequence[ApplyItem]) -> list[Preview]:
        """What applying ``items`` would change: server-side dry runs, nothing written."""
        return self._dry_runner.preview_apply(items)

    def preview_delete(self, entries: Sequence[InventoryEntry]) -> list[Preview]:
        """The fluxd-managed part of objects garbage collection would delete."""
        return self._dry_runner.preview_delete(entries)

    def load_inventory(self) -> Inventory:
        return self._inventory.load()

    def save_inventory(self, inventory: Inventory) -> None:
        self._check_fence("saving the inventory")
        self._inventory.save(inventory)
        if self.watches is not None:
            # Watch what was just applied, so the next pass need not list it,
            # and no longer what left the inventory.
            self.watches.retain(group_by_kind(inventory.entries.values()))

    def collect_garbage(
        self,
        inventory: Inventory,
        desired: Collection[str],
        *,
        rank: Rank,
        dry_run: bool | None = None,
        delete_namespaces: bool = False,
        delete_crds: bool = False,
        guard: Guard | None = None,
    ) -> GcReport:
        """Delete inventoried objects that left ``desired`` (dry run per settings)."""
        return collect_garbage(
            self.client,
            self.discovery,
            inventory.entries.values(),
            desired,
            rank=rank,
            dry_run=self._sync.garbage_collection_dry if dry_run is None else dry_run,
            namespaces=self._settings.allow_namespaces,
            delete_namespaces=delete_namespaces,
            delete_crds=delete_crds,
            concurrency=self._sync.concurrency,
            guard=guard,
            fence=self.may_write,
            selectors=(own_selector(self._settings.instance_name), LEGACY_SELECTOR),
        )

    def namespace_annotations(self, name: str) -> dict[str, str]:
        """The annotations of namespace ``name`` (where approvals are given)."""
        body = self.client.call(
            "GET", f"/api/v1/namespaces/{name}", what=f"reading namespace {name}"
        )
        annotations = (body.get("metadata") or {}).get("annotations") or {}
        return {str(k): str(v) for k, v in annotations.items()}

    # -- API and daemon helpers --------------------------------------------

    def list_workloads(self, namespace: str | None = None) -> list[Workload]:
        return list_workloads(self.client, namespace, allowed=self._settings.allow_namespaces)

    def export_workloads(self) -> list[dict[str, Any]]:
        """The allowed namespaces and their workloads, as manifests (``fluxctl save``)."""
        return export_workloads(self.client, allowed=self._settings.allow_namespaces)

    def read_secret(self, name: str, namespace: str | None = None) -> SecretData:
        return read_secret(self.client, namespace or self._settings.namespace, name)

    def pull_secrets_of(self, namespace: str, service_account: str) -> list[str]:
        """The imagePullSecrets of a ServiceAccount."""
        return service_account_pull_secrets(self.client, namespace, service_account)

    def annotate_secret(
        self, name: str, annotations: Mapping[str, str | None], namespace: str | None = None
    ) -> None:
        self._check_fence(f"annotating Secret {name}")
        annotate_secret(self.client, namespace or self._settings.namespace, name, annotations)

    def record_event(
        self,
        target: EventTarget,
        *,
        reason: str,
        message: str,
        type: EventType = EventType.NORMAL,
    ) -> None:
        self._check_fence(f"recording event {reason}")
        record_event(self.client, target, reason=reason, message=message, type=type)

"""fluxd's side of the Kubernetes API: discovery, server-side apply, drift,
inventory and garbage collection, workloads, Secrets and Events.

The ``kubernetes`` client library is imported in this package (and in
``fluxd.identity``) only; what leaves it are plain frozen dataclasses and
``ClusterError``.
"""

from fluxd.cluster.applying import FIELD_MANAGER, is_first_stage, rank_stages
from fluxd.cluster.client import KubeClient
from fluxd.cluster.discovery import Discovery, ResourceType
from fluxd.cluster.drift import Drift, LiveMeta, has_drifted
from fluxd.cluster.dryrun import Preview
from fluxd.cluster.gc import GcReport, spare_reason
from fluxd.cluster.inventory import Inventory
from fluxd.cluster.kube import Cluster
from fluxd.cluster.objects import (
    IGNORE_ANNOTATION,
    RECREATE_ANNOTATION,
    ApplyItem,
    ApplyObject,
    ApplyOutcome,
    InventoryEntry,
    Result,
)
from fluxd.cluster.records import (
    SYNC_HWM_ANNOTATION,
    EventTarget,
    EventType,
    SecretData,
    SecretRequests,
)
from fluxd.cluster.rollout import Rollout, WorkloadStatus, rollout_status
from fluxd.cluster.workloads import Container, Workload
from fluxids.marks import CHECKSUM_ANNOTATION, GC_MARK_LABEL

__all__ = [
    "CHECKSUM_ANNOTATION",
    "FIELD_MANAGER",
    "GC_MARK_LABEL",
    "IGNORE_ANNOTATION",
    "RECREATE_ANNOTATION",
    "SYNC_HWM_ANNOTATION",
    "ApplyItem",
    "ApplyObject",
    "ApplyOutcome",
    "Cluster",
    "Container",
    "Discovery",
    "Drift",
    "EventTarget",
    "EventType",
    "GcReport",
    "Inventory",
    "InventoryEntry",
    "KubeClient",
    "LiveMeta",
    "Preview",
    "ResourceType",
    "Result",
    "Rollout",
    "SecretData",
    "SecretRequests",
    "Workload",
    "WorkloadStatus",
    "has_drifted",
    "is_first_stage",
    "rank_stages",
    "rollout_status",
    "spare_reason",
]

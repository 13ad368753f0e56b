"""Which workloads a release changes, and to what (Flux v1's ``pkg/update``).

Pure: given the workloads defined in git, those running in the cluster and
an ``ImageSource``, ``plan_release`` returns a result for every workload
defined in git and the container updates to write. Flux v1's order of
filters is kept, because it decides which reason fluxctl shows: first
"not included"/"excluded" (from the spec), then whether the cluster runs
it, then "a different image", "locked" and "ignore" (the last two waived by
``--force`` on named workloads), then the image lookup.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fluxd.cluster import Workload
from fluxd.manifests import Resource
from fluxd.writeback.imagerefs import ImageRef, tag_matches
from fluxd.writeback.images import ImageSource
from fluxd.writeback.results import ContainerUpdate, Reason, Results, Status, WorkloadResult
from fluxd.writeback.specs import ALL_LATEST, ReleaseSpec
from fluxids import ObjectRef

__all__ = ["WORKLOAD_KINDS", "WorkloadUpdate", "plan_release", "release_message"]

#: Kinds whose containers a release can change in git.
WORKLOAD_KINDS = frozenset({"deployment", "daemonset", "statefulset", "cronjob"})
_ALL_TAGS = "glob:*"


@dataclass(frozen=True, slots=True)
class WorkloadUpdate:
    workload: ObjectRef
    resource: Resource
    containers: tuple[ContainerUpdate, ...]


def plan_release(
    spec: ReleaseSpec,
    defined: Mapping[ObjectRef, Resource],
    running: Mapping[ObjectRef, Workload],
    images: ImageSource,
) -> tuple[list[WorkloadUpdate], Results]:
    results: Results = {}
    named = set() if spec.all_workloads else {ObjectRef.parse(w) for w in spec.workloads}
    candidates: list[ObjectRef] = []
    for workload in sorted(defined, key=str):
        if named and workload not in named:
            results[workload] = WorkloadResult(Status.IGNORED, Reason.NOT_INCLUDED)
        elif workload in spec.excludes:
            results[workload] = WorkloadResult(Status.IGNORED, Reason.EXCLUDED)
        else:
            results[workload] = WorkloadResult(Status.SKIPPED, Reason.NOT_IN_CLUSTER)
            candidates.append(workload)
    chosen = [
        w
        for w in candidates
        if w in running and _post_filter(spec, w, defined, running, named, results)
    ]
    for workload in named - results.keys():
        results[workload] = WorkloadResult(Status.SKIPPED, Reason.NOT_IN_REPO)
    updates: list[WorkloadUpdate] = []
    for workload in chosen:
        result = _image_updates(spec, defined[workload], running[workload], images)
        results[workload] = result
        if result.status is Status.SUCCESS:
            updates.append(WorkloadUpdate(workload, defined[workload], result.per_container))
    return updates, results


def _post_filter(
    spec: ReleaseSpec,
    workload: ObjectRef,
    defined: Mapping[ObjectRef, Resource],
    running: Mapping[ObjectRef, Workload],
    named: set[ObjectRef],
    results: Results,
) -> bool:
    containers = running[workload].containers
    policies = defined[workload].policies
    reason: WorkloadResult | None = None
    if spec.image != ALL_LATEST:
        wanted = ImageRef.parse(spec.image).canonical_name
        if not containers:
            reason = WorkloadResult(Status.IGNORED, Reason.NOT_IN_CLUSTER)
        elif not any(_canonical(c.image) == wanted for c in containers):
            reason = WorkloadResult(Status.IGNORED, Reason.DIFFERENT_IMAGE)
    if reason is None and not (named and spec.force):
        if policies.get("locked") == "true":
            reason = WorkloadResult(Status.SKIPPED, Reason.LOCKED)
        elif policies.get("ignore") in ("true", "sync_only"):
            reason = WorkloadResult(Status.SKIPPED, Reason.IGNORE)
    if reason is not None:
        results[workload] = reason
        return False
    return True


def _image_updates(
    spec: ReleaseSpec, resource: Resource, running: Workload, images: ImageSource
) -> WorkloadResult:
    single = "" if spec.image == ALL_LATEST else ImageRef.parse(spec.image)
    outcome = Status.IGNORED
    updates: list[ContainerUpdate] = []
    for container in running.containers:
        try:
            current = ImageRef.parse(container.image)
        except ValueError as exc:
            return WorkloadResult(Status.FAILED, f"container {container.name}: {exc}")
        pattern = _ALL_TAGS
        if not spec.force or spec.image == ALL_LATEST:
            pattern = resource.policies.get(f"tag.{container.name}", _ALL_TAGS)
        if isinstance(single, ImageRef):
            same_repo = current.canonical_name == single.canonical_name
            latest = single.tag if same_repo and tag_matches(pattern, single.tag) else None
        else:
            same_repo = True  # a lookup that finds nothing is "unknown", not "other image"
            latest = images.latest_tag(current.canonical_name, pattern)
        if latest is None:
            outcome = Status.UNKNOWN if same_repo else Status.IGNORED
        elif latest == current.tag:
            outcome = Status.SKIPPED
        else:
            target = str(current.with_tag(latest))
            updates.append(ContainerUpdate(container.name, str(current), target))
    if updates:
        return WorkloadResult(Status.SUCCESS, per_container=tuple(updates))
    if outcome is Status.SKIPPED:
        return WorkloadResult(Status.SKIPPED, Reason.UP_TO_DATE)
    if outcome is Status.UNKNOWN:
        return WorkloadResult(Status.SKIPPED, Reason.IMAGE_NOT_FOUND)
    return WorkloadResult(Status.IGNORED, Reason.DOES_NOT_USE_IMAGE)


def _canonical(image: str) -> str:
    try:
        return ImageRef.parse(image).canonical_name
    except ValueError:
        return ""


def release_message(spec: ReleaseSpec) -> str:
    """Flux v1's default commit message: ``Release <image> to <workloads>``."""
    workloads = ", ".join(w.strip("<>") for w in spec.workloads)
    return f"Release {spec.image.strip('<>')} to {workloads}"

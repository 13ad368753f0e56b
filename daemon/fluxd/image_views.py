"""A workload's containers with what the registry scan found, as list-images shows them.

Flux v1's rules: ``Available`` is every tag of the repository, ordered by the
container's filter (by version for ``semver:``, newest first otherwise);
``LatestFiltered`` is the first of those that pass the filter; the counts
say how many there are and how many are newer than the running image.
"""

from __future__ import annotations

from datetime import datetime

from fluxd.cluster import Container, Workload
from fluxd.errors import UserError
from fluxd.manifests import policies_of
from fluxd.registry import (
    ImageCache,
    ImageMeta,
    ImageRef,
    RepoState,
    TagFilter,
    container_filter,
    parse_image,
    parse_version,
)
from fluxd.views import ContainerImages, ImageDetail, WorkloadImages

#: What list-images says of a repository not scanned (yet, or not at all).
NO_DATA = "image data not available"


def workload_images(workload: Workload, cache: ImageCache | None) -> WorkloadImages:
    """``cache`` None: scanning is off, so no container has registry data."""
    containers = tuple(_container(workload, c, cache) for c in workload.containers)
    return WorkloadImages(id=workload.id, containers=containers)


def _container(
    workload: Workload, container: Container, cache: ImageCache | None
) -> ContainerImages:
    current = ImageDetail(ref=container.image)
    if cache is None:
        # Scanning is off: no registry was asked, so there is no error to
        # tell either (Flux v1 with --registry-disable-scanning said none).
        return ContainerImages(name=container.name, current=current)
    try:
        ref = parse_image(container.image)
        tag_filter = container_filter(policies_of(workload.policies), container.name)
    except UserError as exc:
        return ContainerImages(name=container.name, current=current, error=str(exc))
    state = cache.get(ref.image.name)
    if state is None or (state.listed is None and not state.tags):
        error = (state.error if state else "") or NO_DATA
        return ContainerImages(name=container.name, current=current, error=error)
    return _with_tags(container, ref, tag_filter, state)


def _with_tags(
    container: Container, ref: ImageRef, tag_filter: TagFilter, state: RepoState
) -> ContainerImages:
    ordered = order_tags(tag_filter, state.times())
    available = tuple(_detail(ref.image.with_tag(t), state.tags.get(t)) for t in ordered)
    meta = state.tags.get(ref.tag)
    current = _detail(container.image, meta) if meta else ImageDetail(ref=container.image)
    filtered = [d for d, t in zip(available, ordered, strict=True) if tag_filter.matches(t)]
    newer = [t for t in ordered if is_newer(tag_filter, t, ref.tag, state)]
    return ContainerImages(
        name=container.name,
        current=current,
        available=available,
        error=state.error,
        latest_filtered=filtered[0] if filtered else None,
        new_available=len(newer),
        filtered=len(filtered),
        new_filtered=sum(1 for t in newer if tag_filter.matches(t)),
    )


def order_tags(tag_filter: TagFilter, times: dict[str, datetime | None]) -> list[str]:
    """Newest first: by version for semver filters (other tags after), else by time."""

    def by_time(tag: str) -> tuple[float, str]:
        moment = times.get(tag)
        return (moment.timestamp() if moment else float("-inf"), tag)

    if tag_filter.kind != "semver":
        return sorted(times, key=by_time, reverse=True)
    versioned = [(v, t) for t in times if (v := parse_version(t)) is not None]
    rest = [t for t in times if parse_version(t) is None]
    return [t for _, t in sorted(versioned, reverse=True)] + sorted(rest, key=by_time, reverse=True)


def is_newer(tag_filter: TagFilter, tag: str, current: str, state: RepoState) -> bool:
    """Flux v1's ``Newer``: a higher version (semver), else a later creation time."""
    if tag_filter.kind == "semver":
        new, now = parse_version(tag), parse_version(current)
        return new is not None and (now is None or new > now)
    times = state.times()
    new_time, now_time = times.get(tag), times.get(current)
    if new_time is None:
        return False
    return now_time is None or new_time > now_time


def _detail(ref: str, meta: ImageMeta | None) -> ImageDetail:
    if meta is None:
        return ImageDetail(ref=ref)
    return ImageDetail(
        ref=ref,
        digest=meta.digest,
        image_id=meta.image_id,
        labels=dict(meta.labels),
        created=meta.created,
        fetched=meta.fetched,
    )

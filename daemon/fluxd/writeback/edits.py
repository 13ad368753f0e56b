"""What an edit must do to the parsed object: the check that an edit did no more."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fluxd.manifests.yamledit import set_container_image
from fluxd.writeback.release import WorkloadUpdate
from fluxd.writeback.results import ContainerUpdate

__all__ = ["images_in", "set_annotations_in_body", "set_images_in_body"]


def images_in(text: str, update: WorkloadUpdate, namespace: str) -> str:
    for container in update.containers:
        text = set_container_image(
            text,
            update.workload,
            container.container,
            container.target,
            default_namespace=namespace,
        )
    return text


def set_images_in_body(body: dict[str, Any], updates: tuple[ContainerUpdate, ...]) -> None:
    spec = body["spec"]
    if body.get("kind") == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    pod = spec["template"]["spec"]
    targets = {u.container: u.target for u in updates}
    for key in ("containers", "initContainers"):
        for container in pod.get(key) or []:
            if container.get("name") in targets:
                container["image"] = targets[container["name"]]


def set_annotations_in_body(body: dict[str, Any], changes: Mapping[str, str | None]) -> None:
    metadata = body["metadata"]
    annotations = dict(metadata.get("annotations") or {})
    for key, value in changes.items():
        if value is None:
            annotations.pop(key, None)
        else:
            annotations[key] = value
    if annotations:
        metadata["annotations"] = annotations
    else:
        metadata.pop("annotations", None)

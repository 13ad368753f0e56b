"""Wire models of the Flux v1 HTTP API: the one contract fluxd and fluxctl share.

Field names are the JSON names Flux v1 used (Go field names where it had no
tags), so an original fluxctl can talk to fluxd and our fluxctl to an original
fluxd. Fields that Flux v1 did not have are added only where old clients
ignore them, and are marked "extension" below.

This module must import nothing from fluxd but itself. fluxctl does not
import it (pydantic would double its start-up): ``fluxctl.wire`` repeats the
models it reads, and tests/unit/cli/test_fluxctl_wire.py keeps them equal.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
)

API_PREFIX = "/api/flux"
DEFAULT_PORT = 3030


class WireModel(BaseModel):
    """Base: accept unknown fields from newer or older peers, keep names as given."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class OmitEmptyModel(WireModel):
    """Serialises like Go's ``omitempty``: empty strings, zeros, nulls and empty lists are left out.

    Flux v1 tagged these types (``image.Info``, ``v6.Container``, ``job.Result``)
    with ``omitempty``; leaving the fields out keeps our JSON equal to theirs.
    ``omitempty`` does not apply to Go structs, so fields that are structs in
    Flux v1 are always written, as their zero value when empty
    (``always_present``).
    """

    always_present: ClassVar[dict[str, Any]] = {}

    @model_serializer(mode="wrap")
    def _omit_empty(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        kept = {}
        for key, value in data.items():
            if key in self.always_present and value in (None, {}):
                kept[key] = copy.deepcopy(self.always_present[key])
            elif key in self.always_present or value not in (None, "", 0, [], {}):
                kept[key] = value
        return kept


# --- errors -------------------------------------------------------------------


class ErrorBody(WireModel):
    """``{type, help, error}``: how every failed request is answered."""

    type: Literal["user", "missing", "server"] = "server"
    help: str = ""
    error: str = ""


# --- identity / git repo config ----------------------------------------------


class Fingerprint(WireModel):
    hash: str
    randomart: str = ""


class PublicKey(WireModel):
    key: str
    fingerprints: dict[str, Fingerprint] = Field(default_factory=dict)


class Remote(WireModel):
    url: str
    branch: str
    path: str = ""


GitStatus = Literal["unconfigured", "new", "cloned", "ready", "unreachable"]


class GitConfig(WireModel):
    """Answer of ``POST /v9/git-repo-config``."""

    remote: Remote
    publicSSHKey: PublicKey  # the wire name, as Flux v1 spelt it
    status: GitStatus
    errors: str = ""


# --- workloads ------------------------------------------------------------------


class ImageInfo(OmitEmptyModel):
    """Flux v1's ``image.Info``: ``ID`` (a reference) and ``Labels`` (a struct) are always sent."""

    always_present: ClassVar[dict[str, Any]] = {"ID": "", "Labels": {}}

    ID: str = ""
    Digest: str | None = None
    ImageID: str | None = None
    Labels: dict[str, str] | None = None
    CreatedAt: str | None = None
    LastFetched: str | None = None


#: What Flux v1 sends for an ``image.Info`` it knows nothing about.
EMPTY_IMAGE_INFO: dict[str, Any] = {"ID": "", "Labels": {}}


class Container(OmitEmptyModel):
    """Flux v1's ``v6.Container``: ``Current`` and ``LatestFiltered`` are structs, always sent."""

    always_present: ClassVar[dict[str, Any]] = {
        "Current": EMPTY_IMAGE_INFO,
        "LatestFiltered": EMPTY_IMAGE_INFO,
    }

    Name: str = ""
    Current: ImageInfo | None = None
    LatestFiltered: ImageInfo | None = None
    Available: list[ImageInfo] | None = None
    AvailableError: str | None = None
    AvailableImagesCount: int | None = None
    NewAvailableImagesCount: int | None = None
    FilteredImagesCount: int | None = None
    NewFilteredImagesCount: int | None = None

    @field_validator("LatestFiltered", mode="before")
    @classmethod
    def _image_ref_as_info(cls, value: object) -> object:
        # Flux v1 sends an image info object; a bare "repo:tag" (as some
        # recordings have it) is read as that object's ID.
        if isinstance(value, str):
            return {"ID": value} if value else None
        return value


class Rollout(WireModel):
    Desired: int = 0
    Updated: int = 0
    Ready: int = 0
    Available: int = 0
    Outdated: int = 0
    Messages: list[str] | None = None


# The field ControllerStatus.Rollout would shadow the class name inside that class.
RolloutStatus = Rollout


ReadOnlyReason = Literal["", "NotInRepo", "System", "NoRepo", "NotReady", "ReadOnlyMode"]


class ControllerStatus(WireModel):
    """One workload, as ``GET /v6/services`` lists it."""

    ID: str
    Containers: list[Container] | None = None
    ReadOnly: str = ""
    Status: str = ""
    Rollout: RolloutStatus = Field(default_factory=RolloutStatus)
    SyncError: str = ""
    Antecedent: str = ""
    Labels: dict[str, str] | None = None
    Automated: bool = False
    Locked: bool = False
    Ignore: bool = False
    Policies: dict[str, str] | None = None


class ImageStatus(WireModel):
    """One workload's images, as ``GET /v10/images`` lists it."""

    ID: str
    Containers: list[Container] | None = None


# --- jobs and sync -----------------------------------------------------------------


class Cause(WireModel):
    Message: str = ""
    User: str = ""


class UpdateSpec(WireModel):
    """Body of ``POST /v9/update-manifests``: ``sync``, ``image`` and ``policy`` are carried out."""

    type: Literal["image", "policy", "auto", "sync", "containers"]
    cause: Cause = Field(default_factory=Cause)
    spec: Any = None


class ResourceError(WireModel):
    """Extension: one resource that failed to apply in the last sync pass."""

    ID: str
    Path: str = ""
    Error: str = ""


class JobResult(OmitEmptyModel):
    revision: str = ""
    spec: UpdateSpec | None = None
    result: dict[str, Any] | None = None


class JobStatus(WireModel):
    """Answer of ``GET /v6/jobs?id=``."""

    Result: JobResult = Field(default_factory=JobResult)
    Err: str = ""
    StatusString: Literal["queued", "running", "failed", "succeeded"] = "queued"


class GcHold(WireModel):
    """Extension: deletions the deletion guard held back, waiting for approval."""

    reason: str
    #: Ids of the objects garbage collection would have deleted.
    deletions: list[str] = Field(default_factory=list)
    #: How many objects fluxd's inventory holds.
    inventory: int = 0
    #: What to do, with the command that approves the deletions.
    help: str = ""


class SyncErrors(WireModel):
    """Extension: answer of ``GET /v11/sync-errors?ref=``: per-resource failures of one pass.

    ``revision`` is the revision that pass applied; ``errors`` is empty when
    every resource applied. ``gcHeld`` is set when the deletion guard held
    deletions back, ``historyRewrittenFrom`` (the revision applied before)
    when the revision does not descend from it, and ``retrying`` when the
    pass stopped for a passing reason and fluxd tries it again within seconds.
    """

    revision: str = ""
    errors: list[ResourceError] = Field(default_factory=list)
    gcHeld: GcHold | None = None
    historyRewrittenFrom: str = ""
    retrying: bool = False

    @model_serializer(mode="wrap")
    def _omit_empty_extensions(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Left out when empty, so a pass without news answers as it always did.
        data: dict[str, Any] = handler(self)
        for key in ("gcHeld", "historyRewrittenFrom", "retrying"):
            if not data.get(key):
                data.pop(key, None)
        return data


class NotifyChange(WireModel):
    """Body of ``POST /v11/notify``."""

    Kind: Literal["git", "image"]
    Source: dict[str, Any] = Field(default_factory=dict)


# --- probes ---------------------------------------------------------------------------


class ReadyReport(WireModel):
    """Extension: body of ``GET /readyz`` (200 when ``ready``, else 503)."""

    ready: bool
    #: The git mirror's state, as in ``GitConfig.status``.
    git_status: GitStatus = "unconfigured"
    git_error: str = ""
    #: The revision the last finished sync pass applied ("" before the first).
    last_sync_revision: str = ""
    #: RFC 3339 time the last sync pass finished ("" before the first).
    last_sync_time: str = ""
    last_sync_failures: int = 0


# --- status and diff (extensions) -------------------------------------------------------


class Failure(WireModel):
    """Extension: one object or file a pass could not apply, and where it is in git."""

    id: str = ""
    file: str = ""
    #: 1-based line of the object (or of the problem) in ``file``; None when unknown.
    line: int | None = None
    error: str = ""


class PassReport(WireModel):
    """Extension: what one sync pass did."""

    revision: str
    finished: str  # RFC 3339
    duration: float
    applied: int = 0
    unchanged: int = 0
    drifted: int = 0
    deleted: list[str] = Field(default_factory=list)
    failures: list[Failure] = Field(default_factory=list)
    gcSkipped: str = ""
    gcHeld: GcHold | None = None
    timedOut: bool = False


class CommitReport(WireModel):
    """Extension: a commit: who made it, when (RFC 3339, "" if unknown), its subject."""

    revision: str
    author: str = ""
    time: str = ""
    subject: str = ""


class StatusReport(WireModel):
    """Extension: answer of ``GET /v11/status``: what the status page at ``/`` shows."""

    version: str
    url: str
    branch: str
    paths: list[str] = Field(default_factory=list)
    gitStatus: GitStatus
    gitError: str = ""
    gitHelp: str = ""
    lastSync: CommitReport | None = None
    passes: list[PassReport] = Field(default_factory=list)
    workloads: list[ControllerStatus] = Field(default_factory=list)
    workloadsError: str = ""
    garbageCollection: Literal["on", "off", "dry-run"] = "off"


DiffAction = Literal["create", "change", "delete", "unchanged", "failed"]


class DiffRequest(WireModel):
    """Extension: body of ``POST /v11/diff``: a ref of the branch, or files to diff.

    ``files`` maps repo-relative paths to file contents (``fluxctl diff
    --from-dir``); with it, ``ref`` is ignored.
    """

    ref: str = ""
    files: dict[str, str] | None = None


class ObjectDiff(WireModel):
    """Extension: one object a sync would change, with its unified diff."""

    id: str = ""
    file: str = ""
    action: DiffAction
    diff: str = ""
    error: str = ""


class DiffResult(WireModel):
    """Extension: answer of ``POST /v11/diff``."""

    revision: str = ""
    objects: list[ObjectDiff] = Field(default_factory=list)
    create: int = 0
    change: int = 0
    delete: int = 0
    unchanged: int = 0
    failed: int = 0
    notes: list[str] = Field(default_factory=list)
    garbageCollection: bool = False
    duration: float = 0.0

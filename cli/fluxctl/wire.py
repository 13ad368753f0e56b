"""fluxd's API answers as fluxctl reads them, decoded with msgspec.

The contract itself is fluxd's pydantic models (``fluxd.api.models``); these
Structs repeat the part fluxctl reads, field for field: the same JSON names,
order, defaults and optionality, unknown fields ignored. They exist because
importing pydantic and building those models cost fluxctl about 0.14 s of CPU
on every run, more than the rest of a ``sync`` or ``list-workloads``; msgspec
imports in a few milliseconds and decodes straight into these types.
``tests/unit/cli/test_fluxctl_wire.py`` keeps the two in step.

This is fluxctl's only module that imports msgspec: its errors become
``CliError`` here, naming the route and the path of the bad field.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar, Generic, Literal, TypeVar

import msgspec

from fluxctl.errors import CliError

T = TypeVar("T")


class Wire(msgspec.Struct, kw_only=True):
    """Base of every answer: unknown fields are skipped, fields are given by keyword."""

    def dump(self) -> dict[str, Any]:
        """The JSON-ready form fluxd's model of the same name dumps (``-o json``)."""
        data: dict[str, Any] = to_plain(self)
        return data

    def dump_fields(self, data: dict[str, Any]) -> dict[str, Any]:
        """The dumped fields as fluxd's model writes them (all of them, here)."""
        return data


class OmitEmpty(Wire, kw_only=True):
    """Dumped like Go's ``omitempty``, as the pydantic model of the same name does.

    Empty strings, zeros, nulls and empty collections are left out, except
    the fields Flux v1 always wrote (``always_present``), which become their
    zero value when empty.
    """

    always_present: ClassVar[dict[str, Any]] = {}

    def dump_fields(self, data: dict[str, Any]) -> dict[str, Any]:
        kept = {}
        for key, value in data.items():
            if key in self.always_present and value in (None, {}):
                kept[key] = copy.deepcopy(self.always_present[key])
            elif key in self.always_present or value not in (None, "", 0, [], {}):
                kept[key] = value
        return kept


# --- errors and git config ----------------------------------------------------------


class ErrorBody(Wire, kw_only=True):
    """``{type, help, error}``: how fluxd answers a failed request."""

    type: Literal["user", "missing", "server"] = "server"
    help: str = ""
    error: str = ""


class Fingerprint(Wire, kw_only=True):
    hash: str
    randomart: str = ""


class PublicKey(Wire, kw_only=True):
    key: str
    fingerprints: dict[str, Fingerprint] = msgspec.field(default_factory=dict)


class Remote(Wire, kw_only=True):
    url: str
    branch: str
    path: str = ""


GitStatus = Literal["unconfigured", "new", "cloned", "ready", "unreachable"]


class GitConfig(Wire, kw_only=True):
    """Answer of ``POST /v9/git-repo-config``."""

    remote: Remote
    publicSSHKey: PublicKey
    status: GitStatus
    errors: str = ""


# --- workloads and images --------------------------------------------------------------


class ImageInfo(OmitEmpty, kw_only=True):
    """Flux v1's ``image.Info``."""

    always_present: ClassVar[dict[str, Any]] = {"ID": "", "Labels": {}}

    ID: str = ""
    Digest: str | None = None
    ImageID: str | None = None
    Labels: dict[str, str] | None = None
    CreatedAt: str | None = None
    LastFetched: str | None = None


_EMPTY_IMAGE_INFO: dict[str, Any] = {"ID": "", "Labels": {}}


class Container(OmitEmpty, kw_only=True):
    """Flux v1's ``v6.Container``."""

    always_present: ClassVar[dict[str, Any]] = {
        "Current": _EMPTY_IMAGE_INFO,
        "LatestFiltered": _EMPTY_IMAGE_INFO,
    }

    Name: str = ""
    Current: ImageInfo | None = None
    # A str only while decoding: __post_init__ turns it into an ImageInfo.
    LatestFiltered: ImageInfo | str | None = None
    Available: list[ImageInfo] | None = None
    AvailableError: str | None = None
    AvailableImagesCount: int | None = None
    NewAvailableImagesCount: int | None = None
    FilteredImagesCount: int | None = None
    NewFilteredImagesCount: int | None = None

    def __post_init__(self) -> None:
        # Flux v1 sends an image info object; a bare "repo:tag" (as some
        # recordings have it) is read as that object's ID.
        if isinstance(self.LatestFiltered, str):
            self.LatestFiltered = ImageInfo(ID=self.LatestFiltered) if self.LatestFiltered else None


class Rollout(Wire, kw_only=True):
    Desired: int = 0
    Updated: int = 0
    Ready: int = 0
    Available: int = 0
    Outdated: int = 0
    Messages: list[str] | None = None


# The field ControllerStatus.Rollout would shadow the class name inside that class.
RolloutStatus = Rollout


class ControllerStatus(Wire, kw_only=True):
    """One workload, as ``GET /v6/services`` lists it."""

    ID: str
    Containers: list[Container] | None = None
    ReadOnly: str = ""
    Status: str = ""
    Rollout: RolloutStatus = msgspec.field(default_factory=RolloutStatus)
    SyncError: str = ""
    Antecedent: str = ""
    Labels: dict[str, str] | None = None
    Automated: bool = False
    Locked: bool = False
    Ignore: bool = False
    Policies: dict[str, str] | None = None


class ImageStatus(Wire, kw_only=True):
    """One workload's images, as ``GET /v10/images`` lists it."""

    ID: str
    Containers: list[Container] | None = None


# --- updates, jobs and sync -------------------------------------------------------------


class Cause(Wire, kw_only=True):
    Message: str = ""
    User: str = ""


class UpdateSpec(Wire, kw_only=True):
    """Body of ``POST /v9/update-manifests`` (and a finished job's echo of it)."""

    type: Literal["image", "policy", "auto", "sync", "containers"]
    cause: Cause = msgspec.field(default_factory=Cause)
    spec: Any = None


class ResourceError(Wire, kw_only=True):
    ID: str
    Path: str = ""
    Error: str = ""


class JobResult(OmitEmpty, kw_only=True):
    revision: str = ""
    spec: UpdateSpec | None = None
    result: dict[str, Any] | None = None


class JobStatus(Wire, kw_only=True):
    """Answer of ``GET /v6/jobs?id=``."""

    Result: JobResult = msgspec.field(default_factory=JobResult)
    Err: str = ""
    StatusString: Literal["queued", "running", "failed", "succeeded"] = "queued"


class GcHold(Wire, kw_only=True):
    """Deletions the deletion guard held back, and how to approve them (``help``)."""

    reason: str
    deletions: list[str] = msgspec.field(default_factory=list)
    inventory: int = 0
    help: str = ""


class SyncErrors(Wire, kw_only=True):
    """Answer of ``GET /v11/sync-errors?ref=``: per-resource failures of one pass."""

    revision: str = ""
    errors: list[ResourceError] = msgspec.field(default_factory=list)
    gcHeld: GcHold | None = None
    historyRewrittenFrom: str = ""
    retrying: bool = False


# --- status and diff -----------------------------------------------------------------------


class Failure(Wire, kw_only=True):
    id: str = ""
    file: str = ""
    line: int | None = None
    error: str = ""


class PassReport(Wire, kw_only=True):
    revision: str
    finished: str
    duration: float
    applied: int = 0
    unchanged: int = 0
    drifted: int = 0
    deleted: list[str] = msgspec.field(default_factory=list)
    failures: list[Failure] = msgspec.field(default_factory=list)
    gcSkipped: str = ""
    gcHeld: GcHold | None = None
    timedOut: bool = False


class CommitReport(Wire, kw_only=True):
    revision: str
    author: str = ""
    time: str = ""
    subject: str = ""


class StatusReport(Wire, kw_only=True):
    """Answer of ``GET /v11/status``."""

    version: str
    url: str
    branch: str
    paths: list[str] = msgspec.field(default_factory=list)
    gitStatus: GitStatus
    gitError: str = ""
    gitHelp: str = ""
    lastSync: CommitReport | None = None
    passes: list[PassReport] = msgspec.field(default_factory=list)
    workloads: list[ControllerStatus] = msgspec.field(default_factory=list)
    workloadsError: str = ""
    garbageCollection: Literal["on", "off", "dry-run"] = "off"


class DiffRequest(Wire, kw_only=True):
    """Body of ``POST /v11/diff``: a ref of the branch, or files (path -> content) to diff."""

    ref: str = ""
    files: dict[str, str] | None = None


class ObjectDiff(Wire, kw_only=True):
    id: str = ""
    file: str = ""
    action: Literal["create", "change", "delete", "unchanged", "failed"]
    diff: str = ""
    error: str = ""


class DiffResult(Wire, kw_only=True):
    """Answer of ``POST /v11/diff``."""

    revision: str = ""
    objects: list[ObjectDiff] = msgspec.field(default_factory=list)
    create: int = 0
    change: int = 0
    delete: int = 0
    unchanged: int = 0
    failed: int = 0
    notes: list[str] = msgspec.field(default_factory=list)
    garbageCollection: bool = False
    duration: float = 0.0


# --- decoding and dumping ---------------------------------------------------------------------


class Shape(Generic[T]):
    """The type of one route's answer; its decoder is built on first use."""

    def __init__(self, shape: Any) -> None:
        self._shape = shape
        self._decoder: msgspec.json.Decoder[Any] | None = None

    def decode(self, content: bytes, route: str) -> T:
        """``content`` as this type; a CliError naming ``route`` and the bad field if it is not."""
        if self._decoder is None:
            self._decoder = msgspec.json.Decoder(self._shape)
        try:
            # A 204 or an empty body stands for JSON null (e.g. "no pending commits").
            value: T = self._decoder.decode(content or b"null")
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            snippet = content.decode("utf-8", "replace")[:200]
            raise CliError(
                f"unexpected answer from fluxd for {route}: {snippet!r} ({exc})"
            ) from exc
        return value


def error_body(data: dict[str, Any]) -> ErrorBody | None:
    """An error answer's parsed JSON as ``ErrorBody``; None if it does not fit."""
    try:
        return msgspec.convert(data, ErrorBody)
    except msgspec.ValidationError:
        return None


def to_plain(value: Any) -> Any:
    """JSON-ready data, key for key what fluxd's models dump (``-o json``, request bodies)."""
    if isinstance(value, Wire):
        fields = {name: to_plain(getattr(value, name)) for name in value.__struct_fields__}
        return value.dump_fields(fields)
    if isinstance(value, list):
        return [to_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: to_plain(item) for key, item in value.items()}
    return value

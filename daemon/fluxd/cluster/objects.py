"""The values the cluster layer takes and gives back.

``ApplyItem`` is what the apply engine needs from a manifest, so this
package does not depend on how manifests are loaded. Every value names its
object by one ``ObjectRef``. Everything returned is a frozen dataclass of plain
values: no client objects and no ``Any`` leave ``fluxd.cluster``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from fluxids import ObjectRef

IGNORE_ANNOTATION = "fluxcd.io/ignore"
RECREATE_ANNOTATION = "fluxcd.io/recreate"
#: Values of ``fluxcd.io/ignore`` on a live object that keep it from GC.
IGNORE_VALUES = frozenset({"true", "sync_only"})


class ApplyItem(Protocol):
    """One object to apply. ``body`` is sent as it is, GC marks included."""

    @property
    def ref(self) -> ObjectRef:
        """Which object, with its apiVersion; namespace "" when cluster-scoped."""
        ...

    @property
    def source(self) -> str:
        """The file in the repo the object came from."""
        ...

    @property
    def body(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True, slots=True)
class ApplyObject:
    """A ready-made ``ApplyItem`` for callers that build bodies themselves."""

    ref: ObjectRef
    source: str
    body: Mapping[str, Any]


class Result(StrEnum):
    APPLIED = "applied"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ApplyOutcome:
    """What became of one object; after success, what the API server recorded."""

    ref: ObjectRef
    source: str
    result: Result
    error: str = ""
    resource_version: str = ""
    generation: int | None = None
    uid: str = ""
    #: The failure may pass by itself (the API server was away or overloaded).
    transient: bool = False

    @property
    def id(self) -> str:
        return str(self.ref)

    @property
    def applied(self) -> bool:
        return self.result is Result.APPLIED


@dataclass(frozen=True, slots=True)
class InventoryEntry:
    """One object fluxd applied: how to find it, whose it is, what we last saw of it.

    ``mark`` is the value of its ``fluxcd.io/sync-gc-mark`` label and
    ``checksum`` the manifest checksum we applied; ``generation`` and
    ``resource_version`` come from the API server's answer to that apply.
    """

    ref: ObjectRef
    mark: str = ""
    checksum: str = ""
    generation: int | None = None
    resource_version: str = ""

    @property
    def id(self) -> str:
        return str(self.ref)

    @classmethod
    def from_outcome(cls, outcome: ApplyOutcome, *, mark: str, checksum: str) -> InventoryEntry:
        """The entry for an object just applied."""
        return cls(
            ref=outcome.ref,
            mark=mark,
            checksum=checksum,
            generation=outcome.generation,
            resource_version=outcome.resource_version,
        )

"""What one sync pass did, as data: the loop logs it, the API serves it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ResourceFailure:
    """One object (or file) that could not be applied: Flux v1's ResourceError."""

    id: str  # "namespace:kind/name"; "" for a file that could not be loaded
    source: str  # repo-relative path
    error: str


@dataclass(frozen=True, slots=True)
class SyncResult:
    revision: str
    started_at: float  # wall-clock seconds
    duration: float
    applied: int = 0
    unchanged: int = 0
    drifted: int = 0
    failures: tuple[ResourceFailure, ...] = ()
    deleted: tuple[str, ...] = ()
    #: Why garbage collection did not run this pass ("" when it ran or is off).
    gc_skipped: str = ""
    #: Ids of every object git asked for in this pass (for the API's listings).
    desired: frozenset[str] = field(default_factory=frozenset)

    @property
    def success(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        return (
            f"revision={self.revision[:7]} applied={self.applied} unchanged={self.unchanged} "
            f"drifted={self.drifted} failed={len(self.failures)} deleted={len(self.deleted)} "
            f"took={self.duration:.2f}s"
        )

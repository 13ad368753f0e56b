"""What one sync pass did, as data: the loop logs it, the API serves it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ResourceFailure:
    """One object (or file) that could not be applied: Flux v1's ResourceError."""

    id: str  # "namespace:kind/name"; "" for a file that could not be loaded
    source: str  # repo-relative path
    error: str
    #: The cause may pass by itself (API server away or overloaded): retried within seconds.
    transient: bool = False
    #: Where in ``source`` the object (or the problem) is, 1-based; None when unknown.
    line: int | None = None


@dataclass(frozen=True, slots=True)
class GcHold:
    """Deletions the guard held back (``fluxd.sync.guard``), and what to do."""

    reason: str
    deletions: tuple[str, ...]
    inventory: int
    help: str


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
    #: Garbage the deletion guard held back, waiting for approval.
    gc_hold: GcHold | None = None
    #: The last applied revision when HEAD does not descend from it ("" otherwise).
    rewritten_from: str = ""
    #: ``--sync-timeout`` passed before every object was sent.
    timed_out: bool = False

    @property
    def success(self) -> bool:
        return not self.failures

    @property
    def needs_retry(self) -> bool:
        """The pass stopped for a passing reason; the loop retries it within seconds."""
        return self.timed_out or any(f.transient for f in self.failures)

    def summary(self) -> str:
        held = len(self.gc_hold.deletions) if self.gc_hold is not None else 0
        return (
            f"revision={self.revision[:7]} applied={self.applied} unchanged={self.unchanged} "
            f"drifted={self.drifted} failed={len(self.failures)} deleted={len(self.deleted)} "
            f"held={held} timed-out={str(self.timed_out).lower()} took={self.duration:.2f}s"
        )

"""Jobs of the Flux v1 API: today only "sync" (fetch, then report HEAD).

Statuses live in memory, the newest 100, like Flux v1's status cache.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from enum import StrEnum

KEEP = 100


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FAILED = "failed"
    SUCCEEDED = "succeeded"


@dataclass
class Job:
    id: str
    state: JobState = JobState.QUEUED
    revision: str = ""
    error: str = ""
    spec: dict[str, object] = field(default_factory=dict)


class JobRing:
    """The newest jobs by ID; older ones fall off."""

    def __init__(self, keep: int = KEEP) -> None:
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._keep = keep

    def new(self, spec: dict[str, object]) -> Job:
        job = Job(id=str(uuid.uuid4()), spec=spec)
        self._jobs[job.id] = job
        while len(self._jobs) > self._keep:
            self._jobs.popitem(last=False)
        return job

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

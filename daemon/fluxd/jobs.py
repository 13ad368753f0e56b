"""Jobs of the Flux v1 API: "sync", and the ones that write to git ("image", "policy").

Statuses live in memory, the newest 100, like Flux v1's status cache. Jobs
that write run one at a time, in the order they came, like Flux v1's queue:
two releases never race each other for the branch. A sync job does not wait
for them (it only fetches).

``JobRunner.start_update`` queues a write job and returns its ID at once;
``JobRunner.plan`` runs a release plan now (Flux v1 answered plans within
the request). ``JobRunner.release_containers`` runs automation's
updates as one write job ("auto"), in turn with the others. The git work
itself is ``fluxd.writeback.GitWriter``'s.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from fluxd.errors import FluxError, MissingError, UserError
from fluxd.writeback import (
    Cause,
    GitWriter,
    JobFailed,
    Outcome,
    PolicyChange,
    ReleaseSpec,
    Results,
    failure_summary,
)
from fluxids import ObjectRef

__all__ = ["KEEP", "Job", "JobRing", "JobRunner", "JobState", "UpdateRequest"]

log = logging.getLogger(__name__)

KEEP = 100
#: The user of automated releases' jobs, as Flux v1 named it.
AUTOMATED = "<automated>"


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FAILED = "failed"
    SUCCEEDED = "succeeded"


@dataclass(frozen=True, slots=True)
class UpdateRequest:
    """A checked ``POST /v9/update-manifests`` of type image or policy."""

    cause: Cause
    release: ReleaseSpec | None = None
    policies: Mapping[ObjectRef, PolicyChange] | None = None

    def wire(self) -> dict[str, Any]:
        """The spec as Flux v1 echoed it in the job status."""
        cause = {"Message": self.cause.message, "User": self.cause.user}
        if self.release is not None:
            return {"type": "image", "cause": cause, "spec": self.release.wire()}
        policies = {str(w): c.wire() for w, c in (self.policies or {}).items()}
        return {"type": "policy", "cause": cause, "spec": policies}


@dataclass
class Job:
    id: str
    state: JobState = JobState.QUEUED
    revision: str = ""
    error: str = ""
    spec: dict[str, object] = field(default_factory=dict)
    #: Per workload, for jobs that write (None for sync jobs).
    results: Results | None = None


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


class LoopView(Protocol):
    async def refresh_now(self) -> str: ...

    async def sync_now(self, *, full: bool = True) -> None: ...

    def ask_for_fetch(self) -> None: ...


class JobRunner:
    """Queues, runs and remembers jobs."""

    def __init__(
        self, loop: LoopView, writer: GitWriter | None, repo_ready: Callable[[], str | None]
    ) -> None:
        self._loop = loop
        self._writer = writer
        #: None when the repo is ready, else why not.
        self._repo_ready = repo_ready
        self.ring = JobRing()
        self._write_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    def get(self, job_id: str) -> Job:
        job = self.ring.get(job_id)
        if job is None:
            raise MissingError(
                f"unknown job {job_id!r}",
                help="Jobs are kept in memory (the newest 100) and lost when fluxd restarts.",
            )
        return job

    def start_sync(self) -> str:
        job = self.ring.new({"type": "sync"})
        self._spawn(self._run(job, lambda: self._sync(job)))
        return job.id

    def start_update(self, request: UpdateRequest) -> str:
        job = self.ring.new(request.wire())
        self._spawn(self._run(job, lambda: self._write(job, request), serial=True))
        return job.id

    async def release_containers(
        self, targets: Mapping[ObjectRef, Mapping[str, str]], message: str
    ) -> Job:
        """Commit automation's image updates as one job, in turn with the other writes."""
        cause = Cause(message, AUTOMATED)
        changes = [
            {"WorkloadID": str(w), "Container": c, "ImageID": image}
            for w, images in sorted(targets.items(), key=lambda item: str(item[0]))
            for c, image in sorted(images.items())
        ]
        cause_wire = {"Message": cause.message, "User": cause.user}
        job = self.ring.new({"type": "auto", "cause": cause_wire, "spec": {"Changes": changes}})

        async def work() -> None:
            writer = self._writable()
            outcome = await asyncio.to_thread(writer.release_containers, targets, message, cause)
            self._finish(job, outcome)

        await self._run(job, work, serial=True)
        return job

    async def plan(self, request: UpdateRequest) -> str:
        """Run a release plan within the request; a failure is the request's error."""
        job = self.ring.new(request.wire())
        await self._run(job, lambda: self._write(job, request), serial=True)
        if job.state is JobState.FAILED:
            raise UserError(job.error)
        return job.id

    def _spawn(self, work: Awaitable[None]) -> None:
        async def run() -> None:
            await work

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(
        self, job: Job, work: Callable[[], Awaitable[None]], *, serial: bool = False
    ) -> None:
        if serial:
            async with self._write_lock:
                await self._run(job, work)
            return
        job.state = JobState.RUNNING
        try:
            await work()
            job.state = JobState.SUCCEEDED
        except Exception as exc:
            # fluxctl gets the text; the log keeps the cause (and a crash's traceback).
            if isinstance(exc, FluxError):
                log.warning("event=job-failed job=%s error=%r", job.id, str(exc))
            else:
                log.exception("event=job-crashed job=%s", job.id)
            if isinstance(exc, JobFailed):
                job.results = exc.results
            job.error = str(exc)
            job.state = JobState.FAILED

    async def _sync(self, job: Job) -> None:
        job_error = self._repo_ready()
        if job_error is not None:
            raise UserError(f"git repo not ready: {job_error}")
        job.revision = await self._loop.refresh_now()
        # Unlike Flux v1, run a pass even when HEAD did not move, so a manual
        # sync also corrects drift at once (and applies approved deletions);
        # the job ends with that pass, so fluxctl then reads its result.
        await self._loop.sync_now(full=True)

    def _writable(self) -> GitWriter:
        writer = self._writer
        if writer is None:
            raise UserError("git repo has no URL configured", help="Start fluxd with --git-url.")
        job_error = self._repo_ready()
        if job_error is not None:
            raise UserError(f"git repo not ready: {job_error}")
        return writer

    async def _write(self, job: Job, request: UpdateRequest) -> None:
        writer = self._writable()
        outcome: Outcome
        if request.release is not None:
            outcome = await asyncio.to_thread(writer.release, request.release, request.cause)
        else:
            outcome = await asyncio.to_thread(
                writer.update_policies, request.policies or {}, request.cause
            )
        self._finish(job, outcome)

    def _finish(self, job: Job, outcome: Outcome) -> None:
        job.revision, job.results = outcome.revision, outcome.results
        summary = failure_summary(outcome.results)
        if summary:
            log.warning("event=job-workloads-failed job=%s error=%r", job.id, summary)
        if outcome.revision:
            log.info("event=job-pushed job=%s revision=%s", job.id, outcome.revision[:7])
            self._loop.ask_for_fetch()

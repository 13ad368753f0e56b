"""Changes to git made by jobs: read the branch head, edit, commit, push, retry.

``GitWriter.release`` and ``GitWriter.update_policies`` are blocking (they
fetch and push); the daemon runs them in a thread, one at a time. Every edit
is checked by reading the edited file back: the object must be exactly what
was there plus the asked change, or nothing is committed.

When upstream moved between fetch and push, the edit is made again on the
new head (at most ``attempts`` times). If upstream changed the very lines
the job changes, or the outcome per workload would now differ, the job
fails with ``WriteConflict`` and nothing is pushed.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from fluxd.cluster import Workload
from fluxd.errors import FluxError, UserError
from fluxd.git import Author, PushConflict
from fluxd.manifests import Resource, ScopeResolver, load
from fluxd.manifests.yamledit import EditError, set_annotations
from fluxd.writeback.conflicts import overlapping_change
from fluxd.writeback.edits import images_in, set_annotations_in_body, set_images_in_body
from fluxd.writeback.images import ChosenTags, ImageSource, NoImageData
from fluxd.writeback.policies import annotation_changes, policy_message
from fluxd.writeback.release import (
    plan_release,
    release_message,
)
from fluxd.writeback.results import Reason, Results, Status, WorkloadResult
from fluxd.writeback.snapshot import RepoPort, Snapshot
from fluxd.writeback.specs import ALL_LATEST, Cause, PolicyChange, ReleaseSpec
from fluxids import ObjectRef

__all__ = [
    "NO_CHANGES",
    "READ_ONLY",
    "GitWriter",
    "JobFailed",
    "Outcome",
    "RepoPort",
    "WriteConflict",
    "WriterSettings",
]

log = logging.getLogger(__name__)

#: Flux v1's texts, which fluxctl users see.
READ_ONLY = "cannot make a working clone of a read-only git repo"
NO_CHANGES = "no changes made in repo"
_AUTHOR = re.compile(r"\s*(.+?)\s*<([^<>]+)>\s*")


class WriteConflict(UserError):
    """Upstream changed what the job was changing; the job gave up without pushing."""

    default_help = "Look at the new commits on the branch, then run the command again."


class WorkloadLister(Protocol):
    def list_workloads(self, namespace: str | None = None) -> list[Workload]: ...


@dataclass(frozen=True, slots=True)
class WriterSettings:
    default_namespace: str = "default"
    readonly: bool = False
    #: --git-set-author: the requesting user becomes the commit's author.
    set_author: bool = False
    #: Appended to every commit message (--git-ci-skip, --git-ci-skip-message).
    message_suffix: str = ""
    attempts: int = 3


@dataclass(frozen=True, slots=True)
class Outcome:
    """A finished job: the commit pushed ("" for none) and the result per workload."""

    revision: str
    results: Results


@dataclass(slots=True)
class _Change:
    results: Results
    #: repo path -> (text at the head, edited text)
    files: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: repo path -> what its objects must read as after the edits
    expected: dict[str, dict[ObjectRef, dict[str, Any]]] = field(default_factory=dict)


class GitWriter:
    """Runs release and policy jobs against the configured branch."""

    def __init__(
        self,
        repo: RepoPort,
        cluster: WorkloadLister,
        *,
        scope: ScopeResolver,
        settings: WriterSettings,
        images: ImageSource | None = None,
    ) -> None:
        self._repo = repo
        self._cluster = cluster
        self._scope = scope
        self._settings = settings
        self._images = images or NoImageData()

    def release(self, spec: ReleaseSpec, cause: Cause) -> Outcome:
        """Plan (no commit) or execute a release; ``FluxError`` when it fails."""
        self._check_writable()
        running = {ObjectRef.parse(w.id): w for w in self._cluster.list_workloads(None)}

        def compute(snapshot: Snapshot) -> _Change:
            updates, results = plan_release(spec, snapshot.workloads, running, self._images)
            for workload in snapshot.duplicated & _named(spec):
                results[workload] = _duplicate(workload)
            change = _Change(results)
            for update in updates:
                self._edit(
                    snapshot,
                    change,
                    update.resource,
                    partial(images_in, update=update, namespace=self._settings.default_namespace),
                    partial(set_images_in_body, updates=update.containers),
                )
            return change

        message = cause.message or release_message(spec)
        return self._run(compute, message, cause, commit=spec.kind == "execute", required=True)

    def release_containers(
        self, targets: Mapping[ObjectRef, Mapping[str, str]], message: str, cause: Cause
    ) -> Outcome:
        """Move containers to the given images, all in one commit (automated releases).

        ``targets`` maps a workload to container name -> image. Each workload
        goes through the release rules, so one locked or ignored since is
        skipped; nothing to change (git has the images already) is no commit
        and no error.
        """
        self._check_writable()
        running = {ObjectRef.parse(w.id): w for w in self._cluster.list_workloads(None)}

        def compute(snapshot: Snapshot) -> _Change:
            change = _Change({})
            for workload, images in sorted(targets.items(), key=lambda item: str(item[0])):
                spec = ReleaseSpec((str(workload),), ALL_LATEST)
                chosen = ChosenTags(images)
                updates, results = plan_release(spec, snapshot.workloads, running, chosen)
                change.results[workload] = results[workload]
                for update in updates:
                    self._edit(
                        snapshot,
                        change,
                        update.resource,
                        partial(
                            images_in, update=update, namespace=self._settings.default_namespace
                        ),
                        partial(set_images_in_body, updates=update.containers),
                    )
            return change

        return self._run(compute, message, cause, commit=True, required=False)

    def update_policies(self, updates: Mapping[ObjectRef, PolicyChange], cause: Cause) -> Outcome:
        """Add and remove policy annotations; no commit when nothing changed."""
        self._check_writable()
        namespace = self._settings.default_namespace

        def compute(snapshot: Snapshot) -> _Change:
            change = _Change({})
            for workload, policy in sorted(updates.items(), key=lambda item: str(item[0])):
                resource = snapshot.workloads.get(workload)
                if resource is None:
                    change.results[workload] = (
                        _duplicate(workload)
                        if workload in snapshot.duplicated
                        else WorkloadResult(Status.SKIPPED, Reason.NOT_IN_REPO)
                    )
                    continue
                wanted = annotation_changes(resource, policy)
                self._edit(
                    snapshot,
                    change,
                    resource,
                    partial(
                        set_annotations,
                        workload=workload,
                        changes=wanted,
                        default_namespace=namespace,
                    ),
                    partial(set_annotations_in_body, changes=wanted),
                )
            return change

        message = policy_message(updates, cause)
        return self._run(compute, message, cause, commit=True, required=False)

    # --- the fetch-edit-push loop -----------------------------------------------

    def _run(
        self,
        compute: Callable[[Snapshot], _Change],
        message: str,
        cause: Cause,
        *,
        commit: bool,
        required: bool,
    ) -> Outcome:
        snapshot = self._snapshot()
        change = compute(snapshot)
        if not commit:
            return Outcome("", change.results)
        for attempt in range(1, self._settings.attempts + 1):
            files = {p: new.encode() for p, (old, new) in change.files.items() if new != old}
            if not files:
                if required:
                    raise JobFailed(NO_CHANGES, change.results)
                return Outcome("", change.results)
            try:
                revision = self._repo.commit_and_push(
                    snapshot.head,
                    files,
                    message=message + self._settings.message_suffix,
                    author=self._author(cause),
                )
                return Outcome(revision, change.results)
            except PushConflict as exc:
                log.info("event=push-conflict attempt=%d error=%r", attempt, str(exc))
                snapshot, change = self._redo(compute, snapshot, change)
        raise WriteConflict(
            f"the branch kept moving: {self._settings.attempts} pushes were overtaken; "
            "nothing was pushed"
        )

    def _redo(
        self, compute: Callable[[Snapshot], _Change], before: Snapshot, change: _Change
    ) -> tuple[Snapshot, _Change]:
        after = self._snapshot()
        again = compute(after)
        for path, (old, ours) in change.files.items():
            theirs = after.text(path) if path in again.files or _has(after, path) else ""
            if overlapping_change(old, ours, theirs):
                raise WriteConflict(
                    f"{path} was changed upstream ({after.head[:7]}) in the lines this job "
                    "changes; nothing was pushed"
                )
        if again.results != change.results:
            raise WriteConflict(
                f"the manifests changed upstream ({after.head[:7]}) in a way that changes "
                "what this job would do; nothing was pushed"
            )
        return after, again

    def _snapshot(self) -> Snapshot:
        head = self._repo.refresh()
        return Snapshot(self._repo, head, self._scope, self._settings.default_namespace)

    def _edit(
        self,
        snapshot: Snapshot,
        change: _Change,
        resource: Resource,
        edit: Callable[[str], str],
        expect: Callable[[dict[str, Any]], None],
    ) -> None:
        """Edit ``resource``'s file; record success, skip (no change) or failure."""
        path = resource.source
        old, current = change.files.get(path) or (snapshot.text(path),) * 2
        expected = change.expected.get(path) or copy.deepcopy(snapshot.by_path[path])
        try:
            edited = edit(current)
        except EditError as exc:
            change.results[resource.ref] = WorkloadResult(Status.FAILED, f"{path}: {exc}")
            return
        expect(expected[resource.ref])
        self._verify(path, edited, expected)
        change.files[path], change.expected[path] = (old, edited), expected
        if (
            resource.ref not in change.results
            or change.results[resource.ref].status is Status.SKIPPED
        ):
            status = Status.SKIPPED if edited == current else Status.SUCCESS
            change.results.setdefault(resource.ref, WorkloadResult(status))

    def _verify(
        self, path: str, edited: str, expected: Mapping[ObjectRef, Mapping[str, Any]]
    ) -> None:
        """Read the edited file back: its objects must be exactly the expected ones."""
        loaded = load(
            {path: edited.encode()},
            {},
            scope=self._scope,
            default_namespace=self._settings.default_namespace,
        )
        found = {r.ref: dict(r.body) for r in loaded.resources}
        if loaded.errors or found != expected:
            raise FluxError(
                f"editing {path} would have changed more than asked; nothing was committed",
                help="Please report this with the file: fluxd refused a faulty edit.",
            )

    def _check_writable(self) -> None:
        if self._settings.readonly:
            raise UserError(READ_ONLY, help="fluxd was started with --git-readonly.")

    def _author(self, cause: Cause) -> Author | None:
        match = _AUTHOR.fullmatch(cause.user) if self._settings.set_author else None
        return Author(match.group(1), match.group(2)) if match else None


class JobFailed(FluxError):
    """A job that failed but has results to show (Flux v1 returned none)."""

    def __init__(self, message: str, results: Results) -> None:
        super().__init__(message, help="Nothing was committed.")
        self.results = results


def _named(spec: ReleaseSpec) -> set[ObjectRef]:
    return set() if spec.all_workloads else {ObjectRef.parse(w) for w in spec.workloads}


def _duplicate(workload: ObjectRef) -> WorkloadResult:
    return WorkloadResult(
        Status.FAILED, f"duplicate definition of '{workload}' in the repository: not edited"
    )


def _has(snapshot: Snapshot, path: str) -> bool:
    try:
        snapshot.text(path)
    except KeyError:
        return False
    return True

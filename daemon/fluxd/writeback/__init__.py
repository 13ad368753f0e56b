"""Changes to git asked for through the API: releases and policy updates.

Flux v1's write side. A job reads the branch head from the mirror, works out
per workload what to change (``release``: container images; ``policies``:
annotations), edits the files in place (``fluxd.manifests.yamledit``),
checks the edit by reading it back, commits as --git-user/--git-email and
pushes; a branch that moved meanwhile means the edit is made again on the
new head, unless upstream changed the same lines.

    specs      the wire specs, checked: ReleaseSpec, PolicyChange, Cause
    imagerefs  image names as Flux v1 compared them; tag filters
    semver     semver: tag filter constraints
    images     ImageSource: which tags exist (NoImageData; ChosenTags for automation)
    scanned    ScannedImages: the registry scan as an ImageSource
    release    plan_release(): which workloads change, to what
    policies   annotation edits for policy changes; commit messages
    results    per-workload results and their JSON
    conflicts  whether two edits of one file touch the same lines
    snapshot   the manifests at one head; RepoPort, what a job needs of git
    edits      what an edit must do to the parsed object (the read-back check)
    writer     GitWriter: fetch, edit, verify, commit, push, retry
"""

from fluxd.writeback.images import ImageSource, NoImageData
from fluxd.writeback.results import (
    ContainerUpdate,
    Results,
    Status,
    WorkloadResult,
    failure_summary,
    results_wire,
)
from fluxd.writeback.specs import (
    ALL_LATEST,
    ALL_WORKLOADS,
    Cause,
    PolicyChange,
    ReleaseSpec,
    parse_policy_updates,
    parse_release,
)
from fluxd.writeback.writer import (
    NO_CHANGES,
    READ_ONLY,
    GitWriter,
    JobFailed,
    Outcome,
    WriteConflict,
    WriterSettings,
)

__all__ = [
    "ALL_LATEST",
    "ALL_WORKLOADS",
    "NO_CHANGES",
    "READ_ONLY",
    "Cause",
    "ContainerUpdate",
    "GitWriter",
    "ImageSource",
    "JobFailed",
    "NoImageData",
    "Outcome",
    "PolicyChange",
    "ReleaseSpec",
    "Results",
    "Status",
    "WorkloadResult",
    "WriteConflict",
    "WriterSettings",
    "failure_summary",
    "parse_policy_updates",
    "parse_release",
    "results_wire",
]

"""``GET /v11/status`` and ``POST /v11/diff``: the status summary and ``fluxctl diff``.

A ``--from-dir`` diff sends the files in the request body; fluxd never reads
a path the client names, since fluxd runs in a pod and a path would be one
on fluxd's disk, not the user's. The body is read with a cap before it is
decoded (``16 x --manifest-max-file-size`` in all, ``MAX_DIFF_FILES``
files), and each file is then read with the limits of a file in git.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import ValidationError

from fluxd.api import convert, models
from fluxd.api.errors import BadRequest
from fluxd.api.port import StatusPort
from fluxd.quantities import FILE_SIZE_FLAG, format_byte_size
from fluxd.settings import ManifestSettings
from fluxd.views import Action, DiffReport, StatusView, SyncResult

__all__ = ["MAX_DIFF_FILES", "diff_body_limit", "status_report", "status_router"]

MAX_DIFF_FILES = 10_000
_MAX_PATH = 1024


class TooLarge(BadRequest):
    status = 413


class Unsupported(BadRequest):
    status = 415
    default_help = "Send the diff request as JSON (Content-Type: application/json)."


def diff_body_limit(limits: ManifestSettings) -> int:
    """Bytes one diff request may carry."""
    return 16 * limits.max_file_size


def status_router(status: StatusPort, limits: ManifestSettings) -> APIRouter:
    """The two routes, bound to ``status`` (behind the token, if any)."""
    router = APIRouter(prefix=models.API_PREFIX, tags=["status and diff"])

    @router.get("/v11/status")
    async def get_status() -> models.StatusReport:
        return status_report(await asyncio.to_thread(status.status))

    @router.post("/v11/diff")
    async def post_diff(request: Request) -> models.DiffResult:
        # The body is read by hand (to cap it), so the JSON-only rule that
        # keeps cross-site pages out is checked here too (see JsonBodyDefault).
        media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media != "application/json":
            raise Unsupported(f"request body of /v11/diff: {media or 'no'} content type")
        body = await _read_capped(request, diff_body_limit(limits))
        asked = _diff_request(body)
        files = _files(asked.files) if asked.files is not None else None
        report = await asyncio.to_thread(status.diff, asked.ref, files)
        return diff_result(report)

    return router


async def _read_capped(request: Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(
                f"the diff request is larger than {format_byte_size(limit)}",
                help=f"Diff fewer files, or raise {FILE_SIZE_FLAG} on fluxd (the cap is 16 "
                "times it).",
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _diff_request(body: bytes) -> models.DiffRequest:
    try:
        return models.DiffRequest.model_validate_json(body or b"{}")
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"]) or "body"
        raise BadRequest(f"request body of /v11/diff: {where}: {problem['msg']}") from exc


def _files(files: dict[str, str]) -> dict[str, bytes]:
    if len(files) > MAX_DIFF_FILES:
        raise TooLarge(
            f"the diff request holds {len(files)} files, more than {MAX_DIFF_FILES}",
            help="Diff a smaller directory.",
        )
    for path in files:
        if not path or len(path) > _MAX_PATH or path.startswith("/") or "\x00" in path:
            raise BadRequest(
                f"request body of /v11/diff: file name {path[:100]!r} is not a relative path",
                help="Name files by their path relative to the directory diffed.",
            )
    return {path: text.encode() for path, text in files.items()}


def status_report(view: StatusView) -> models.StatusReport:
    sync = view.last_synced
    gc: Literal["on", "off", "dry-run"] = "off"
    if view.garbage_collection:
        gc = "dry-run" if view.garbage_collection_dry else "on"
    return models.StatusReport(
        version=view.version,
        url=view.remote.url,
        branch=view.remote.branch,
        paths=list(view.remote.paths),
        gitStatus=view.git_status,
        gitError=view.git_error,
        gitHelp=view.git_help,
        lastSync=models.CommitReport(
            revision=sync.revision,
            author=sync.author,
            time=_time(sync.time),
            subject=sync.subject,
        )
        if sync is not None
        else None,
        passes=[pass_report(p) for p in view.passes],
        workloads=[convert.controller_status(w) for w in view.workloads],
        workloadsError=view.workloads_error,
        garbageCollection=gc,
    )


def pass_report(result: SyncResult) -> models.PassReport:
    return models.PassReport(
        revision=result.revision,
        finished=_time(result.started_at + result.duration),
        duration=round(result.duration, 3),
        applied=result.applied,
        unchanged=result.unchanged,
        drifted=result.drifted,
        deleted=list(result.deleted),
        failures=[
            models.Failure(id=f.id, file=f.source, line=f.line, error=f.error)
            for f in result.failures
        ],
        gcSkipped=result.gc_skipped,
        gcHeld=convert.gc_hold(result.gc_hold),
        timedOut=result.timed_out,
    )


def diff_result(report: DiffReport) -> models.DiffResult:
    return models.DiffResult(
        revision=report.revision,
        objects=[
            models.ObjectDiff(
                id=c.id, file=c.source, action=c.action.value, diff=c.diff, error=c.error
            )
            for c in report.changes
        ],
        create=report.count(Action.CREATE),
        change=report.count(Action.CHANGE),
        delete=report.count(Action.DELETE),
        unchanged=report.count(Action.UNCHANGED),
        failed=report.count(Action.FAILED),
        notes=list(report.notes),
        garbageCollection=report.garbage_collection,
        duration=round(report.duration, 3),
    )


def _time(timestamp: float | None) -> str:
    if timestamp is None:
        return ""
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

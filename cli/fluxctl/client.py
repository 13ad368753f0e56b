"""The HTTP client of fluxd's API: one typed method per route fluxctl uses.

Requests go through ``fluxctl.transport`` (the standard library's
``http.client``). Transport failures and error answers are turned into
``fluxctl.errors`` here, so commands deal only in wire models and
``CliError``s. Answers are decoded by ``fluxctl.wire``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from fluxctl.errors import CliError, DaemonApiError, DaemonUnreachable, WaitTimeout
from fluxctl.params import format_duration
from fluxctl.transport import (
    Answer,
    ConnectFailed,
    ConnectTimedOut,
    HttpTransport,
    InvalidUrl,
    ReadTimedOut,
    TransportError,
)
from fluxctl.wire import (
    ControllerStatus,
    DiffRequest,
    DiffResult,
    ErrorBody,
    GitConfig,
    ImageStatus,
    JobStatus,
    Shape,
    StatusReport,
    SyncErrors,
    UpdateSpec,
    error_body,
    to_plain,
)

T = TypeVar("T")


_GIT_CONFIG: Shape[GitConfig] = Shape(GitConfig)
_JOB_STATUS: Shape[JobStatus] = Shape(JobStatus)
_SYNC_ERRORS: Shape[SyncErrors] = Shape(SyncErrors)
_STRING: Shape[str] = Shape(str)
_REVISIONS: Shape[list[str] | None] = Shape(list[str] | None)
_WORKLOADS: Shape[list[ControllerStatus] | None] = Shape(list[ControllerStatus] | None)
_IMAGES: Shape[list[ImageStatus] | None] = Shape(list[ImageStatus] | None)
_STATUS: Shape[StatusReport] = Shape(StatusReport)
_DIFF: Shape[DiffResult] = Shape(DiffResult)

_SUCCESS = frozenset({200, 201, 202, 204})
_AUTH_HELP = (
    "Authentication failed: fluxd or a proxy in front of it refused the token. "
    "Check --token (FLUX_SERVICE_TOKEN)."
)


class FluxClient:
    """Calls fluxd's API under ``base_url`` (``.../api/flux``)."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str = "",
        timeout: float = 60.0,
        trust_env: bool = True,
        diagnose: Callable[[], str] | None = None,
        unreachable_hint: str = "",
    ) -> None:
        headers = {"Accept": "application/json", "User-Agent": "fluxctl"}
        if token:
            headers["Authorization"] = f"Scope-Probe token={token}"
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._diagnose = diagnose
        self._unreachable_hint = unreachable_hint or f"Check that fluxd serves {self.base_url}."
        with self._translate("(connecting)"):
            self._http = HttpTransport(
                self.base_url, headers=headers, timeout=timeout, trust_env=trust_env
            )

    def close(self) -> None:
        self._http.close()

    # --- routes ---------------------------------------------------------------

    def git_repo_config(self, *, regenerate: bool = False) -> GitConfig:
        return self._call(_GIT_CONFIG, "POST", "/v9/git-repo-config", payload=regenerate)

    def update_manifests(self, spec: UpdateSpec) -> str:
        body = to_plain(spec)
        return self._call(_STRING, "POST", "/v9/update-manifests", payload=body)

    def job_status(self, job_id: str) -> JobStatus:
        return self._call(_JOB_STATUS, "GET", "/v6/jobs", params={"id": job_id})

    def sync_status(self, ref: str) -> list[str]:
        return self._call(_REVISIONS, "GET", "/v6/sync", params={"ref": ref}) or []

    def sync_errors(self, ref: str) -> SyncErrors | None:
        """Per-resource failures of the pass that applied ``ref``; None from an old daemon."""
        try:
            return self._call(_SYNC_ERRORS, "GET", "/v11/sync-errors", params={"ref": ref})
        except DaemonApiError as exc:
            if exc.status in (404, 405):
                return None
            raise

    def list_workloads(self, namespace: str) -> list[ControllerStatus]:
        params = {"namespace": namespace}
        return self._call(_WORKLOADS, "GET", "/v6/services", params=params) or []

    def list_workloads_by_id(self, ids: list[str]) -> list[ControllerStatus]:
        """``GET /v11/services?services=a,b``: these workloads (all, when ``ids`` is empty)."""
        params = {"namespace": "", "services": ",".join(ids)}
        return self._call(_WORKLOADS, "GET", "/v11/services", params=params) or []

    def export(self) -> bytes:
        """``GET /v6/export``: the cluster's workloads as multi-document YAML."""
        encoded = self._call(_STRING, "GET", "/v6/export")
        try:
            return base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise CliError(f"unexpected answer from fluxd for /v6/export: {exc}") from exc

    def list_images(self, service: str, namespace: str) -> list[ImageStatus]:
        params = {"service": service, "containerFields": "", "namespace": namespace}
        return self._call(_IMAGES, "GET", "/v10/images", params=params) or []

    def version(self) -> str:
        return self._call(_STRING, "GET", "/v11/version")

    def status(self) -> StatusReport:
        return self._call(_STATUS, "GET", "/v11/status")

    def diff(self, request: DiffRequest) -> DiffResult:
        body = to_plain(request)
        return self._call(_DIFF, "POST", "/v11/diff", payload=body)

    @property
    def page_url(self) -> str:
        """The status page: fluxd's root, beside the API."""
        return self.base_url.removesuffix("/api/flux") + "/"

    # --- plumbing -------------------------------------------------------------

    def _call(
        self,
        shape: Shape[T],
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        payload: Any = None,
    ) -> T:
        # As Flux v1's Go client sent it: compact, UTF-8 as is.
        body = None if payload is None else _json_bytes(payload)
        with self._translate(path):
            response = self._http.request(method, path, params=params, body=body)
        if response.status not in _SUCCESS:
            raise _api_error(response, path)
        return _decode(shape, response, path)

    @contextmanager
    def _translate(self, path: str) -> Iterator[None]:
        try:
            yield
        except ConnectTimedOut as exc:
            message = f"connecting to fluxd at {self.base_url} timed out"
            raise self._unreachable(message) from exc
        except ReadTimedOut as exc:
            raise WaitTimeout(
                f"fluxd did not answer {path} within {format_duration(self.timeout)}"
            ) from exc
        except InvalidUrl as exc:
            raise CliError(f"invalid fluxd URL {self.base_url!r}: {exc}") from exc
        except (ConnectFailed, TransportError) as exc:
            raise self._unreachable(f"cannot reach fluxd at {self.base_url}: {exc}") from exc

    def _unreachable(self, message: str) -> DaemonUnreachable:
        detail = self._diagnose() if self._diagnose else ""
        if detail:
            message = f"{message}\n{detail}"
        return DaemonUnreachable(message, hint=self._unreachable_hint)


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _decode(shape: Shape[T], response: Answer, path: str) -> T:
    return shape.decode(response.body, path)


def _api_error(response: Answer, path: str) -> DaemonApiError:
    status = response.status
    body = _error_body(response)
    if body is not None:
        return DaemonApiError(body.error or f"HTTP {status}", help=body.help, status=status)
    if status == 401:
        return DaemonApiError("authentication failed", help=_AUTH_HELP, status=status)
    text = response.text.strip()[:500] or response.reason
    return DaemonApiError(f"{path}: HTTP {status}: {text}", status=status)


def _error_body(response: Answer) -> ErrorBody | None:
    if "json" not in response.content_type:
        return None
    try:
        data = json.loads(response.body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or not ({"error", "help"} & data.keys()):
        return None
    return error_body(data)

"""Turning what the Kubernetes API says into ``ClusterError``.

The API answers a refused request with a ``Status`` object whose ``message``
is written for people (``Deployment.apps "web" is invalid: spec.replicas:
Invalid value: -1: ...``). We keep that text as it is, because it names the
field at fault, and add a help text chosen by the HTTP status saying who has
to act. Transport failures (no route, TLS, timeouts) get status ``None``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fluxd.errors import ClusterError

#: Longest API message we keep; Status messages can quote whole objects.
MAX_MESSAGE = 2000

IMMUTABLE_HELP = (
    "The object changed a field the API does not allow to change in place. Delete it "
    'and let fluxd re-create it, or annotate it fluxcd.io/recreate: "true" in git so '
    "fluxd deletes and re-creates it itself."
)

_HELP_BY_STATUS = {
    400: "The API server could not read the request; check the manifest's syntax.",
    401: (
        "The API server did not accept fluxd's credentials; check the kubeconfig or the "
        "ServiceAccount token mounted into the pod."
    ),
    403: (
        "fluxd's ServiceAccount lacks an RBAC right for this request; grant it in the "
        "ClusterRole (or Role) bound to it, or limit fluxd with --k8s-allow-namespace."
    ),
    404: "The object, its namespace or its kind does not exist in the cluster.",
    409: "Another writer changed the object at the same time; the next sync retries.",
    410: "The listing expired while it was read; the next sync starts it again.",
    415: "The API server does not support server-side apply for this kind.",
    422: "The API server rejected the object as invalid; fix the manifest in git.",
    429: "The API server is throttling requests; fluxd retries the pass within seconds.",
}
_SERVER_HELP = "The API server failed to handle the request; fluxd retries the pass within seconds."
_TRANSPORT_HELP = (
    "fluxd cannot reach the Kubernetes API. Check the API server's address in the "
    "kubeconfig (or the in-cluster service), the network, and TLS certificates."
)

_IMMUTABLE = re.compile(
    r"field is immutable|updates to \w+ spec for fields other than|may not change once set"
)


def is_transient(status: int | None) -> bool:
    """Whether a request that failed with this status may work if sent again soon.

    No answer at all (``None``: refused, reset, timed out), throttling (429)
    and server-side failures (5xx) pass; everything else needs someone to act.
    """
    return status is None or status == 0 or status == 429 or status >= 500


def help_for(status: int | None) -> str:
    """The help text for a failed request with this HTTP status."""
    if status is None or status == 0:
        return _TRANSPORT_HELP
    if status >= 500:
        return _SERVER_HELP
    return _HELP_BY_STATUS.get(status, ClusterError.default_help)


def status_message(body: bytes, status: int, reason: str = "") -> str:
    """The API's own message from a Status body, else something readable."""
    message = ""
    try:
        decoded: Any = json.loads(body)
    except ValueError:
        decoded = None
    if isinstance(decoded, dict):
        message = str(decoded.get("message") or decoded.get("reason") or "")
    if not message:
        text = body.decode("utf-8", "replace").strip()
        message = text or reason or f"HTTP {status}"
    return _truncate(message)


def is_immutable(status: int | None, message: str) -> bool:
    """Whether an apply failed because it changed an immutable field."""
    return status == 422 and _IMMUTABLE.search(message) is not None


def api_error(status: int, body: bytes, *, what: str, reason: str = "") -> ClusterError:
    """A ``ClusterError`` for a non-2xx answer; ``what`` names the request."""
    message = status_message(body, status, reason)
    if is_immutable(status, message):
        return ClusterError(
            f"{what}: immutable field changed: {message}", status=status, help=IMMUTABLE_HELP
        )
    return ClusterError(
        f"{what}: {message}",
        status=status,
        help=help_for(status),
        transient=is_transient(status),
    )


def transport_error(exc: BaseException, *, what: str, host: str) -> ClusterError:
    """A ``ClusterError`` for a request that got no HTTP answer."""
    detail = _truncate(str(exc) or type(exc).__name__)
    status = getattr(exc, "status", None)
    return ClusterError(
        f"{what}: cannot talk to the Kubernetes API at {host}: {detail}",
        status=status if isinstance(status, int) and status > 0 else None,
        help=help_for(None),
        transient=True,
    )


def _truncate(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "..."

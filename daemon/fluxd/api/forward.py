"""Followers hand the leader's requests to the leader, so fluxctl works through any pod.

With leader election on, only the replica holding the Lease syncs, so only
it can run a sync job, know its jobs and its passes' results, or act on a
push. A follower sends such requests on, unchanged (token included), to the
API address the leader put in the Lease, and relays the answer. fluxctl
port-forwards to whichever pod it finds first; it cannot tell the difference.

* Requests only the leader can answer (``LEADER_ONLY``) wait a few seconds
  for a leader when none is known (a replica starting, a takeover), then get
  503 with a help text saying to retry: never a job that pretends to have
  synced.
* Push notifications and listings that read better from the leader
  (``PREFER_LEADER``) fall back to this replica's own answer: a notification
  is only "fetch soon", which this replica does itself once it leads.
* Probes, ``/metrics``, the docs, identity, version and export are always
  this replica's own.

A forwarded request carries ``X-Fluxd-Forwarded-By``; a replica receiving
one answers it itself, so two replicas that disagree about who leads can
never bounce a request between them.
"""

from __future__ import annotations

import asyncio
import logging

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fluxd.api.errors import error_response
from fluxd.api.models import API_PREFIX
from fluxd.api.port import DaemonPort
from fluxd.views import Leadership

__all__ = ["FORWARDED_HEADER", "LeaderForwarding"]

log = logging.getLogger(__name__)

FORWARDED_HEADER = "x-fluxd-forwarded-by"
LEADER_ONLY = frozenset(
    {
        ("POST", f"{API_PREFIX}/v9/update-manifests"),
        ("GET", f"{API_PREFIX}/v6/jobs"),
        ("GET", f"{API_PREFIX}/v6/sync"),
        ("GET", f"{API_PREFIX}/v11/sync-errors"),
        ("POST", f"{API_PREFIX}/v6/identity.pub"),
    }
)
PREFER_LEADER = frozenset(
    {
        ("POST", f"{API_PREFIX}/v11/notify"),
        ("GET", f"{API_PREFIX}/v11/services"),
        ("GET", f"{API_PREFIX}/v6/services"),
        ("POST", f"{API_PREFIX}/v9/git-repo-config"),
        # A standby runs no passes and reads the inventory once: the leader's
        # status and diff are the current ones.
        ("GET", f"{API_PREFIX}/v11/status"),
        ("POST", f"{API_PREFIX}/v11/diff"),
    }
)
#: Hop-by-hop headers and those httpx sets itself.
_DROP = frozenset({"host", "connection", "content-length", "transfer-encoding", "keep-alive"})
_TIMEOUT = httpx.Timeout(30.0, connect=3.0)
#: Request bodies are small (webhooks, the largest, are capped at 5 MiB by the hook route).
_MAX_BODY = 6 * 1024 * 1024
#: How long a request only the leader answers waits for one to be known.
LEADER_WAIT = 5.0
_LOOK_EVERY = 0.1


def _kind(method: str, path: str) -> str:
    """Whether only the leader answers ("only"), the leader is preferred ("prefer"),
    or this replica answers ("")."""
    if (method, path) in LEADER_ONLY:
        return "only"
    if (method, path) in PREFER_LEADER or (method == "POST" and path.startswith("/hook/")):
        return "prefer"
    return ""


class LeaderForwarding:
    """ASGI middleware: see the module docstring."""

    def __init__(self, app: ASGIApp, *, daemon: DaemonPort) -> None:
        self._app = app
        self._daemon = daemon
        self._client = httpx.AsyncClient(timeout=_TIMEOUT)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        kind = _kind(scope["method"], scope["path"])
        headers = {k.decode("latin-1").lower(): v for k, v in scope["headers"]}
        if not kind or FORWARDED_HEADER in headers:
            await self._app(scope, receive, send)
            return
        leadership = await self._leadership(wait=kind == "only")
        if leadership.leading:
            await self._app(scope, receive, send)
            return
        body = await _read_body(receive)
        if leadership.leader_address:
            answer = await self._forward(scope, body, leadership.leader_address)
            if answer is not None:
                await answer(scope, _replay(body), send)
                return
        if kind == "prefer":
            await self._app(scope, _replay(body), send)
            return
        response = error_response(
            503,
            "server",
            "this fluxd replica does not sync, and no leader is reachable right now",
            "Another replica takes over within the lease duration "
            "(--leader-elect-lease-duration); try again in a few seconds.",
            headers={"Retry-After": "5"},
        )
        await response(scope, _replay(body), send)

    async def _leadership(self, *, wait: bool) -> Leadership:
        """Who leads; when ``wait``, give a starting or changing election a moment."""
        leadership = self._daemon.leadership()
        waited = 0.0
        while wait and not leadership.leading and not leadership.leader_address:
            if waited >= LEADER_WAIT:
                break
            await asyncio.sleep(_LOOK_EVERY)
            waited += _LOOK_EVERY
            leadership = self._daemon.leadership()
        return leadership

    async def _forward(self, scope: Scope, body: bytes, address: str) -> _Relayed | None:
        query = scope.get("query_string", b"").decode("latin-1")
        url = f"http://{address}{scope['path']}" + (f"?{query}" if query else "")
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in scope["headers"]
            if k.decode("latin-1").lower() not in _DROP
        ]
        headers.append((FORWARDED_HEADER, self._daemon.leadership().identity or "follower"))
        try:
            answer = await self._client.request(scope["method"], url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("event=forward-failed leader=%s error=%r", address, str(exc))
            return None
        return _Relayed(answer.status_code, answer.headers.multi_items(), answer.content)


class _Relayed:
    """The leader's answer, sent on as it came."""

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self._status = status
        self._headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1"))
            for k, v in headers
            if k.lower() not in _DROP and k.lower() != "content-encoding"
        ]
        self._headers.append((b"content-length", str(len(body)).encode()))
        self._body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = {"type": "http.response.start", "status": self._status, "headers": self._headers}
        await send(start)
        await send({"type": "http.response.body", "body": self._body})


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = bytes(message.get("body", b""))
        size += len(chunk)
        if size > _MAX_BODY:
            break  # the route's own limit answers it (the replay stops here)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    """A ``receive`` that gives the body read already, once."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive

"""A stand-in fluxd for fluxctl's tests: a real HTTP server on 127.0.0.1.

It answers the Flux v1 routes with recorded Flux v1 answers (the JSON files
of ``tests/fixtures/fluxv1/``, shared with the daemon's API tests; the
``cli-*`` ones add cases only fluxctl needs), records every request, and lets a test script
the answers of one route as a sequence (the last answer repeats), e.g. a job
that is ``running`` twice and then ``succeeded``.
"""

from __future__ import annotations

import asyncio
import copy
import json
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "fluxv1"


def fixture(name: str) -> Any:
    """A recorded Flux v1 answer (a fresh copy that a test may change)."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@dataclass
class Reply:
    body: Any = None
    status: int = 200
    #: When given, the reply waits until it is set (a daemon slow to answer).
    hold: threading.Event | None = None


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]


def default_replies() -> dict[str, list[Reply]]:
    """A ready daemon whose sync of HEAD applies cleanly at once."""
    clean = fixture("sync-errors.json")
    clean["errors"] = []
    return {
        "POST /v9/git-repo-config": [Reply(fixture("git-repo-config.json"))],
        "POST /v9/update-manifests": [Reply(fixture("update-manifests.json"))],
        "GET /v6/jobs": [Reply(fixture("jobs-succeeded.json"))],
        "GET /v6/sync": [Reply(fixture("sync-done.json"))],
        "GET /v11/sync-errors": [Reply(clean)],
        "GET /v6/services": [Reply(fixture("services.json"))],
        "GET /v10/images": [Reply(fixture("images.json"))],
        "GET /v11/version": [Reply(fixture("version.json"))],
    }


@dataclass
class FakeDaemon:
    """The scripted state of the server; ``url`` ends in ``/api/flux``."""

    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    replies: dict[str, list[Reply]] = field(default_factory=default_replies)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.replies = default_replies()

    def script(self, route: str, *replies: Reply | Any) -> None:
        """Answer ``route`` ("GET /v6/sync") with these, in order; the last repeats."""
        queue = [r if isinstance(r, Reply) else Reply(r) for r in replies]
        with self._lock:
            self.replies[route] = queue

    def calls(self, route: str) -> list[Recorded]:
        method, path = route.split(" ", 1)
        return [r for r in self.requests if r.method == method and r.path == path]

    def next_reply(self, route: str) -> Reply | None:
        with self._lock:
            queue = self.replies.get(route)
            if not queue:
                return None
            reply = queue[0] if len(queue) == 1 else queue.pop(0)
            # A fresh body each time; the hold is shared, it is how a test releases it.
            return Reply(copy.deepcopy(reply.body), reply.status, reply.hold)

    async def handle(self, request: Request) -> Response:
        path = "/" + request.path_params["path"]
        raw = await request.body()
        with self._lock:
            self.requests.append(
                Recorded(
                    request.method,
                    path,
                    dict(request.query_params),
                    json.loads(raw) if raw else None,
                    dict(request.headers),
                )
            )
        reply = self.next_reply(f"{request.method} {path}")
        if reply is None:
            # What Flux v1 answered for a route it did not have.
            body = {
                "type": "missing",
                "help": f"API endpoint not found: {path}",
                "error": "API endpoint not found",
            }
            return JSONResponse(body, status_code=404)
        if reply.hold is not None:
            await asyncio.to_thread(reply.hold.wait, 30)
        if reply.status == 204:
            return Response(status_code=204)
        return JSONResponse(reply.body, status_code=reply.status)


def build_app(daemon: FakeDaemon) -> Starlette:
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
    return Starlette(routes=[Route("/api/flux/{path:path}", daemon.handle, methods=methods)])


class _ReportingServer(uvicorn.Server):
    """uvicorn that says when it listens, so starting waits on an event."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.up = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.up.set()


class Server:
    """uvicorn serving an app in a thread, on a random port of 127.0.0.1."""

    def __init__(self, app: Starlette) -> None:
        # IPPROTO_TCP explicitly: asyncio turns Nagle off only on sockets whose
        # proto says TCP, and with Nagle on, uvicorn's separate header and body
        # writes cost a 40 ms delayed-ACK stall on every keep-alive request.
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(
            app, log_level="warning", lifespan="off", ws="none", http="h11", access_log=False
        )
        self._server = _ReportingServer(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def start(self) -> Server:
        self._thread.start()
        if not self._server.up.wait(timeout=10):
            raise RuntimeError("the fake fluxd did not start")
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

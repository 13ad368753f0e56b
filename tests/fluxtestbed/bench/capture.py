"""fluxd's own apply requests, recorded on their way to the API server.

The ceiling client must send exactly what fluxd sends: the same paths and
query strings, headers and bodies. Rather than rebuild them from fluxd's
code (which changes), one fluxd pass is run through this recorder: a plain
HTTP listener on 127.0.0.1 that forwards every request to the API server
(with the admin client certificate) and writes each server-side-apply PATCH
to a JSON-lines file, byte for byte. The recorded pass is not measured.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import yaml

from fluxtestbed.bench.api import APPLY_PATCH, Endpoint

#: Headers that belong to the connection or the credentials, not to the request.
_DROP = frozenset({"host", "content-length", "connection", "authorization", "keep-alive"})


class _Recorder(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, endpoint: Endpoint, out: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.client = httpx.Client(base_url=endpoint.server, verify=endpoint.ssl, timeout=60)
        self.out = out.open("w")
        self.lock = threading.Lock()
        self.recorded = 0

    def record(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.out.write(json.dumps(entry) + "\n")
            self.recorded += 1


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Recorder

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request would drown the bench's output

    def _forward(self) -> None:
        size = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(size) if size else b""
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _DROP}
        if self.command == "PATCH" and headers.get("Content-Type", "").startswith(APPLY_PATCH):
            entry = {"method": "PATCH", "path": self.path, "headers": headers}
            self.server.record(entry | {"body": body.decode()})
        resp = self.server.client.request(self.command, self.path, content=body, headers=headers)
        self.send_response(resp.status_code)
        for key in ("Content-Type", "Retry-After", "Audit-Id"):
            if key in resp.headers:
                self.send_header(key, resp.headers[key])
        self.send_header("Content-Length", str(len(resp.content)))
        self.end_headers()
        self.wfile.write(resp.content)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward


@contextmanager
def recording(endpoint: Endpoint, out: Path) -> Iterator[Path]:
    """Run the recorder; yield a kubeconfig that sends a client through it."""
    server = _Recorder(endpoint, out)
    thread = threading.Thread(target=server.serve_forever, name="capture", daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    kubeconfig = out.with_suffix(".kubeconfig")
    kubeconfig.write_text(yaml.safe_dump(_kubeconfig(f"http://{host!s}:{port}")))
    try:
        yield kubeconfig
    finally:
        server.shutdown()
        server.server_close()
        server.client.close()
        server.out.close()


def _kubeconfig(server: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "recorder", "cluster": {"server": server}}],
        "users": [{"name": "recorded", "user": {}}],
        "contexts": [{"name": "recorder", "context": {"cluster": "recorder", "user": "recorded"}}],
        "current-context": "recorder",
    }


def recorded_count(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.strip())

"""An in-memory registry behind httpx.MockTransport, for the scanner's unit tests.

It speaks the registry API's read side (tags, manifests, blobs), with a
Bearer token service or Basic auth when asked, and can be told to answer
429 or 500; it counts what it was asked. The integration tests use the real
distribution registry instead.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from fluxd.ratelimit import RateLimiter
from fluxd.registry import Credentials, RegistryClient
from fluxd.registry.manifests import DOCKER_MANIFEST, OCI_INDEX

HOST = "registry.test:5000"
TOKEN = "t0ken"


def digest(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


@dataclass
class FakeRegistry:
    auth: str = ""  # "", "bearer" or "basic"
    user: tuple[str, str] = ("alice", "secret")
    blobs: dict[str, bytes] = field(default_factory=dict)
    manifests: dict[tuple[str, str], tuple[str, bytes]] = field(default_factory=dict)
    tags: dict[str, list[str]] = field(default_factory=dict)
    fail_with: int = 0
    asked: Counter[str] = field(default_factory=Counter)

    def push(self, repo: str, tag: str, created: str, *, index: bool = False) -> None:
        config = json.dumps({"created": created, "config": {"Labels": {"a": "b"}}}).encode()
        self.blobs[digest(config)] = config
        manifest = json.dumps(
            {"schemaVersion": 2, "mediaType": DOCKER_MANIFEST, "config": {"digest": digest(config)}}
        ).encode()
        if index:
            self.manifests[(repo, digest(manifest))] = (DOCKER_MANIFEST, manifest)
            entries = [
                {
                    "digest": "sha256:" + "0" * 64,
                    "platform": {"os": "linux", "architecture": "arm64"},
                },
                {"digest": digest(manifest), "platform": {"os": "linux", "architecture": "amd64"}},
            ]
            manifest = json.dumps(
                {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
            ).encode()
        media = OCI_INDEX if index else DOCKER_MANIFEST
        self.manifests[(repo, tag)] = (media, manifest)
        self.tags.setdefault(repo, []).append(tag)

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/token":
            return self._token(request)
        if self.fail_with:
            self.asked["failed"] += 1
            return httpx.Response(self.fail_with, headers={"Retry-After": "1"})
        denied = self._check_auth(request)
        if denied is not None:
            return denied
        parts = path.removeprefix("/v2/").split("/")
        if parts[-2:] == ["tags", "list"]:
            self.asked["tags"] += 1
            return httpx.Response(200, json={"tags": self.tags.get("/".join(parts[:-2]), [])})
        repo, kind, ref = "/".join(parts[:-2]), parts[-2], parts[-1]
        self.asked[kind] += 1
        if kind == "manifests" and (repo, ref) in self.manifests:
            media, body = self.manifests[(repo, ref)]
            headers = {"Content-Type": media, "Docker-Content-Digest": digest(body)}
            return httpx.Response(200, content=body, headers=headers)
        if kind == "blobs" and ref in self.blobs:
            return httpx.Response(200, content=self.blobs[ref])
        return httpx.Response(404, json={"errors": [{"code": "UNKNOWN", "message": "not found"}]})

    def _check_auth(self, request: httpx.Request) -> httpx.Response | None:
        given = request.headers.get("authorization", "")
        if self.auth == "bearer" and given != f"Bearer {TOKEN}":
            challenge = f'Bearer realm="https://{HOST}/token",service="{HOST}"'
            return httpx.Response(401, headers={"WWW-Authenticate": challenge})
        if self.auth == "basic" and given != Credentials(*self.user).basic():
            return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'})
        return None

    def _token(self, request: httpx.Request) -> httpx.Response:
        self.asked["token"] += 1
        if request.headers.get("authorization") != Credentials(*self.user).basic():
            return httpx.Response(401, json={"errors": [{"message": "bad credentials"}]})
        return httpx.Response(200, json={"token": TOKEN})

    def client_factory(self, host: str, **options: Any) -> RegistryClient:
        options["transport"] = httpx.MockTransport(self.handle)
        return RegistryClient(host, **options)


def client(registry: FakeRegistry, credentials: Credentials | None = None) -> RegistryClient:
    return registry.client_factory(
        HOST, credentials=credentials, limiter=RateLimiter(0, 1), timeout=5.0
    )

"""A real image registry on loopback: the CNCF distribution registry, built by
build-registry.sh, with TLS from a test-bed CA and htpasswd (bcrypt) auth.

Two processes share one storage directory: ``host`` needs the user's
password and takes pushes; ``anon_host`` answers anyone, read-only (the
registry's maintenance read-only mode). Images are pushed through the
registry HTTP API (small config blobs with ``created`` and labels, Docker
schema 2 or OCI manifests, multi-arch indexes): no container engine.

``FaultyFront`` is a TLS front for the registry that can be told to answer
401, 429 or 500, or to hang, and otherwise forwards: scanning against it
shows errors per image and resumes once it is healed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import ssl
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import bcrypt
import httpx

from fluxtestbed import pki
from fluxtestbed.procs import Process, built_bin_dir, free_port, start, wait_until

HERE = Path(__file__).resolve().parent
USER, PASSWORD = "flux", "s3cret-registry"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def digest_of(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def registry_binary() -> Path:
    bin_dir = built_bin_dir(
        HERE / "build-registry.sh", override="FLUXPY_REGISTRY_BIN_DIR", what="the registry"
    )
    return bin_dir / "registry"


def _config(directory: Path, port: int, tls: pki.CertPair, *, auth: bool) -> Path:
    text = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(directory / "storage")},
            "maintenance": {"readonly": {"enabled": not auth}},
        },
        "http": {
            "addr": f"127.0.0.1:{port}",
            "secret": "fluxpy-testbed",
            "tls": {"certificate": str(tls.cert), "key": str(tls.key)},
        },
    }
    if auth:
        text["auth"] = {"htpasswd": {"realm": "fluxpy", "path": str(directory / "htpasswd")}}
    path = directory / ("registry-auth.yml" if auth else "registry-anon.yml")
    path.write_text(json.dumps(text))  # JSON is YAML
    return path


@dataclass
class Registry:
    """A running registry pair; ``push_image``/``push_index`` fill it."""

    host: str
    anon_host: str
    ca: Path
    authority: pki.Authority
    processes: list[Process] = field(default_factory=list)

    def faulty_front(self) -> FaultyFront:
        """A front of the authenticated registry that can be made to fail."""
        tls = self.authority.issue("front", common_name="front", server=True, hosts=("127.0.0.1",))
        return FaultyFront(self.host, self.ca, tls)

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"https://{self.host}",
            auth=(USER, PASSWORD),
            verify=ssl.create_default_context(cafile=str(self.ca)),
            timeout=30,
        )

    def push_blob(self, http: httpx.Client, repo: str, body: bytes) -> str:
        digest = digest_of(body)
        if http.head(f"/v2/{repo}/blobs/{digest}").status_code == 200:
            return digest
        started = http.post(f"/v2/{repo}/blobs/uploads/")
        started.raise_for_status()
        location = started.headers["location"]
        sep = "&" if "?" in location else "?"
        http.put(
            f"{location}{sep}digest={digest}",
            content=body,
            headers={"Content-Type": "application/octet-stream"},
        ).raise_for_status()
        return digest

    def push_image(
        self,
        repo: str,
        tag: str | None,
        *,
        created: str,
        labels: Mapping[str, str] | None = None,
        oci: bool = False,
        arch: str = "amd64",
    ) -> str:
        """Push a one-layer image; its manifest digest. ``tag`` None pushes by digest only."""
        config = json.dumps(
            {
                "architecture": arch,
                "os": "linux",
                "created": created,
                "config": {"Labels": dict(labels or {})},
                "rootfs": {"type": "layers", "diff_ids": []},
            }
        ).encode()
        layer = f"layer of {repo}:{tag} {created} {arch}".encode()
        media = (
            (OCI_MANIFEST, OCI_CONFIG, OCI_LAYER)
            if oci
            else (DOCKER_MANIFEST, DOCKER_CONFIG, DOCKER_LAYER)
        )
        with self.client() as http:
            manifest = {
                "schemaVersion": 2,
                "mediaType": media[0],
                "config": _descriptor(media[1], config, self.push_blob(http, repo, config)),
                "layers": [_descriptor(media[2], layer, self.push_blob(http, repo, layer))],
            }
            return self._put_manifest(http, repo, tag, media[0], manifest)

    def push_index(self, repo: str, tag: str, created: Mapping[str, str]) -> str:
        """An OCI index of one image per architecture (``created`` by arch)."""
        entries = []
        for arch, when in created.items():
            digest = self.push_image(repo, None, created=when, oci=True, arch=arch)
            entries.append(
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": digest,
                    "size": 0,
                    "platform": {"os": "linux", "architecture": arch},
                }
            )
        with self.client() as http:
            for entry in entries:  # the real size, which the registry checks
                got = http.get(
                    f"/v2/{repo}/manifests/{entry['digest']}", headers={"Accept": OCI_MANIFEST}
                )
                entry["size"] = len(got.content)
            index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
            return self._put_manifest(http, repo, tag, OCI_INDEX, index)

    def _put_manifest(
        self, http: httpx.Client, repo: str, tag: str | None, media: str, manifest: Any
    ) -> str:
        body = json.dumps(manifest).encode()
        ref = tag or digest_of(body)
        response = http.put(
            f"/v2/{repo}/manifests/{ref}", content=body, headers={"Content-Type": media}
        )
        response.raise_for_status()
        return digest_of(body)

    def stop(self) -> None:
        for process in self.processes:
            process.stop()


def _descriptor(media: str, body: bytes, digest: str) -> dict[str, Any]:
    return {"mediaType": media, "size": len(body), "digest": digest}


@contextmanager
def running_registry(workdir: Path) -> Iterator[Registry]:
    """The registry pair, stopped on exit."""
    workdir.mkdir(parents=True, exist_ok=True)
    ca = pki.Authority(workdir / "pki")
    tls = ca.issue("registry", common_name="registry", server=True, hosts=("127.0.0.1",))
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=5)).decode()
    (workdir / "htpasswd").write_text(f"{USER}:{hashed}\n")
    binary = registry_binary()
    ports = {True: free_port(), False: free_port()}
    registry = Registry(f"127.0.0.1:{ports[True]}", f"127.0.0.1:{ports[False]}", ca.cert_path, ca)
    try:
        for auth, port in ports.items():
            config = _config(workdir, port, tls, auth=auth)
            name = "registry" if auth else "registry-anon"
            registry.processes.append(
                start(name, [str(binary), "serve", str(config)], logdir=workdir)
            )
        for port in ports.values():
            wait_until(
                f"the registry on port {port}",
                functools.partial(_answers, port, ca.cert_path),
                timeout=30,
                watch=registry.processes,
            )
        yield registry
    finally:
        registry.stop()


#: Headers the front sets itself (httpx hands it the body decoded and whole).
_HOP_HEADERS = ("content-length", "content-encoding", "transfer-encoding", "connection")


def _answers(port: int, ca: Path) -> bool:
    context = ssl.create_default_context(cafile=str(ca))
    response = httpx.get(f"https://127.0.0.1:{port}/v2/", verify=context, timeout=2)
    return response.status_code in (200, 401)


class FaultyFront:
    """A TLS front of a registry: forwards, or answers ``mode`` (401/429/500/"hang")."""

    def __init__(self, backend: str, ca: Path, tls: pki.CertPair) -> None:
        self.backend = backend
        self.mode: int | str = 0
        self.asked = 0
        self._release = threading.Event()
        front = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                front.asked += 1
                front.answer(self, ca)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(tls.cert), str(tls.key))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, handler: BaseHTTPRequestHandler, ca: Path) -> None:
        mode = self.mode
        if mode == "hang":
            self._release.wait(120)
            return
        if mode:
            handler.send_response(int(mode))
            if mode == 401:
                handler.send_header("WWW-Authenticate", 'Basic realm="fluxpy"')
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        headers = {k: v for k, v in handler.headers.items() if k.lower() != "host"}
        context = ssl.create_default_context(cafile=str(ca))
        url = f"https://{self.backend}{handler.path}"
        got = httpx.get(url, headers=headers, verify=context, timeout=30)
        handler.send_response(got.status_code)
        for key, value in got.headers.items():
            if key.lower() not in _HOP_HEADERS:
                handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(got.content)))
        handler.end_headers()
        handler.wfile.write(got.content)

    def heal(self) -> None:
        self.mode = 0
        self._release.set()
        self._release = threading.Event()

    def close(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()

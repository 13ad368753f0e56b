"""The registry HTTP API (Docker Registry v2 / OCI distribution), through httpx.

One ``RegistryClient`` per registry host. It answers three questions: which
tags a repository has, and for one tag its manifest digest and the creation
time and labels its config blob records (an index is followed to the
linux/amd64 manifest, the platform Flux v1 scanned for).

Authentication follows the registry's challenge: a ``Bearer`` challenge is
answered by fetching a token from the realm it names (with the credentials,
when there are any), a ``Basic`` one by sending the credentials. Every httpx
exception, and every answer that is not what was asked for, becomes a
``RegistryError`` here and nowhere else.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from fluxd.errors import RegistryError
from fluxd.ratelimit import RateLimiter
from fluxd.registry.manifests import (
    MANIFEST_ACCEPT,
    ConfigInfo,
    read_config,
    read_manifest,
)

_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')
_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
#: More than this many tags pages is a registry looping on us.
_MAX_PAGES = 100
#: What one JSON answer (tags page, manifest, config) may weigh.
_MAX_BODY = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str

    def basic(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()


@dataclass(frozen=True, slots=True)
class TagInfo:
    """What one tag's manifest and config blob say."""

    digest: str
    config: ConfigInfo


class RegistryClient:
    """Requests to one registry host; thread-safe (one httpx client, one token cache)."""

    def __init__(
        self,
        host: str,
        *,
        credentials: Credentials | None,
        limiter: RateLimiter,
        timeout: float,
        insecure: bool = False,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.host = host
        self._credentials = credentials
        self._limiter = limiter
        self._insecure = insecure
        self._scheme = "https"
        # The system's trust store (and SSL_CERT_FILE), as Flux v1 used:
        # a registry with a private CA is trusted by adding the CA there.
        verify: ssl.SSLContext | bool = False if insecure else ssl.create_default_context()
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout),
            verify=verify,
            follow_redirects=True,
            transport=transport,
            headers={"User-Agent": "fluxd"},
        )
        self._tokens: dict[str, str] = {}
        #: Requests sent (tokens included), for the scan figures.
        self.requests = 0

    def close(self) -> None:
        self._http.close()

    def tags(self, path: str) -> list[str]:
        """Every tag of ``path`` (following pagination)."""
        found: list[str] = []
        url: str | None = f"/v2/{path}/tags/list?n=1000"
        for _ in range(_MAX_PAGES):
            if url is None:
                return found
            response = self._get(url, path, accept="application/json")
            body = _json(response, f"tags of {path}")
            found += [str(t) for t in body.get("tags") or () if isinstance(t, str)]
            url = _next_page(response.headers.get("link", ""))
        raise RegistryError(f"{self.host}/{path}: more than {_MAX_PAGES} pages of tags")

    def tag_info(self, path: str, tag: str) -> TagInfo:
        """The digest, creation time and labels of ``path:tag``."""
        response = self._get(f"/v2/{path}/manifests/{tag}", path, accept=MANIFEST_ACCEPT)
        digest = response.headers.get("docker-content-digest", "")
        manifest = read_manifest(_json(response, f"manifest {path}:{tag}"), path, tag)
        if manifest.platform_digest:
            # An index: the manifest for the platform we run is one more request.
            ref = manifest.platform_digest
            response = self._get(f"/v2/{path}/manifests/{ref}", path, accept=MANIFEST_ACCEPT)
            manifest = read_manifest(_json(response, f"manifest {path}@{ref}"), path, tag)
        if not manifest.config_digest:
            return TagInfo(digest, ConfigInfo(image_id="", created=None, labels={}))
        blob = self._get(f"/v2/{path}/blobs/{manifest.config_digest}", path, accept="*/*")
        config = read_config(_json(blob, f"config of {path}:{tag}"), manifest.config_digest)
        return TagInfo(digest, config)

    # --- transport -----------------------------------------------------------

    def _get(self, url: str, path: str, *, accept: str) -> httpx.Response:
        headers = {"Accept": accept}
        token = self._tokens.get(path)
        if token:
            headers["Authorization"] = token
        response = self._send(url, headers)
        if response.status_code == 401:
            headers["Authorization"] = self._authorize(response, path)
            response = self._send(url, headers)
        if response.status_code >= 400:
            raise _status_error(response, f"{self.host}/{path}")
        return response

    def _send(self, url: str, headers: dict[str, str]) -> httpx.Response:
        target = url if url.startswith("http") else f"{self._scheme}://{self.host}{url}"
        self._limiter.take()
        self.requests += 1
        with _translated(self.host):
            try:
                return self._http.get(target, headers=headers)
            except httpx.ConnectError:
                if not self._insecure or self._scheme == "http":
                    raise
                # --registry-insecure-host: a host that speaks no TLS is asked over HTTP.
                self._scheme = "http"
                return self._http.get(target.replace("https://", "http://", 1), headers=headers)

    def _authorize(self, challenged: httpx.Response, path: str) -> str:
        header = challenged.headers.get("www-authenticate", "")
        scheme = header.split(" ", 1)[0].lower()
        if scheme == "basic":
            if self._credentials is None:
                raise _status_error(challenged, f"{self.host}/{path}")
            value = self._credentials.basic()
        elif scheme == "bearer":
            value = "Bearer " + self._token(dict(_CHALLENGE_PARAM.findall(header)), path)
        else:
            raise _status_error(challenged, f"{self.host}/{path}")
        self._tokens[path] = value
        return value

    def _token(self, params: dict[str, str], path: str) -> str:
        realm = params.pop("realm", "")
        if not realm.startswith(("https://", "http://")):
            raise RegistryError(f"{self.host}: the registry's token realm {realm!r} is not a URL")
        params.setdefault("scope", f"repository:{path}:pull")
        headers = {"Authorization": self._credentials.basic()} if self._credentials else {}
        self._limiter.take()
        self.requests += 1
        with _translated(self.host):
            response = self._http.get(realm, params=params, headers=headers)
        if response.status_code >= 400:
            raise _status_error(response, f"{self.host} token service")
        body = _json(response, "token")
        token = body.get("token") or body.get("access_token")
        if not isinstance(token, str) or not token:
            raise RegistryError(f"{self.host}: the token service answered without a token")
        return token


def _next_page(link: str) -> str | None:
    match = _NEXT_LINK.search(link)
    return match.group(1) if match else None


def _json(response: httpx.Response, what: str) -> dict[str, Any]:
    if len(response.content) > _MAX_BODY:
        raise RegistryError(f"{what}: the answer is over {_MAX_BODY} bytes")
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        raise RegistryError(f"{what}: the registry did not answer JSON") from exc
    if not isinstance(body, dict):
        raise RegistryError(f"{what}: the registry answered JSON that is not an object")
    return body


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None


def _status_error(response: httpx.Response, where: str) -> RegistryError:
    status = response.status_code
    detail = _error_detail(response)
    if status == 401:
        help_text = (
            "The registry wants credentials fluxd does not have, or refused them: give "
            "the workload an imagePullSecret (or its ServiceAccount one), or --docker-config."
        )
        return RegistryError(f"{where}: unauthorized{detail}", status=status, help=help_text)
    if status == 429:
        message = f"{where}: too many requests (HTTP 429){detail}; backing off"
        return RegistryError(message, status=status, retry_after=_retry_after(response))
    return RegistryError(f"{where}: HTTP {status}{detail}", status=status)


def _error_detail(response: httpx.Response) -> str:
    # The registry's own words ({"errors":[{"code","message"}]}), cut short for logs.
    try:
        errors = json.loads(response.content[:_MAX_BODY]).get("errors") or []
        text = "; ".join(str(e.get("message") or e.get("code")) for e in errors[:3])
    except (ValueError, AttributeError):
        return ""
    return f": {text[:200]}" if text else ""


@contextmanager
def _translated(host: str) -> Iterator[None]:
    try:
        yield
    except httpx.TimeoutException as exc:
        raise RegistryError(f"{host}: no answer in time ({type(exc).__name__})") from exc
    except httpx.HTTPError as exc:
        raise RegistryError(f"{host}: {exc or type(exc).__name__}") from exc

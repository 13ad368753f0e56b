"""Push webhooks from GitHub, GitLab, Bitbucket, Gitea and a generic sender.

This module is plain logic (check the signature, read the payload, decide
whether the push is for our repo and branch); the HTTP routes in
``fluxd.api.hooks`` call ``receive`` and, on ``Outcome.TRIGGER``, ask the
daemon for a fetch. A webhook can never make fluxd fetch anything but the
configured repo, so nothing in a payload is trusted beyond "something moved".

With ``webhook_secret`` set every delivery must prove it knows the secret
(401 otherwise). Without it deliveries are accepted unsigned: the worst a
stranger can do is make fluxd fetch sooner, which the daemon coalesces.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from fluxd.errors import UserError

__all__ = [
    "PROVIDERS",
    "BadPayload",
    "BadSignature",
    "HookResult",
    "Outcome",
    "Push",
    "is_our_push",
    "normalize_repo_url",
    "receive",
]

log = logging.getLogger(__name__)


class BadSignature(UserError):
    """The delivery does not prove it knows the webhook secret (HTTP 401)."""

    default_help = "Set the same secret in the git host's webhook settings and in fluxd."


class BadPayload(UserError):
    """The delivery's body is not what the provider sends (HTTP 400)."""

    default_help = "Send the provider's JSON push payload (content type application/json)."


class Outcome(StrEnum):
    PONG = "pong"  # a provider's "is this URL alive" ping
    TRIGGER = "trigger"  # a push to our repo and branch
    IGNORE = "ignore"  # another repo, branch or event


@dataclass(frozen=True, slots=True)
class Push:
    """What a push payload says moved: the repo (under all its URLs) and the branch."""

    urls: tuple[str, ...]
    branch: str


@dataclass(frozen=True, slots=True)
class HookResult:
    outcome: Outcome
    message: str
    push: Push | None = None


Headers = Mapping[str, str]


def receive(
    provider: str, headers: Headers, body: bytes, *, secret: str, remote_url: str, branch: str
) -> HookResult:
    """Check, read and judge one delivery; raise ``BadSignature`` or ``BadPayload``."""
    hook = PROVIDERS.get(provider)
    if hook is None:
        raise BadPayload(f"unknown webhook provider {provider!r}")
    lowered = {key.lower(): value for key, value in headers.items()}
    if secret:
        hook.verify(lowered, body, secret)
    event = lowered.get(hook.event_header, "") if hook.event_header else "push"
    if event in hook.ping_events:
        return HookResult(Outcome.PONG, "pong")
    if event not in hook.push_events:
        return HookResult(Outcome.IGNORE, f"event {event or '(none)'!r} is not a push")
    push = hook.parse(_json(body))
    if is_our_push(push, remote_url=remote_url, branch=branch):
        return HookResult(Outcome.TRIGGER, "fetching", push)
    log.info(
        "webhook ignored provider=%s branch=%s urls=%s", provider, push.branch, ",".join(push.urls)
    )
    return HookResult(Outcome.IGNORE, "not the configured repository and branch", push)


# --- matching -------------------------------------------------------------------------

_SCP_FORM = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>(?!//).+)$")


def normalize_repo_url(url: str) -> str:
    """``host/path`` in lower case: scp form, ssh://, git:// and https:// compare equal."""
    url = url.strip()
    if "://" in url:
        parts = urlsplit(url)
        host, path = (parts.hostname or ""), parts.path
    elif match := _SCP_FORM.match(url):
        host, path = match["host"], match["path"]
    else:
        host, path = "", url
    path = path.strip("/").removesuffix(".git").strip("/")
    # Bitbucket Server serves HTTP clones under /scm/ but SSH ones without it.
    path = path.removeprefix("scm/")
    return f"{host.lower()}/{path.lower()}"


def is_our_push(push: Push, *, remote_url: str, branch: str) -> bool:
    """True when ``push`` names the configured repo (by any URL) and branch."""
    if not remote_url or push.branch != branch:
        return False
    ours = normalize_repo_url(remote_url)
    return any(normalize_repo_url(url) == ours for url in push.urls if url)


# --- signatures ------------------------------------------------------------------------


def _hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _require(headers: Headers, name: str) -> str:
    value = headers.get(name, "")
    if not value:
        raise BadSignature(f"missing {name} header")
    return value


def _check(given: str, expected: str, header: str) -> None:
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise BadSignature(f"{header} does not match the webhook secret")


def _verify_prefixed_hmac(header: str) -> Callable[[Headers, bytes, str], None]:
    def verify(headers: Headers, body: bytes, secret: str) -> None:
        _check(_require(headers, header), "sha256=" + _hmac_hex(secret, body), header)

    return verify


def _verify_plain_hmac(header: str) -> Callable[[Headers, bytes, str], None]:
    def verify(headers: Headers, body: bytes, secret: str) -> None:
        _check(_require(headers, header).lower(), _hmac_hex(secret, body), header)

    return verify


def _verify_token(header: str, prefix: str = "") -> Callable[[Headers, bytes, str], None]:
    def verify(headers: Headers, body: bytes, secret: str) -> None:
        _check(_require(headers, header), prefix + secret, header)

    return verify


# --- payloads ----------------------------------------------------------------------------


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadPayload(f"body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadPayload("body must be a JSON object")
    return data


def _object(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise BadPayload(f"payload has no '{key}' object")
    return value


def _strings(data: Mapping[str, Any], keys: Iterable[str]) -> list[str]:
    return [value for key in keys if isinstance(value := data.get(key), str) and value]


def _branch_of(ref: object) -> str:
    if not isinstance(ref, str) or not ref:
        raise BadPayload("payload has no 'ref' string")
    return ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else ""


def _parse_github_like(data: Mapping[str, Any]) -> Push:
    repo = _object(data, "repository")
    urls = _strings(repo, ("clone_url", "ssh_url", "git_url", "html_url", "url"))
    return Push(tuple(urls), _branch_of(data.get("ref")))


def _parse_gitlab(data: Mapping[str, Any]) -> Push:
    urls: list[str] = []
    for key in ("project", "repository"):
        if isinstance(section := data.get(key), dict):
            urls += _strings(section, ("git_ssh_url", "git_http_url", "web_url", "url", "homepage"))
    if not urls:
        raise BadPayload("payload has neither 'project' nor 'repository' URLs")
    return Push(tuple(urls), _branch_of(data.get("ref")))


def _parse_bitbucket(data: Mapping[str, Any]) -> Push:
    repo = _object(data, "repository")
    links = repo.get("links")
    if not isinstance(links, dict):
        links = {}
    urls: list[str] = []
    if isinstance(html := links.get("html"), dict):
        urls += _strings(html, ("href",))
    if isinstance(clones := links.get("clone"), list):  # Bitbucket Server
        urls += [href for c in clones if isinstance(c, dict) for href in _strings(c, ("href",))]
    if isinstance(full_name := repo.get("full_name"), str):  # Cloud: owner/repo
        urls.append(f"https://bitbucket.org/{full_name}")
    return Push(tuple(urls), _bitbucket_branch(data))


def _bitbucket_branch(data: Mapping[str, Any]) -> str:
    if isinstance(push := data.get("push"), dict):  # Cloud
        for change in push.get("changes") or []:
            new = change.get("new") if isinstance(change, dict) else None
            if isinstance(new, dict) and new.get("type") == "branch":
                return str(new.get("name", ""))
        return ""
    if isinstance(changes := data.get("changes"), list):  # Server
        for change in changes:
            ref = change.get("ref") if isinstance(change, dict) else None
            if isinstance(ref, dict) and ref.get("type") == "BRANCH":
                return str(ref.get("displayId", ""))
        return ""
    raise BadPayload("payload has neither 'push' (Bitbucket Cloud) nor 'changes' (Server)")


def _parse_generic(data: Mapping[str, Any]) -> Push:
    url, branch = data.get("url"), data.get("branch")
    if not isinstance(url, str) or not url:
        raise BadPayload("payload needs a non-empty 'url' string")
    if not isinstance(branch, str) or not branch:
        raise BadPayload("payload needs a non-empty 'branch' string")
    return Push((url,), branch.removeprefix("refs/heads/"))


@dataclass(frozen=True, slots=True)
class _Provider:
    verify: Callable[[Headers, bytes, str], None]
    parse: Callable[[Mapping[str, Any]], Push]
    event_header: str  # lower-case; "" when every delivery is a push
    push_events: frozenset[str]
    ping_events: frozenset[str] = frozenset()


PROVIDERS: dict[str, _Provider] = {
    "github": _Provider(
        _verify_prefixed_hmac("x-hub-signature-256"),
        _parse_github_like,
        "x-github-event",
        frozenset({"push"}),
        frozenset({"ping"}),
    ),
    "gitlab": _Provider(
        _verify_token("x-gitlab-token"),
        _parse_gitlab,
        "x-gitlab-event",
        frozenset({"Push Hook"}),
    ),
    "bitbucket": _Provider(
        _verify_prefixed_hmac("x-hub-signature"),
        _parse_bitbucket,
        "x-event-key",
        frozenset({"repo:push", "repo:refs_changed"}),
        frozenset({"diagnostics:ping"}),
    ),
    "gitea": _Provider(
        _verify_plain_hmac("x-gitea-signature"),
        _parse_github_like,
        "x-gitea-event",
        frozenset({"push"}),
    ),
    "generic": _Provider(
        _verify_token("authorization", "Bearer "), _parse_generic, "", frozenset({"push"})
    ),
}

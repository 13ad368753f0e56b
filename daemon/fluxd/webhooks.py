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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fluxd.errors import UserError
from fluxd.git.urls import InvalidUrl, repo_key
from fluxd.webhook_payloads import BadPayload, Push, read_push

__all__ = [
    "PROVIDERS",
    "BadPayload",
    "BadSignature",
    "HookResult",
    "Outcome",
    "Push",
    "is_our_push",
    "receive",
]

log = logging.getLogger(__name__)


class BadSignature(UserError):
    """The delivery does not prove it knows the webhook secret (HTTP 401)."""

    default_help = "Set the same secret in the git host's webhook settings and in fluxd."


class Outcome(StrEnum):
    PONG = "pong"  # a provider's "is this URL alive" ping
    TRIGGER = "trigger"  # a push to our repo and branch
    IGNORE = "ignore"  # another repo, branch or event


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
    push = read_push(provider, _json(body))
    if is_our_push(push, remote_url=remote_url, branch=branch):
        return HookResult(Outcome.TRIGGER, "fetching", push)
    log.info(
        "webhook ignored provider=%s branch=%s urls=%s", provider, push.branch, ",".join(push.urls)
    )
    return HookResult(Outcome.IGNORE, "not the configured repository and branch", push)


# --- matching -------------------------------------------------------------------------


def is_our_push(push: Push, *, remote_url: str, branch: str) -> bool:
    """True when ``push`` names the configured repo (by any URL) and branch.

    ``BadPayload`` when one of the push's URLs cannot be read at all, whatever
    the branch: a sender with a broken payload should hear so at once.
    """
    try:
        keys = {repo_key(url) for url in push.urls if url}
    except InvalidUrl as exc:
        raise BadPayload(f"payload repository URL: {exc.message}", help=exc.help) from exc
    if not remote_url or push.branch != branch:
        return False
    return repo_key(remote_url) in keys


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
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise BadPayload(f"body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadPayload("body must be a JSON object")
    return data


@dataclass(frozen=True, slots=True)
class _Provider:
    verify: Callable[[Headers, bytes, str], None]
    event_header: str  # lower-case; "" when every delivery is a push
    push_events: frozenset[str]
    ping_events: frozenset[str] = frozenset()


PROVIDERS: dict[str, _Provider] = {
    "github": _Provider(
        _verify_prefixed_hmac("x-hub-signature-256"),
        "x-github-event",
        frozenset({"push"}),
        frozenset({"ping"}),
    ),
    "gitlab": _Provider(
        _verify_token("x-gitlab-token"),
        "x-gitlab-event",
        frozenset({"Push Hook"}),
    ),
    "bitbucket": _Provider(
        _verify_prefixed_hmac("x-hub-signature"),
        "x-event-key",
        frozenset({"repo:push", "repo:refs_changed"}),
        frozenset({"diagnostics:ping"}),
    ),
    "gitea": _Provider(
        _verify_plain_hmac("x-gitea-signature"),
        "x-gitea-event",
        frozenset({"push"}),
    ),
    "generic": _Provider(_verify_token("authorization", "Bearer "), "", frozenset({"push"})),
}

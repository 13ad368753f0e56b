"""The API server's audit log: every write a client made, counted exactly.

The test bed's kube-apiserver writes one JSON line per finished write
request (verbs create, update, patch, delete, deletecollection; level
Metadata) by anyone but the control plane's own components and kwok. A
server-side apply is a PATCH whose audit verb is ``patch``; ``apply`` tells
it apart by the request's content type, which Metadata level does not keep,
so a write is a write whatever its flavour. Counting from this log needs no
cooperation from the client being measured.

LISTs are recorded too (``lists``), with the request URI (and so the label
selector): what a client asked to read is counted from the server as well.
Each event keeps the client's user agent, which tells apart the replicas of
one install that share a ServiceAccount (fluxd sends its replica's name).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# Users whose writes are the cluster's own housekeeping, not a client's.
QUIET_USERS = (
    "system:kube-controller-manager",
    "system:kube-scheduler",
    "system:apiserver",
    "kwok-controller",
)
#: kube-controller-manager runs each controller under a ServiceAccount of its
#: own (--use-service-account-credentials), so the log keeps their writes.
CONTROLLERS = "system:serviceaccount:kube-system:"
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")
READ_VERBS = ("list",)


def policy() -> str:
    """The audit policy the test bed's API server runs with (YAML as JSON)."""
    rules = [
        {"level": "None", "users": list(QUIET_USERS)},
        {"level": "None", "userGroups": ["system:nodes"]},
        {
            "level": "Metadata",
            "verbs": [*WRITE_VERBS, *READ_VERBS],
            "omitStages": ["RequestReceived"],
        },
        {"level": "None"},
    ]
    return json.dumps({"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": rules})


@dataclass(frozen=True)
class AuditWrite:
    """One finished write request as the API server recorded it."""

    user: str
    verb: str
    resource: str
    subresource: str
    namespace: str
    name: str
    code: int
    received: str  # RFC 3339 with microseconds, the server's clock
    user_agent: str = ""
    request_uri: str = ""

    @property
    def key(self) -> str:
        sub = f"/{self.subresource}" if self.subresource else ""
        return f"{self.verb} {self.resource}{sub} {self.namespace}/{self.name}"


class AuditLog:
    """Reads the audit log from a mark on, so a test counts only its window."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def mark(self) -> int:
        """Where the log ends now; pass it to ``writes`` as ``since``."""
        return self.path.stat().st_size if self.path.exists() else 0

    def writes(self, since: int = 0, user: str | None = None) -> list[AuditWrite]:
        """Every finished write after ``since`` (by ``user`` when given)."""
        return [w for w in self.events(since, user) if w.verb in WRITE_VERBS]

    def lists(self, since: int = 0, user: str | None = None) -> list[AuditWrite]:
        """Every finished LIST after ``since`` (by ``user`` when given)."""
        return [w for w in self.events(since, user) if w.verb in READ_VERBS]

    def events(self, since: int = 0, user: str | None = None) -> list[AuditWrite]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as log:
            log.seek(since)
            lines = log.read().splitlines()
        found = [_parse(line) for line in lines if line.strip()]
        return [w for w in found if w is not None and (user is None or w.user == user)]

    def tail(self, since: int) -> tuple[list[AuditWrite], int]:
        """The events of the whole lines after ``since``, and where they end.

        A line still being written is left for the next call.
        """
        if not self.path.exists():
            return [], since
        with self.path.open("rb") as log:
            log.seek(since)
            data = log.read()
        end = data.rfind(b"\n") + 1
        found = [_parse(line) for line in data[:end].splitlines() if line.strip()]
        return [w for w in found if w is not None], since + end

    def count(self, since: int = 0, user: str | None = None) -> Counter[str]:
        """Writes after ``since`` counted per verb, resource and name."""
        return Counter(w.key for w in self.writes(since, user))


def _parse(line: bytes) -> AuditWrite | None:
    try:
        event = json.loads(line)
    except ValueError:
        return None  # a line cut by a log still being written
    if event.get("stage") != "ResponseComplete":
        return None
    ref = event.get("objectRef") or {}
    return AuditWrite(
        user=str((event.get("user") or {}).get("username", "")),
        verb=str(event.get("verb", "")),
        resource=str(ref.get("resource", "")),
        subresource=str(ref.get("subresource", "")),
        namespace=str(ref.get("namespace", "")),
        name=str(ref.get("name", "")),
        code=int((event.get("responseStatus") or {}).get("code", 0)),
        received=str(event.get("requestReceivedTimestamp", "")),
        user_agent=str(event.get("userAgent", "")),
        request_uri=str(event.get("requestURI", "")),
    )

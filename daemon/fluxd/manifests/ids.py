"""Object identity in Flux v1's notation: ``namespace:kind/name``.

The string form is part of the wire contract (fluxctl prints and accepts it)
and it is hashed into the garbage-collection mark, so it must match Flux v1
byte for byte: the kind is lower-cased and cluster-scoped objects use the
pseudo-namespace ``<cluster>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Self

# Re-exported: ids from requests are held to the same rules as API paths.
from fluxd.names import is_dns_label as is_dns_label
from fluxd.names import is_object_name as is_object_name

CLUSTER_SCOPE = "<cluster>"

# Namespace and kind as Flux v1 accepts them. Names are wider than Flux v1
# allowed: an RBAC object may be called "system:foo" or "alice@example.com",
# and every id we print must parse back. Neither ':' in a namespace nor '/'
# in a name is possible, so the split stays unambiguous.
_ID_PATTERN = re.compile(r"(<cluster>|[a-zA-Z0-9_-]+):([a-zA-Z0-9_-]+)/([^/\s]+)")


def group_of(api_version: str) -> str:
    """The API group of ``api_version`` ("" for the core group)."""
    group, slash, _ = api_version.rpartition("/")
    return group if slash else ""


@dataclass(frozen=True, slots=True)
class ResourceId:
    """Who an object is; ``namespace`` is "" for cluster-scoped objects.

    ``group`` rides along for the cluster layer but takes no part in
    equality: Flux v1's string form has no group, and two objects that print
    the same would share one GC mark and one inventory entry, so they are
    the same object as far as syncing goes.
    """

    namespace: str
    kind: str
    name: str
    group: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        # Normalise once so that ids built from a manifest ("Deployment") and
        # ids parsed from the API ("deployment") compare equal.
        object.__setattr__(self, "kind", self.kind.lower())

    @property
    def cluster_scoped(self) -> bool:
        return not self.namespace

    def __str__(self) -> str:
        return f"{self.namespace or CLUSTER_SCOPE}:{self.kind}/{self.name}"

    @classmethod
    def parse(cls, text: str) -> Self:
        """Read ``namespace:kind/name``; raises ``ValueError`` when malformed."""
        match = _ID_PATTERN.fullmatch(text)
        if match is None:
            raise ValueError(f"invalid resource id {text!r}: expected namespace:kind/name")
        namespace, kind, name = match.groups()
        return cls("" if namespace == CLUSTER_SCOPE else namespace, kind, name)


# --- ids from outside (the HTTP API, fluxctl) ---------------------------------------
#
# An id from a request names an object fluxd will look up, and its parts end
# up in Kubernetes API paths: each part is held to the API server's own rule
# for it, not just to the shape of the notation.

_KIND = re.compile(r"[A-Za-z][A-Za-z0-9]{0,62}")


def parse_workload_id(text: str) -> ResourceId:
    """``namespace:kind/name``, or Flux v1's ``namespace/name`` for a Deployment.

    Raises ``ValueError`` naming the part at fault.
    """
    namespace, colon, rest = text.partition(":")
    if not colon or "/" in namespace:
        # No ':' before the first '/': Flux v1's short form, a Deployment.
        namespace, slash, name = text.partition("/")
        kind = "deployment" if slash else ""
    else:
        kind, slash, name = rest.partition("/")
    if not slash:
        raise ValueError(f"{text[:100]!r} is not namespace:kind/name")
    if namespace != CLUSTER_SCOPE and not is_dns_label(namespace):
        raise ValueError(f"namespace {namespace[:100]!r} is not a DNS label")
    if _KIND.fullmatch(kind) is None:
        raise ValueError(f"kind {kind[:100]!r} is not a Kubernetes kind")
    if not is_object_name(name):
        raise ValueError(f"name {name[:100]!r} is not a valid object name")
    return ResourceId("" if namespace == CLUSTER_SCOPE else namespace, kind, name)

"""Object identity in Flux v1's notation: ``namespace:kind/name``.

The string form is part of the wire contract (fluxctl prints and accepts it)
and it is hashed into the garbage-collection mark, so it must match Flux v1
byte for byte: the kind is lower-cased and cluster-scoped objects use the
pseudo-namespace ``<cluster>``. This module is the one place that reads and
writes that notation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Self

from fluxids.names import is_dns_label, is_object_name

CLUSTER_SCOPE = "<cluster>"

# Namespace and kind as Flux v1 accepts them. Names are wider than Flux v1
# allowed: an RBAC object may be called "system:foo" or "alice@example.com",
# and every id we print must parse back. Neither ':' in a namespace nor '/'
# in a name is possible, so the split stays unambiguous.
_ID_PATTERN = re.compile(r"(<cluster>|[a-zA-Z0-9_-]+):([a-zA-Z0-9_-]+)/([^/\s]+)")
# A kind as the API server spells one, for ids from requests.
_KIND = re.compile(r"[A-Za-z][A-Za-z0-9]{0,62}")


def group_of(api_version: str) -> str:
    """The API group of ``api_version`` ("" for the core group)."""
    group, slash, _ = api_version.rpartition("/")
    return group if slash else ""


@dataclass(frozen=True, slots=True, eq=False)
class ObjectRef:
    """Who an object is; ``namespace`` is "" for cluster-scoped objects.

    ``kind`` keeps the spelling it was given ("Deployment" from a manifest,
    "deployment" from a parsed id) because API paths and discovery need the
    real one. ``api_version`` rides along for the cluster layer ("" when the
    ref was parsed from an id). Equality and hashing go by the printed id
    alone: Flux v1's string form has neither group nor case, and two objects
    that print the same share one GC mark and one inventory entry, so they
    are the same object as far as syncing goes.
    """

    namespace: str
    kind: str
    name: str
    api_version: str = ""
    # The printed id, made once: refs are compared, hashed and printed far
    # more often than they are built.
    _text: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        text = f"{self.namespace or CLUSTER_SCOPE}:{self.kind.lower()}/{self.name}"
        object.__setattr__(self, "_text", text)

    @property
    def cluster_scoped(self) -> bool:
        return not self.namespace

    @property
    def group(self) -> str:
        return group_of(self.api_version)

    @property
    def sort_key(self) -> str:
        """Orders refs as their ids sort, the order fluxctl and the API list them in."""
        return self._text

    def __str__(self) -> str:
        return self._text

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ObjectRef):
            return NotImplemented
        return self._text == other._text

    def __hash__(self) -> int:
        return hash(self._text)

    @classmethod
    def parse(cls, text: str) -> Self:
        """Read ``namespace:kind/name``; raises ``ValueError`` when malformed."""
        match = _ID_PATTERN.fullmatch(text)
        if match is None:
            raise ValueError(f"invalid resource id {text!r}: expected namespace:kind/name")
        namespace, kind, name = match.groups()
        return cls("" if namespace == CLUSTER_SCOPE else namespace, kind.lower(), name)


# --- ids from outside (the HTTP API, fluxctl) ---------------------------------------
#
# An id from a request names an object fluxd will look up, and its parts end
# up in Kubernetes API paths: each part is held to the API server's own rule
# for it, not just to the shape of the notation.


def parse_workload_id(text: str) -> ObjectRef:
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
    return ObjectRef("" if namespace == CLUSTER_SCOPE else namespace, kind.lower(), name)

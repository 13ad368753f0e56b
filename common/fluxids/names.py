"""The API server's rules for namespaces and object names.

fluxd holds ids from requests and API paths to them, and fluxctl holds its
``--namespace`` to them before asking; one copy keeps the two in step.
"""

from __future__ import annotations

import re

__all__ = ["NAMESPACE_HELP", "is_dns_label", "is_object_name"]

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_MAX_NAME = 253

NAMESPACE_HELP = (
    "A namespace is a DNS label: at most 63 characters of a-z, 0-9 and '-', "
    "starting and ending with a letter or digit."
)


def is_dns_label(text: str) -> bool:
    """Whether ``text`` is an RFC 1123 label: the form of every namespace."""
    return len(text) <= 63 and _DNS_LABEL.fullmatch(text) is not None


def is_object_name(text: str) -> bool:
    """Whether ``text`` can be an object's name: a URL path segment, as the API server checks."""
    return (
        0 < len(text) <= _MAX_NAME
        and text not in (".", "..")
        and not any(c in "/%" or c.isspace() for c in text)
    )

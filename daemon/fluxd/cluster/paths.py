"""The one place fluxd turns names into Kubernetes API URL paths.

A namespace or name reaches a path from manifests, the inventory ConfigMap,
settings and HTTP queries. Written into the path as it is, ``x/../../secrets``
would walk to another collection: the API server resolves the dots before it
checks anything. So every value is checked against the rule the API server
itself applies (namespaces are DNS labels; names are path segments) and then
percent-quoted, so that even a value the check let through stays one segment.
"""

from __future__ import annotations

from urllib.parse import quote

from fluxd.errors import SettingsError, UserError
from fluxd.settings import ClusterSettings
from fluxids import NAMESPACE_HELP, is_dns_label, is_object_name

__all__ = ["InvalidName", "api_path", "check_name", "check_namespace", "check_settings"]

_NAME_HELP = (
    "An object name has 1 to 253 characters, is not '.' or '..', and has no '/', '%' "
    "or white space."
)


class InvalidName(UserError):
    """A namespace or name that cannot be an object's (the request is wrong)."""

    default_help = _NAME_HELP


def check_namespace(namespace: str, *, what: str = "namespace") -> str:
    """``namespace`` if it is a valid one; ``InvalidName`` otherwise."""
    if not is_dns_label(namespace):
        message = f"{what} {namespace[:100]!r} is not a valid namespace"
        raise InvalidName(message, help=NAMESPACE_HELP)
    return namespace


def check_name(name: str, *, what: str = "name") -> str:
    """``name`` if it is a valid path segment, the API server's rule for every name."""
    if not is_object_name(name):
        raise InvalidName(f"{what} {name[:100]!r} is not a valid object name")
    return name


def api_path(api_version: str, plural: str, *, namespace: str = "", name: str = "") -> str:
    """``/api[s]/<apiVersion>[/namespaces/<ns>]/<plural>[/<name>]``, each value checked and quoted.

    ``api_version`` and ``plural`` come from discovery or from constants in
    this package, never from a request; they are still quoted as segments.
    """
    root = (
        "/api/v1"
        if api_version == "v1"
        else "/apis/" + "/".join(_segment(part) for part in api_version.split("/"))
    )
    scope = f"/namespaces/{_segment(check_namespace(namespace))}" if namespace else ""
    tail = f"/{_segment(check_name(name))}" if name else ""
    return f"{root}{scope}/{_segment(plural)}{tail}"


def _segment(value: str) -> str:
    return quote(value, safe="")


def check_settings(settings: ClusterSettings) -> None:
    """``SettingsError`` naming the flag whose namespace or name cannot exist.

    Checked once at start-up, so that a typo stops fluxd with the flag's name
    instead of failing each sync pass deep inside a request.
    """
    namespaces = [
        ("--k8s-namespace", settings.namespace),
        *(("--k8s-allow-namespace", ns) for ns in settings.allow_namespaces),
    ]
    if settings.default_namespace:
        namespaces.append(("--k8s-default-namespace", settings.default_namespace))
    for flag, namespace in namespaces:
        if not is_dns_label(namespace):
            raise SettingsError(
                f"{flag}: {namespace!r} is not a valid namespace", help=NAMESPACE_HELP
            )
    for flag, name in (
        ("--k8s-secret-name", settings.secret_name),
        ("inventory name", settings.inventory_name),
    ):
        if not is_object_name(name):
            raise SettingsError(f"{flag}: {name!r} is not a valid object name", help=_NAME_HELP)

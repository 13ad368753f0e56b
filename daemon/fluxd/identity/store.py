"""Where the identity lives: one Secret, reached through a two-method seam.

``SecretStore`` is all the key ring needs, so unit tests use an in-memory
store and only ``KubeSecretStore`` talks to the Kubernetes API. Writes carry
the version they were based on, so a Secret the user changed in the meantime
is refused (``SecretConflict``) instead of overwritten.

``KubeSecretStore`` sends its requests through ``SecretApi``, a protocol
fluxd.cluster fulfils (``SecretRequests``, wired by the runner): fluxd.identity
never imports fluxd.cluster, so the two stay independent.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from fluxd.errors import ClusterError, IdentityError

__all__ = [
    "ApiAnswer",
    "KubeSecretStore",
    "SecretApi",
    "SecretConflict",
    "SecretSnapshot",
    "SecretStore",
]

log = logging.getLogger(__name__)


class SecretConflict(IdentityError):
    """The Secret changed (or appeared) between our read and our write."""

    default_help = (
        "Someone changed Secret flux-git-deploy while fluxd was writing it; "
        "fluxd kept their version. Retry if you meant to replace it."
    )


@dataclass(frozen=True, slots=True)
class SecretSnapshot:
    """The Secret's data (decoded) at one ``resourceVersion``."""

    version: str
    data: Mapping[str, bytes] = field(default_factory=dict)

    def __repr__(self) -> str:
        # Data holds a private key: show only which entries exist.
        return f"SecretSnapshot(version={self.version!r}, keys={sorted(self.data)})"


class SecretStore(Protocol):
    """Read and write the data of the one Secret holding the identity."""

    def get_secret_data(self) -> SecretSnapshot | None:
        """The Secret now, or None when it does not exist."""
        ...

    def write_secret_data(
        self, data: Mapping[str, bytes], *, expect_version: str | None
    ) -> SecretSnapshot:
        """Set the entries in ``data``, keeping the others.

        With ``expect_version=None`` the Secret must not exist yet and is
        created; otherwise it is patched only if still at that version.
        Raises ``SecretConflict`` when either precondition fails.
        """
        ...


class ApiAnswer(Protocol):
    """What the store reads of an API server's answer."""

    @property
    def status(self) -> int: ...

    @property
    def reason(self) -> str: ...

    @property
    def ok(self) -> bool: ...

    def json(self) -> dict[str, Any]:
        """The body as a JSON object; ``ClusterError`` if it is anything else."""
        ...


class SecretApi(Protocol):
    """The requests on one Secret that ``KubeSecretStore`` makes.

    Each returns the answer, whatever its status; ``ClusterError`` only when
    the API server does not answer.
    """

    @property
    def namespace(self) -> str: ...

    @property
    def name(self) -> str: ...

    def get(self) -> ApiAnswer:
        """GET the Secret."""
        ...

    def create(self, body: Mapping[str, Any]) -> ApiAnswer:
        """POST ``body`` to the namespace's Secrets."""
        ...

    def merge_patch(self, patch: Mapping[str, Any]) -> ApiAnswer:
        """PATCH the Secret with a JSON merge patch."""
        ...


class KubeSecretStore:
    """``SecretStore`` on the Kubernetes API: reads, creates and patches one Secret."""

    def __init__(self, api: SecretApi) -> None:
        self._api = api
        self._namespace = api.namespace
        self._name = api.name

    def get_secret_data(self) -> SecretSnapshot | None:
        response = self._send(self._api.get, verb="read")
        if response.status == 404:
            return None
        return _snapshot(self._checked(response, "read"))

    def write_secret_data(
        self, data: Mapping[str, bytes], *, expect_version: str | None
    ) -> SecretSnapshot:
        encoded = {key: base64.b64encode(value).decode("ascii") for key, value in data.items()}
        if expect_version is None:
            body: dict[str, Any] = {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": self._name, "namespace": self._namespace},
                "type": "Opaque",
                "data": encoded,
            }
            response = self._send(lambda: self._api.create(body), verb="write")
        else:
            # A resourceVersion in a patch makes the API server refuse it (409)
            # when the Secret changed since we read it.
            patch = {"metadata": {"resourceVersion": expect_version}, "data": encoded}
            response = self._send(lambda: self._api.merge_patch(patch), verb="write")
        secret = self._checked(response, "write")
        log.info("secret written name=%s namespace=%s", self._name, self._namespace)
        return _snapshot(secret)

    def _send(self, request: Callable[[], ApiAnswer], *, verb: str) -> ApiAnswer:
        try:
            return request()
        except ClusterError as exc:
            raise ClusterError(
                f"cannot {verb} Secret {self._namespace}/{self._name}: the API server "
                f"did not answer ({exc})",
                help="Check that the Kubernetes API server is reachable from fluxd.",
            ) from exc

    def _checked(self, response: ApiAnswer, verb: str) -> dict[str, Any]:
        if response.ok:
            return response.json()
        where = f"Secret {self._namespace}/{self._name}"
        if response.status in (409, 404) and verb == "write":
            # 409: changed or already exists; 404 on patch: deleted since we read it.
            raise SecretConflict(f"{where} changed while fluxd was writing it")
        if response.status == 403:
            raise ClusterError(
                f"fluxd may not {verb} {where}",
                status=403,
                help=(
                    "Give fluxd's ServiceAccount get, create and patch on Secrets "
                    "in its namespace (see deploy/)."
                ),
            )
        raise ClusterError(
            f"cannot {verb} {where}: {response.reason or response.status}", status=response.status
        )


def _snapshot(secret: Mapping[str, Any]) -> SecretSnapshot:
    raw = secret.get("data") or {}
    try:
        data = {key: base64.b64decode(value) for key, value in raw.items()}
    except (ValueError, TypeError) as exc:
        raise IdentityError("Secret data is not base64") from exc
    version = str((secret.get("metadata") or {}).get("resourceVersion") or "")
    return SecretSnapshot(version=version, data=data)

"""Where the identity lives: one Secret, reached through a two-method seam.

``SecretStore`` is all the key ring needs, so unit tests use an in-memory
store and only ``KubeSecretStore`` talks to the Kubernetes API. Writes carry
the version they were based on, so a Secret the user changed in the meantime
is refused (``SecretConflict``) instead of overwritten.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError as Urllib3Error

from fluxd.errors import ClusterError, IdentityError

__all__ = ["KubeSecretStore", "SecretConflict", "SecretSnapshot", "SecretStore"]

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


class KubeSecretStore:
    """``SecretStore`` on the Kubernetes API (the only Kubernetes code here)."""

    def __init__(self, api_client: Any, *, namespace: str, name: str) -> None:
        self._api = k8s.CoreV1Api(api_client)
        self._namespace = namespace
        self._name = name

    def get_secret_data(self) -> SecretSnapshot | None:
        try:
            secret = self._api.read_namespaced_secret(self._name, self._namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise self._translate(exc, "read") from exc
        except (Urllib3Error, OSError) as exc:
            raise self._unreachable(exc, "read") from exc
        return _snapshot(secret)

    def write_secret_data(
        self, data: Mapping[str, bytes], *, expect_version: str | None
    ) -> SecretSnapshot:
        encoded: dict[str, bytes | str] = {
            key: base64.b64encode(value).decode("ascii") for key, value in data.items()
        }
        try:
            if expect_version is None:
                body = k8s.V1Secret(
                    api_version="v1",
                    kind="Secret",
                    metadata=k8s.V1ObjectMeta(name=self._name, namespace=self._namespace),
                    type="Opaque",
                    data=encoded,
                )
                secret = self._api.create_namespaced_secret(self._namespace, body)
            else:
                # A resourceVersion in a patch makes the API server refuse it (409)
                # when the Secret changed since we read it.
                patch = {"metadata": {"resourceVersion": expect_version}, "data": encoded}
                secret = self._api.patch_namespaced_secret(self._name, self._namespace, patch)
        except ApiException as exc:
            raise self._translate(exc, "write") from exc
        except (Urllib3Error, OSError) as exc:
            raise self._unreachable(exc, "write") from exc
        log.info("secret written name=%s namespace=%s", self._name, self._namespace)
        return _snapshot(secret)

    def _translate(self, exc: ApiException, verb: str) -> Exception:
        where = f"Secret {self._namespace}/{self._name}"
        if exc.status in (409, 404) and verb == "write":
            # 409: changed or already exists; 404 on patch: deleted since we read it.
            return SecretConflict(f"{where} changed while fluxd was writing it")
        if exc.status == 403:
            return ClusterError(
                f"fluxd may not {verb} {where}",
                status=403,
                help=(
                    "Give fluxd's ServiceAccount get, create and patch on Secrets "
                    "in its namespace (see deploy/)."
                ),
            )
        return ClusterError(f"cannot {verb} {where}: {exc.reason}", status=exc.status)

    def _unreachable(self, exc: Exception, verb: str) -> ClusterError:
        return ClusterError(
            f"cannot {verb} Secret {self._namespace}/{self._name}: the API server "
            f"did not answer ({type(exc).__name__})",
            help="Check that the Kubernetes API server is reachable from fluxd.",
        )


def _snapshot(secret: Any) -> SecretSnapshot:
    raw = secret.data or {}
    data = {key: base64.b64decode(value) for key, value in raw.items()}
    return SecretSnapshot(version=str(secret.metadata.resource_version or ""), data=data)

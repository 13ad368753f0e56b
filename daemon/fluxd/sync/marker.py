"""Where the applied revision is recorded: a git tag, or an annotation on the
deploy-key Secret when the repo is read-only (``--sync-state``)."""

from __future__ import annotations

import logging
from typing import Protocol

from fluxd.cluster import SYNC_HWM_ANNOTATION
from fluxd.errors import ClusterError

log = logging.getLogger(__name__)


class SyncMarker(Protocol):
    def get(self) -> str | None: ...

    def set(self, revision: str) -> None: ...


class TagSource(Protocol):
    def sync_tag_revision(self) -> str | None: ...

    def move_sync_tag(self, revision: str) -> None: ...


class SecretAnnotations(Protocol):
    def read_annotations(self) -> dict[str, str]: ...

    def write_annotation(self, key: str, value: str) -> None: ...


class GitTagMarker:
    """The ``flux-sync`` tag (or ``--git-label``), force-pushed to the applied revision."""

    def __init__(self, git: TagSource) -> None:
        self._git = git

    def get(self) -> str | None:
        return self._git.sync_tag_revision()

    def set(self, revision: str) -> None:
        self._git.move_sync_tag(revision)


class SecretMarker:
    """The ``flux.weave.works/sync-hwm`` annotation on the deploy-key Secret."""

    def __init__(self, secret: SecretAnnotations) -> None:
        self._secret = secret

    def get(self) -> str | None:
        try:
            value = self._secret.read_annotations().get(SYNC_HWM_ANNOTATION, "")
        except ClusterError as exc:
            if exc.status == 404:
                return None
            raise
        return value or None

    def set(self, revision: str) -> None:
        self._secret.write_annotation(SYNC_HWM_ANNOTATION, revision)

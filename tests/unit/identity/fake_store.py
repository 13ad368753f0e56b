"""An in-memory ``SecretStore`` with the API server's optimistic-concurrency rules."""

from __future__ import annotations

from collections.abc import Mapping

from fluxd.errors import ClusterError
from fluxd.identity import SecretConflict, SecretSnapshot


class FakeSecretStore:
    def __init__(self, data: Mapping[str, bytes] | None = None) -> None:
        self._version = 0
        self.snapshot: SecretSnapshot | None = None
        self.reads = 0
        self.writes: list[dict[str, bytes]] = []
        self.fail_reads = False
        #: Called before a write is checked, to simulate a concurrent writer.
        self.before_write: list[Mapping[str, bytes] | None] = []
        if data is not None:
            self.put(data)

    # --- what a user (kubectl) does ---------------------------------------------

    def put(self, data: Mapping[str, bytes]) -> None:
        self._version += 1
        self.snapshot = SecretSnapshot(str(self._version), dict(data))

    def delete(self) -> None:
        self.snapshot = None

    # --- SecretStore ----------------------------------------------------------------

    def get_secret_data(self) -> SecretSnapshot | None:
        self.reads += 1
        if self.fail_reads:
            raise ClusterError("connection refused", status=None)
        return self.snapshot

    def write_secret_data(
        self, data: Mapping[str, bytes], *, expect_version: str | None
    ) -> SecretSnapshot:
        if self.before_write:
            concurrent = self.before_write.pop(0)
            if concurrent is not None:
                self.put(concurrent)
        current = self.snapshot
        if expect_version is None and current is not None:
            raise SecretConflict("already exists")
        if expect_version is not None and (current is None or current.version != expect_version):
            raise SecretConflict("changed")
        merged = {**(current.data if current else {}), **data}
        self.writes.append(dict(data))
        self.put(merged)
        assert self.snapshot is not None
        return self.snapshot

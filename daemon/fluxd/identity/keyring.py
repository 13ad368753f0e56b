"""The SSH identity fluxd uses for git, kept in the Secret ``flux-git-deploy``.

Life of the key:

* ``start()`` reads the Secret. A key in it is used as it is. When the Secret
  is missing, or holds no ``identity`` entry (``deploy/`` ships it empty), a
  key is generated and stored with its ``identity.pub``, as Flux v1 did.
* ``identity_file()`` is called before every git operation. At most once per
  ``refresh_interval`` it re-reads the Secret, and when its resourceVersion
  moved and the key changed it rewrites the key file. So a user who replaces
  the Secret (``kubectl delete`` + ``kubectl create secret generic
  flux-git-deploy --from-file=identity=./key``) is picked up without a restart.
* After start, fluxd never generates a key on its own. Between the user's
  delete and create, a Secret written by fluxd would make their create fail
  with AlreadyExists; so a missing or emptied Secret only withdraws the key
  (``identity_file()`` returns None and the key file is removed), and
  ``regenerate()`` (``fluxctl identity --regenerate``) is the way to get a new
  generated key.
* A key that cannot be used (passphrase, garbage) is reported as
  ``IdentityError`` on every use until the Secret is fixed. The old key is not
  used in its place, and the user's Secret is never written over.
* When the API cannot be reached, the last good key stays in use: the Secret
  did not necessarily change, and git should not fail because of an API blip.
  If ``start()`` itself failed that way, the next ``identity_file()`` finishes
  it, generating a key if the Secret has none.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fluxd.errors import ClusterError, IdentityError
from fluxd.identity.fingerprints import PublicKeyInfo, describe
from fluxd.identity.keyfile import KeyFile
from fluxd.identity.keys import KeyPair, generate_key, parse_private_key
from fluxd.identity.store import SecretConflict, SecretSnapshot, SecretStore
from fluxd.settings import SshSettings

__all__ = ["KeyRing"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Seen:
    """The last Secret version we looked at and what we made of it."""

    version: str
    digest: bytes  # sha256 of the raw key entry; b"" when there was none
    info: PublicKeyInfo | None = None
    error: IdentityError | None = None


class KeyRing:
    """The deploy key: read from, generated into and replaced in one Secret."""

    def __init__(
        self,
        store: SecretStore,
        *,
        ssh: SshSettings,
        data_key: str = "identity",
        refresh_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._ssh = ssh
        self._data_key = data_key
        self._refresh_interval = refresh_interval
        self._clock = clock
        self._file = KeyFile(ssh.keygen_dir, name=data_key)
        self._lock = threading.Lock()
        self._seen: _Seen | None = None
        self._started = False
        self._checked_at = float("-inf")

    def start(self) -> PublicKeyInfo:
        """Use the key in the Secret, or generate and store one; raise if it is unusable."""
        with self._lock:
            self._checked_at = self._clock()
            self._start_locked()
            return self._usable()

    def identity_file(self) -> Path | None:
        """Path of the private key to use now; None while the Secret holds no key."""
        with self._lock:
            self._maybe_refresh()
            return None if self._usable_or_none() is None else self._file.path

    def public_key(self) -> PublicKeyInfo | None:
        """The public key in use (re-reading the Secret like ``identity_file``)."""
        with self._lock:
            self._maybe_refresh()
            return self._usable_or_none()

    def regenerate(self) -> PublicKeyInfo:
        """Make a new key and store it in the Secret in place of the current one."""
        with self._lock:
            for _attempt in range(2):
                current = self._store.get_secret_data()
                try:
                    snapshot = self._write_new_key(current)
                except SecretConflict:
                    continue  # changed under us: read it again and replace that
                self._adopt(snapshot)
                self._started = True
                return self._usable()
            raise SecretConflict("the Secret kept changing while fluxd replaced the key")

    def close(self) -> None:
        """Remove the key file from disk."""
        with self._lock:
            self._file.close()

    # --- internals (called with the lock held) ----------------------------------

    def _start_locked(self) -> None:
        snapshot = self._store.get_secret_data()
        if snapshot is None or not snapshot.data.get(self._data_key):
            snapshot = self._store_new_key(snapshot)
        self._adopt(snapshot)
        self._started = True

    def _store_new_key(self, snapshot: SecretSnapshot | None) -> SecretSnapshot:
        try:
            return self._write_new_key(snapshot)
        except SecretConflict:
            # The user (or another replica) stored a Secret first: theirs wins.
            log.info("secret appeared while generating a key; using it")
            latest = self._store.get_secret_data()
            if latest is None:
                raise
            return latest

    def _write_new_key(self, snapshot: SecretSnapshot | None) -> SecretSnapshot:
        pair = generate_key(self._ssh.keygen_type, self._ssh.keygen_bits)
        data = {
            self._data_key: pair.private_openssh,
            f"{self._data_key}.pub": pair.public_key_text.encode(),
        }
        written = self._store.write_secret_data(
            data, expect_version=None if snapshot is None else snapshot.version
        )
        log.info(
            "generated SSH key type=%s fingerprint=%s",
            pair.type_name,
            describe(pair).sha256.display,
        )
        return written

    def _maybe_refresh(self) -> None:
        now = self._clock()
        if now - self._checked_at < self._refresh_interval:
            return
        self._checked_at = now
        if not self._started:
            # start() failed (API down, no RBAC yet): finish it now, generating
            # if need be, since the Secret was never seen.
            self._start_locked()
            return
        try:
            snapshot = self._store.get_secret_data()
        except (ClusterError, IdentityError) as exc:
            log.warning("cannot re-read the deploy key Secret, keeping the current key: %s", exc)
            return
        if snapshot is None:
            self._withdraw("", "the Secret was deleted")
        elif self._seen is None or snapshot.version != self._seen.version:
            self._adopt(snapshot)

    def _adopt(self, snapshot: SecretSnapshot) -> None:
        raw = snapshot.data.get(self._data_key, b"")
        if not raw:
            self._withdraw(snapshot.version, f"the Secret has no '{self._data_key}' entry")
            return
        digest = hashlib.sha256(raw).digest()
        if self._seen is not None and self._seen.digest == digest:
            self._seen = _Seen(snapshot.version, digest, self._seen.info, self._seen.error)
            return  # same key, other metadata changed
        try:
            pair = parse_private_key(raw, source=f"the '{self._data_key}' entry of the Secret")
        except IdentityError as exc:
            self._file.remove()
            self._seen = _Seen(snapshot.version, digest, error=exc)
            log.error("deploy key in the Secret is unusable: %s", exc)
            return
        self._use(pair, snapshot.version, digest)

    def _use(self, pair: KeyPair, version: str, digest: bytes) -> None:
        self._file.write(pair.private_openssh)
        info = describe(pair)
        changed = self._seen is not None
        self._seen = _Seen(version, digest, info)
        log.info(
            "%s SSH key type=%s fingerprint=%s",
            "switched to" if changed else "using",
            pair.type_name,
            info.sha256.display,
        )

    def _withdraw(self, version: str, reason: str) -> None:
        if self._seen is not None and self._seen.digest == b"":
            self._seen = _Seen(version, b"")
            return
        self._file.remove()
        self._seen = _Seen(version, b"")
        log.warning(
            "no deploy key: %s; create it with 'kubectl create secret generic ... "
            "--from-file=identity=<key>' or run 'fluxctl identity --regenerate'",
            reason,
        )

    def _usable_or_none(self) -> PublicKeyInfo | None:
        if self._seen is None:
            return None
        if self._seen.error is not None:
            # A fresh exception each time: re-raising one object grows its traceback.
            raise IdentityError(self._seen.error.message, help=self._seen.error.help)
        return self._seen.info

    def _usable(self) -> PublicKeyInfo:
        info = self._usable_or_none()
        if info is None:
            raise IdentityError("the Secret holds no SSH key")
        return info

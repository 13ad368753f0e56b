"""The key ring's life with a Secret, against an in-memory store."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from fluxd.errors import ClusterError, IdentityError
from fluxd.identity import KeyPair, KeyRing, SecretConflict, generate_key, parse_private_key
from fluxd.settings import SshSettings
from unit.identity.fake_store import FakeSecretStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float = 1.0) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_ring(tmp_path, clock):
    rings: list[KeyRing] = []

    def make(store: FakeSecretStore, **ssh: object) -> KeyRing:
        settings = SshSettings(keygen_dir=ssh.pop("keygen_dir", tmp_path / "keygen"), **ssh)  # type: ignore[arg-type]
        ring = KeyRing(store, ssh=settings, clock=clock)
        rings.append(ring)
        return ring

    yield make
    for ring in rings:
        ring.close()


def user_key() -> bytes:
    return generate_key("ed25519").private_openssh


def same_key(a: bytes, b: bytes) -> bool:
    """The file is re-serialised (OpenSSH adds random check bytes), so compare public halves."""
    return parse_private_key(a).public_line == parse_private_key(b).public_line


def test_first_start_without_secret_generates_a_key_and_creates_the_secret(make_ring):
    store = FakeSecretStore()
    ring = make_ring(store)

    info = ring.start()

    assert store.snapshot is not None
    assert set(store.snapshot.data) == {"identity", "identity.pub"}
    assert store.snapshot.data["identity.pub"].decode() == info.key
    assert info.key.startswith("ssh-ed25519 ")


def test_first_start_with_the_empty_shipped_secret_fills_it_in(make_ring):
    store = FakeSecretStore({})
    make_ring(store).start()

    assert store.snapshot is not None
    assert "identity" in store.snapshot.data
    assert len(store.writes) == 1


def test_key_type_and_size_come_from_settings(make_ring):
    store = FakeSecretStore()
    info = make_ring(store, keygen_type="rsa", keygen_bits=2048).start()
    assert info.key.startswith("ssh-rsa ")
    assert info.md5.randomart.startswith("+---[RSA 2048]----+")


def test_a_key_already_in_the_secret_is_used_and_nothing_is_written(make_ring):
    store = FakeSecretStore({"identity": user_key()})
    ring = make_ring(store)

    ring.start()

    assert store.writes == []
    path = ring.identity_file()
    assert path is not None
    assert store.snapshot is not None
    assert same_key(path.read_bytes(), store.snapshot.data["identity"])


def test_a_second_key_ring_reuses_the_stored_key(make_ring, tmp_path):
    store = FakeSecretStore()
    first = make_ring(store).start()
    second = make_ring(store, keygen_dir=tmp_path / "other").start()

    assert second.key == first.key
    assert len(store.writes) == 1


def test_key_file_is_0400_in_a_private_directory(make_ring):
    ring = make_ring(FakeSecretStore())
    ring.start()
    path = ring.identity_file()

    assert path is not None
    assert stat.S_IMODE(path.stat().st_mode) == 0o400
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0


def test_default_key_directory_is_memory_backed_when_dev_shm_exists(make_ring):
    ring = make_ring(FakeSecretStore(), keygen_dir=None)
    ring.start()
    path = ring.identity_file()

    assert path is not None
    if Path("/dev/shm").is_dir():
        assert path.is_relative_to("/dev/shm")


def test_close_removes_the_key_from_disk(make_ring):
    ring = make_ring(FakeSecretStore())
    ring.start()
    path = ring.identity_file()
    ring.close()
    assert path is not None and not path.exists()


@pytest.mark.parametrize("bad", [b"garbage", b"-----BEGIN OPENSSH PRIVATE KEY-----\nxx\n"])
def test_unreadable_user_key_at_start_is_an_identity_error_and_the_secret_is_untouched(
    make_ring, bad
):
    store = FakeSecretStore({"identity": bad})
    before = store.snapshot

    with pytest.raises(IdentityError):
        make_ring(store).start()

    assert store.writes == []
    assert store.snapshot is before


def test_a_replaced_secret_is_picked_up_by_the_next_git_operation(make_ring, clock):
    store = FakeSecretStore()
    ring = make_ring(store)
    ring.start()
    new_key = user_key()

    store.delete()
    store.put({"identity": new_key})
    clock.tick(1.0)
    path = ring.identity_file()

    assert path is not None
    assert same_key(path.read_bytes(), new_key)
    assert store.writes[1:] == []


def test_the_secret_is_read_at_most_once_per_second(make_ring, clock):
    store = FakeSecretStore()
    ring = make_ring(store)
    ring.start()
    reads = store.reads

    for _ in range(250):  # 2.5 seconds of back-to-back git operations
        ring.identity_file()
        clock.tick(0.01)

    assert store.reads - reads == 2


def test_an_unchanged_resource_version_is_not_parsed_again(make_ring, clock, monkeypatch):
    store = FakeSecretStore({"identity": user_key()})
    ring = make_ring(store)
    ring.start()
    parsed: list[bytes] = []

    def counting_parse(data: bytes, *, source: str = "") -> KeyPair:
        parsed.append(data)
        return parse_private_key(data, source=source)

    monkeypatch.setattr("fluxd.identity.keyring.parse_private_key", counting_parse)
    for _ in range(5):
        clock.tick(2)
        ring.identity_file()

    assert parsed == []


def test_a_deleted_secret_withdraws_the_key_without_generating_one(make_ring, clock):
    store = FakeSecretStore()
    ring = make_ring(store)
    ring.start()
    old = ring.identity_file()
    assert old is not None

    store.delete()
    clock.tick(1)

    assert ring.identity_file() is None
    assert not old.exists()
    assert store.snapshot is None
    assert ring.public_key() is None


def test_a_broken_replacement_is_reported_on_every_use_and_never_overwritten(make_ring, clock):
    store = FakeSecretStore()
    ring = make_ring(store)
    ring.start()
    old = ring.identity_file()
    store.put({"identity": b"not a key"})
    broken = store.snapshot

    for _ in range(3):
        clock.tick(1)
        with pytest.raises(IdentityError, match="not a readable private key"):
            ring.identity_file()

    assert old is not None and not old.exists(), "the old key must not be used instead"
    assert store.snapshot is broken
    assert len(store.writes) == 1


def test_fixing_a_broken_secret_recovers_without_restart(make_ring, clock):
    store = FakeSecretStore({"identity": b"junk"})
    ring = make_ring(store)
    with pytest.raises(IdentityError):
        ring.start()
    good = user_key()
    store.put({"identity": good})
    clock.tick(1)

    path = ring.identity_file()
    assert path is not None and same_key(path.read_bytes(), good)


def test_an_api_outage_keeps_the_current_key(make_ring, clock, caplog):
    store = FakeSecretStore()
    ring = make_ring(store)
    ring.start()
    store.fail_reads = True
    clock.tick(1)

    with caplog.at_level(logging.WARNING):
        assert ring.identity_file() is not None
    assert "keeping the current key" in caplog.text


def test_regenerate_replaces_the_key_in_the_secret_and_on_disk(make_ring):
    store = FakeSecretStore({"identity": user_key(), "known_hosts": b"github.com ..."})
    ring = make_ring(store)
    before = ring.start()

    after = ring.regenerate()

    assert after.key != before.key
    assert store.snapshot is not None
    assert store.snapshot.data["identity.pub"].decode() == after.key
    assert store.snapshot.data["known_hosts"] == b"github.com ...", "other entries are kept"
    path = ring.identity_file()
    assert path is not None and same_key(path.read_bytes(), store.snapshot.data["identity"])


def test_regenerate_after_the_secret_was_deleted_creates_it_again(make_ring, clock):
    store = FakeSecretStore()
    ring = make_ring(store)
    ring.start()
    store.delete()

    info = ring.regenerate()

    assert store.snapshot is not None
    assert store.snapshot.data["identity.pub"].decode() == info.key


def test_a_secret_created_by_the_user_during_first_start_wins(make_ring):
    theirs = user_key()
    store = FakeSecretStore()
    store.before_write.append({"identity": theirs})
    ring = make_ring(store)

    ring.start()

    path = ring.identity_file()
    assert path is not None and same_key(path.read_bytes(), theirs)
    assert store.writes == []


def test_regenerate_gives_up_with_a_conflict_when_the_secret_keeps_changing(make_ring):
    store = FakeSecretStore({"identity": user_key()})
    ring = make_ring(store)
    ring.start()
    store.before_write.extend([{"identity": user_key()}, {"identity": user_key()}])

    with pytest.raises(SecretConflict):
        ring.regenerate()


def test_the_private_key_is_never_logged(make_ring, clock, caplog):
    store = FakeSecretStore()
    with caplog.at_level(logging.DEBUG):
        ring = make_ring(store)
        ring.start()
        ring.regenerate()
        store.put({"identity": b"-----BEGIN OPENSSH PRIVATE KEY-----\nsecretstuff\n"})
        clock.tick(1)
        with pytest.raises(IdentityError):
            ring.identity_file()

    assert "PRIVATE KEY" not in caplog.text
    assert "secretstuff" not in caplog.text
    assert "SHA256:" in caplog.text


def test_a_start_that_failed_on_the_api_is_finished_by_the_next_git_operation(make_ring, clock):
    store = FakeSecretStore()
    store.fail_reads = True
    ring = make_ring(store)
    with pytest.raises(ClusterError):
        ring.start()
    clock.tick(1)
    with pytest.raises(ClusterError):
        ring.identity_file()

    store.fail_reads = False
    clock.tick(1)

    assert ring.identity_file() is not None
    assert store.snapshot is not None and "identity" in store.snapshot.data

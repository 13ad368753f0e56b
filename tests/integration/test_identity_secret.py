"""The deploy key's life in a real Secret on a real API server."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fluxd.cluster import SecretRequests
from fluxd.errors import IdentityError
from fluxd.identity import KeyRing, KubeSecretStore, parse_private_key
from fluxd.settings import SshSettings
from fluxtestbed.kube import Cluster as Kube

pytestmark = pytest.mark.cluster

SECRET = "flux-git-deploy"


@pytest.fixture
def api_client(kube: Kube) -> Iterator[Any]:
    client = kube.api_client()
    yield client
    client.close()


@pytest.fixture
def make_ring(api_client, namespace, tmp_path) -> Iterator[Any]:
    rings: list[KeyRing] = []

    def make(name: str = "ring") -> KeyRing:
        store = KubeSecretStore(SecretRequests(api_client, namespace=namespace, name=SECRET))
        # No throttle: each call re-reads the Secret, as a second passing would.
        ring = KeyRing(store, ssh=SshSettings(keygen_dir=tmp_path / name), refresh_interval=0)
        rings.append(ring)
        return ring

    yield make
    for ring in rings:
        ring.close()


def secret_json(kube: Kube, namespace: str) -> dict[str, Any]:
    out = kube.kubectl("get", "secret", "-n", namespace, SECRET, "-o", "json").stdout
    return dict(json.loads(out))


def public_line_of(path: Path) -> str:
    return parse_private_key(path.read_bytes()).public_line


def ssh_keygen_key(path: Path, *extra: str) -> Path:
    subprocess.run(
        ["/usr/bin/ssh-keygen", "-q", "-N", "", "-t", "ed25519", *extra, "-f", str(path)],
        check=True,
    )
    return path


def test_first_start_generates_a_key_into_the_secret_and_a_second_ring_reuses_it(
    kube, namespace, make_ring
):
    first = make_ring("first").start()

    stored = secret_json(kube, namespace)
    assert set(stored["data"]) == {"identity", "identity.pub"}

    second = make_ring("second").start()
    assert second.key == first.key
    assert (
        secret_json(kube, namespace)["metadata"]["resourceVersion"]
        == (stored["metadata"]["resourceVersion"])
    ), "the second start must not write"


def test_the_empty_shipped_secret_is_filled_in(kube, namespace, make_ring):
    kube.kubectl("create", "secret", "generic", SECRET, "-n", namespace)
    info = make_ring().start()
    stored = secret_json(kube, namespace)
    assert "identity" in stored["data"]
    assert info.key.startswith("ssh-ed25519 ")


def test_a_key_replaced_with_kubectl_is_used_by_the_next_git_operation(
    kube, namespace, make_ring, tmp_path
):
    ring = make_ring()
    ring.start()
    user_key = ssh_keygen_key(tmp_path / "user-key")
    expected = (tmp_path / "user-key.pub").read_text().split()[1]

    kube.kubectl("delete", "secret", "-n", namespace, SECRET)
    assert ring.identity_file() is None, "a deleted Secret withdraws the key"
    kube.kubectl(
        "create", "secret", "-n", namespace, "generic", SECRET, f"--from-file=identity={user_key}"
    )

    path = ring.identity_file()
    assert path is not None
    assert public_line_of(path).split()[1] == expected
    assert set(secret_json(kube, namespace)["data"]) == {"identity"}, "fluxd wrote nothing"


def test_a_garbage_key_is_an_identity_error_and_the_secret_is_left_alone(
    kube, namespace, make_ring, tmp_path
):
    garbage = tmp_path / "garbage"
    garbage.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nnot really\n")
    kube.kubectl(
        "create", "secret", "-n", namespace, "generic", SECRET, f"--from-file=identity={garbage}"
    )
    before = secret_json(kube, namespace)

    ring = make_ring()
    with pytest.raises(IdentityError):
        ring.start()
    with pytest.raises(IdentityError):
        ring.identity_file()

    after = secret_json(kube, namespace)
    assert after["data"] == before["data"]
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_a_passphrase_key_is_refused_and_left_alone(kube, namespace, make_ring, tmp_path):
    key = tmp_path / "locked"
    subprocess.run(
        ["/usr/bin/ssh-keygen", "-q", "-N", "pass phrase", "-t", "ed25519", "-f", str(key)],
        check=True,
    )
    kube.kubectl(
        "create", "secret", "-n", namespace, "generic", SECRET, f"--from-file=identity={key}"
    )
    before = secret_json(kube, namespace)

    with pytest.raises(IdentityError, match="passphrase"):
        make_ring().start()

    assert (
        secret_json(kube, namespace)["metadata"]["resourceVersion"]
        == (before["metadata"]["resourceVersion"])
    )


def test_regenerate_replaces_the_key_in_the_secret(kube, namespace, make_ring):
    ring = make_ring()
    before = ring.start()
    after = ring.regenerate()

    stored = secret_json(kube, namespace)
    assert base64.b64decode(stored["data"]["identity.pub"]).decode() == after.key
    assert after.key != before.key

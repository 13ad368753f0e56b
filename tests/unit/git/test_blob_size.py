"""A blob's size is read from git's headers, so a huge file is refused unread.

The repositories are made by git itself: loose objects, then a pack with
whole and delta entries, as a fetch leaves them in fluxd's mirror.
"""

from __future__ import annotations

import os
import random
import subprocess
import tracemalloc
from pathlib import Path

import pytest
from dulwich.object_store import MemoryObjectStore
from dulwich.objects import Blob, ObjectID
from dulwich.repo import Repo

from fluxd.errors import LimitError
from fluxd.git.blobsize import blob_size
from fluxd.git.reading import TreeReader

MiB = 1024 * 1024


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    done = subprocess.run(
        ["git", "-C", str(repo), *args], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def commit_file(repo: Path, name: str, content: bytes) -> str:
    (repo / name).write_bytes(content)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", name)
    return git(repo, "rev-parse", f"HEAD:{name}").strip()


def text(size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    words = [b"apiVersion", b"kind", b"metadata", b"name", b"value", b"spec", b"data"]
    out = bytearray()
    while len(out) < size:
        out += rng.choice(words) + b": " + str(rng.random()).encode() + b"\n"
    return bytes(out[:size])


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q")
    return path


def sizes(repo: Path, blobs: dict[str, bytes]) -> dict[str, int | None]:
    with Repo(str(repo)) as opened:
        store = opened.object_store
        return {sha: blob_size(store, ObjectID(sha.encode())) for sha in blobs}


def contents(repo: Path, shas: list[str]) -> dict[str, bytes]:
    with Repo(str(repo)) as opened:
        return {sha: opened.object_store[ObjectID(sha.encode())].data for sha in shas}  # type: ignore[attr-defined]


def test_the_size_of_loose_blobs_is_read_from_their_header(repo: Path) -> None:
    blobs = contents(
        repo, [commit_file(repo, f"f{n}.yaml", text(n * 1000 + 7, n)) for n in range(3)]
    )
    assert sizes(repo, blobs) == {sha: len(data) for sha, data in blobs.items()}


@pytest.mark.parametrize("offsets", ["true", "false"], ids=["ofs-delta", "ref-delta"])
def test_the_size_of_packed_blobs_whole_or_delta_is_read_from_the_pack(
    repo: Path, offsets: str
) -> None:
    base = text(200_000, 1)
    versions = [base, base + b"extra: 1\n", base[:50_000] + b"changed: 2\n" + base[50_000:]]
    blobs = {commit_file(repo, "app.yaml", content): content for content in versions}
    git(repo, "-c", f"repack.useDeltaBaseOffset={offsets}", "repack", "-a", "-d", "-f", "-q")
    verify = git(repo, "verify-pack", "-v", *map(str, (repo / ".git/objects/pack").glob("*.idx")))
    deltas = {line.split()[0] for line in verify.splitlines() if len(line.split()) == 7}
    assert deltas & set(blobs), "git stored no blob as a delta; the test proves nothing"
    assert sizes(repo, blobs) == {sha: len(data) for sha, data in blobs.items()}


def test_a_blob_over_the_limit_is_refused_without_being_read(repo: Path) -> None:
    big = commit_file(repo, "dump.yaml", text(30 * MiB, 3))
    git(repo, "gc", "-q")
    with Repo(str(repo)) as opened:
        reader = TreeReader(opened.object_store, max_blob_size=4 * MiB)
        tracemalloc.start()
        try:
            with pytest.raises(LimitError) as refused:
                reader.read_blob(big)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert str(refused.value) == (
        "file too large: 30.0 MiB is over the limit of 4Mi (--manifest-max-file-size)"
    )
    assert peak < 1 * MiB  # the blob itself is 30 MiB


def test_a_blob_at_the_limit_is_read(repo: Path) -> None:
    content = text(10_000, 4)
    sha = commit_file(repo, "app.yaml", content)
    with Repo(str(repo)) as opened:
        assert TreeReader(opened.object_store, max_blob_size=len(content)).read_blob(sha) == content
        with pytest.raises(LimitError):
            TreeReader(opened.object_store, max_blob_size=len(content) - 1).read_blob(sha)


def test_a_store_without_headers_to_read_still_refuses_a_blob_over_the_limit() -> None:
    store = MemoryObjectStore()
    blob = Blob.from_string(b"x" * 2048)
    store.add_object(blob)
    assert blob_size(store, blob.id) is None
    with pytest.raises(LimitError, match="over the limit of 1Ki"):
        TreeReader(store, max_blob_size=1024).read_blob(blob.id.decode())

"""What a mirror that never fetched answers: git errors only, nothing from dulwich."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import fluxd.git
from fluxd.errors import GitError, SettingsError
from fluxd.git import GitMirror, RepoStatus
from fluxd.settings import GitSettings, SshSettings


@pytest.fixture(params=["", "file:///nonexistent/repo.git"], ids=["unconfigured", "missing"])
def mirror(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GitMirror]:
    made = GitMirror(
        GitSettings(url=request.param),
        SshSettings(),
        workdir=tmp_path / "work",
        identity_file=lambda: None,
    )
    yield made
    made.close()


def test_advancing_records_why_and_never_raises(mirror: GitMirror) -> None:
    status = mirror.advance()
    assert status in (RepoStatus.UNCONFIGURED, RepoStatus.NEW)
    assert mirror.error
    assert not mirror.ready


def test_every_operation_fails_with_a_git_error(mirror: GitMirror) -> None:
    mirror.advance()
    calls: list[Callable[[], object]] = [
        mirror.refresh,
        mirror.head,
        lambda: mirror.manifest_files("0" * 40),
        lambda: mirror.read_blob("0" * 40),
        lambda: mirror.commits_between(None, "0" * 40),
        lambda: mirror.move_sync_tag("0" * 40),
    ]
    for call in calls:
        with pytest.raises(GitError):
            call()
    assert mirror.sync_tag_revision() is None


def test_a_malformed_url_is_refused_when_the_mirror_is_made(tmp_path: Path) -> None:
    with pytest.raises(SettingsError):
        GitMirror(
            GitSettings(url="git://example.org/app.git"),
            SshSettings(),
            workdir=tmp_path,
            identity_file=lambda: None,
        )


def test_the_public_names_are_exported_and_none_is_from_dulwich() -> None:
    for name in fluxd.git.__all__:
        assert not getattr(fluxd.git, name).__module__.startswith("dulwich")

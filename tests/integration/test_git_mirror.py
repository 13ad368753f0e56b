"""GitMirror against the real test-bed git server: sshd, smart HTTP and file://.

Each test gets a fresh bare repo. The statuses and messages are what a user
sees in ``fluxctl`` when the repo is not ready.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fluxd.errors import GitError, IdentityError
from fluxd.git import GitMirror, RepoStatus
from fluxd.git.mirror import NOT_CLONED, NOT_WRITE_CHECKED
from fluxd.settings import GitSettings, SshSettings
from fluxtestbed.git_fixtures import DeployKey, make_deploy_key
from fluxtestbed.gitserver import GitServer

pytestmark = pytest.mark.gitserver

MakeMirror = Callable[..., GitMirror]


@pytest.fixture
def make_mirror(tmp_path: Path) -> Iterator[MakeMirror]:
    made: list[GitMirror] = []

    def make(
        url: str,
        *,
        identity: Path | Callable[[], Path] | None = None,
        known_hosts: tuple[Path, ...] = (),
        scan: bool = False,
        **git: object,
    ) -> GitMirror:
        mirror = GitMirror(
            GitSettings(url=url, **git),  # type: ignore[arg-type]
            SshSettings(known_hosts=known_hosts, known_hosts_scan=scan),
            workdir=tmp_path / f"work{len(made)}",
            identity_file=identity if callable(identity) else lambda: identity,
        )
        made.append(mirror)
        return mirror

    yield make
    for mirror in made:
        mirror.close()


def settle(mirror: GitMirror) -> RepoStatus:
    """Advance until the status stops changing, as the daemon's retry loop would."""
    status = mirror.status
    for _ in range(4):
        if mirror.advance() is status:
            break
        status = mirror.status
    return status


@pytest.fixture
def pushed(git_server: GitServer, git_repo: str) -> str:
    return git_server.push_files(git_repo, {"deploy/app.yaml": "kind: Namespace\n"}, "first")


@pytest.fixture
def ssh_mirror(
    git_server: GitServer,
    git_repo: str,
    pushed: str,
    deploy_key: DeployKey,
    git_known_hosts: Path,
    make_mirror: MakeMirror,
) -> Callable[..., GitMirror]:
    """A mirror of the test repo (one commit) over SSH, with an authorized key."""

    def make(**git: object) -> GitMirror:
        url = git_server.ssh_url(git_repo)
        return make_mirror(url, identity=deploy_key.private, known_hosts=(git_known_hosts,), **git)

    return make


# -- SSH -------------------------------------------------------------------------


def test_ssh_with_an_authorized_key_goes_new_cloned_ready(
    git_server: GitServer, git_repo: str, pushed: str, ssh_mirror: MakeMirror
) -> None:
    mirror = ssh_mirror()
    assert (mirror.status, mirror.error) == (RepoStatus.NEW, NOT_CLONED)
    assert mirror.advance() is RepoStatus.CLONED
    assert mirror.error == NOT_WRITE_CHECKED
    assert not mirror.ready
    assert mirror.advance() is RepoStatus.READY
    assert (mirror.ready, mirror.error) == (True, "")
    assert mirror.head() == pushed
    # The write check cleaned up after itself.
    assert git_server.git(git_repo, "tag", "--list", "flux-write-check-*") == ""


@pytest.mark.parametrize("key_type", ["ed25519", "ecdsa", "rsa"])
def test_each_type_of_server_host_key_is_honoured(
    git_server: GitServer,
    git_repo: str,
    pushed: str,
    deploy_key: DeployKey,
    make_mirror: MakeMirror,
    tmp_path: Path,
    key_type: str,
) -> None:
    only_one = tmp_path / f"known_hosts_{key_type}"
    only_one.write_text(git_server.known_hosts_lines(key_type)[0] + "\n")
    mirror = make_mirror(
        git_server.ssh_url(git_repo), identity=deploy_key.private, known_hosts=(only_one,)
    )
    assert settle(mirror) is RepoStatus.READY, mirror.error


@pytest.mark.parametrize("key_type", ["rsa", "ecdsa"])
def test_deploy_keys_of_other_types_work(
    git_server: GitServer,
    git_repo: str,
    pushed: str,
    git_known_hosts: Path,
    make_mirror: MakeMirror,
    tmp_path: Path,
    key_type: str,
) -> None:
    key = make_deploy_key(tmp_path, f"id_{key_type}", key_type)
    git_server.authorize(key.public_line)
    try:
        mirror = make_mirror(
            git_server.ssh_url(git_repo), identity=key.private, known_hosts=(git_known_hosts,)
        )
        assert settle(mirror) is RepoStatus.READY, mirror.error
    finally:
        git_server.revoke(key.public_line)


def test_an_unauthorized_key_stays_new_and_says_to_add_the_deploy_key(
    git_server: GitServer,
    git_repo: str,
    pushed: str,
    git_known_hosts: Path,
    make_mirror: MakeMirror,
    tmp_path: Path,
) -> None:
    stranger = make_deploy_key(tmp_path, "stranger")
    mirror = make_mirror(
        git_server.ssh_url(git_repo), identity=stranger.private, known_hosts=(git_known_hosts,)
    )
    assert settle(mirror) is RepoStatus.NEW
    assert "refused fluxd's SSH key (permission denied)" in mirror.error
    with pytest.raises(GitError) as caught:
        mirror.refresh()
    assert "git repo not ready" in str(caught.value)


def test_an_unknown_host_key_is_refused_naming_the_host(
    git_server: GitServer,
    git_repo: str,
    pushed: str,
    deploy_key: DeployKey,
    make_mirror: MakeMirror,
) -> None:
    mirror = make_mirror(git_server.ssh_url(git_repo), identity=deploy_key.private)
    assert settle(mirror) is RepoStatus.NEW
    assert f"host key of [127.0.0.1]:{git_server.ssh_port} is not known" in mirror.error


def test_a_changed_host_key_is_refused_as_changed(
    git_server: GitServer,
    git_repo: str,
    pushed: str,
    deploy_key: DeployKey,
    make_mirror: MakeMirror,
    tmp_path: Path,
) -> None:
    impostor = make_deploy_key(tmp_path, "impostor")
    wrong = tmp_path / "wrong_known_hosts"
    algo, blob = impostor.public_line.split()[:2]
    wrong.write_text(f"[127.0.0.1]:{git_server.ssh_port} {algo} {blob}\n")
    mirror = make_mirror(
        git_server.ssh_url(git_repo), identity=deploy_key.private, known_hosts=(wrong,)
    )
    assert settle(mirror) is RepoStatus.NEW
    assert "has CHANGED" in mirror.error


def test_trust_on_first_use_records_and_logs_the_host_key(
    git_server: GitServer,
    git_repo: str,
    pushed: str,
    deploy_key: DeployKey,
    make_mirror: MakeMirror,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    mirror = make_mirror(git_server.ssh_url(git_repo), identity=deploy_key.private, scan=True)
    with caplog.at_level(logging.WARNING, logger="fluxd.git"):
        assert settle(mirror) is RepoStatus.READY, mirror.error
    learned = (tmp_path / "work0" / "known_hosts.learned").read_text()
    assert f"[127.0.0.1]:{git_server.ssh_port} " in learned
    assert f"Permanently added '[127.0.0.1]:{git_server.ssh_port}'" in caplog.text


def test_a_replaced_key_is_used_from_the_next_operation(
    git_server: GitServer,
    git_repo: str,
    pushed: str,
    deploy_key: DeployKey,
    git_known_hosts: Path,
    tmp_path: Path,
) -> None:
    current = {"key": deploy_key.private}
    mirror = GitMirror(
        GitSettings(url=git_server.ssh_url(git_repo)),
        SshSettings(known_hosts=(git_known_hosts,)),
        workdir=tmp_path / "work",
        identity_file=lambda: current["key"],
    )
    try:
        assert settle(mirror) is RepoStatus.READY, mirror.error
        replacement = make_deploy_key(tmp_path, "replacement")
        git_server.authorize(replacement.public_line)
        git_server.revoke(deploy_key.public_line)
        current["key"] = replacement.private
        try:
            assert mirror.refresh() == pushed
        finally:
            git_server.revoke(replacement.public_line)
    finally:
        mirror.close()


def test_no_key_yet_is_reported_instead_of_trying_other_keys(
    git_server: GitServer, git_repo: str, git_known_hosts: Path, make_mirror: MakeMirror
) -> None:
    mirror = make_mirror(git_server.ssh_url(git_repo), known_hosts=(git_known_hosts,))
    assert settle(mirror) is RepoStatus.NEW
    assert "no SSH key" in mirror.error


def test_a_key_that_cannot_be_loaded_is_reported(
    git_server: GitServer, git_repo: str, make_mirror: MakeMirror
) -> None:
    def unreadable_key() -> Path:
        raise IdentityError("Secret flux-git-deploy holds no key")

    mirror = make_mirror(git_server.ssh_url(git_repo), identity=unreadable_key)
    assert mirror.advance() is RepoStatus.NEW
    assert mirror.error == "fluxd's SSH key is not available: Secret flux-git-deploy holds no key"


def test_a_wrong_repo_path_is_reported_as_not_found(
    git_server: GitServer, deploy_key: DeployKey, git_known_hosts: Path, make_mirror: MakeMirror
) -> None:
    mirror = make_mirror(
        git_server.ssh_url("no-such-repo"),
        identity=deploy_key.private,
        known_hosts=(git_known_hosts,),
    )
    assert settle(mirror) is RepoStatus.NEW
    assert "no-such-repo.git not found" in mirror.error


@pytest.mark.parametrize("scheme", ["ssh", "http"])
def test_a_closed_port_makes_the_repo_unreachable(
    scheme: str, deploy_key: DeployKey, make_mirror: MakeMirror
) -> None:
    mirror = make_mirror(f"{scheme}://git@127.0.0.1:1/srv/app.git", identity=deploy_key.private)
    assert settle(mirror) is RepoStatus.UNREACHABLE
    assert "could not connect to [127.0.0.1]:1" in mirror.error
    assert "Connection refused" in mirror.error


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts connections and never says a word."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield listener.getsockname()[1]


@pytest.mark.parametrize("scheme", ["ssh", "http"])
def test_a_silent_server_times_out_and_is_unreachable(
    scheme: str,
    silent_port: int,
    deploy_key: DeployKey,
    git_known_hosts: Path,
    make_mirror: MakeMirror,
) -> None:
    mirror = make_mirror(
        f"{scheme}://git@127.0.0.1:{silent_port}/app.git",
        identity=deploy_key.private,
        known_hosts=(git_known_hosts,),
        timeout=1.0,
    )
    started = time.monotonic()
    assert mirror.advance() is RepoStatus.UNREACHABLE
    assert mirror.error.startswith(f"timed out talking to [127.0.0.1]:{silent_port}")
    assert time.monotonic() - started < 5  # one attempt, not urllib3's four


def test_a_key_that_can_read_but_not_write_fails_the_write_check(
    git_server: GitServer, git_repo: str, ssh_mirror: MakeMirror
) -> None:
    mirror = ssh_mirror()
    with git_server.read_only(git_repo):
        assert settle(mirror) is RepoStatus.CLONED
    assert "no write access" in mirror.error
    assert mirror.advance() is RepoStatus.READY  # once writable again


def test_readonly_mode_is_ready_without_ever_pushing(
    git_server: GitServer, git_repo: str, pushed: str, ssh_mirror: MakeMirror
) -> None:
    mirror = ssh_mirror(readonly=True)
    with git_server.read_only(git_repo):
        assert settle(mirror) is RepoStatus.READY, mirror.error
        with pytest.raises(GitError, match="read-only"):
            mirror.move_sync_tag(pushed)
    assert git_server.git(git_repo, "tag", "--list") == ""


def test_a_failed_fetch_when_ready_goes_back_to_new(
    git_server: GitServer, deploy_key: DeployKey, ssh_mirror: MakeMirror
) -> None:
    mirror = ssh_mirror()
    assert settle(mirror) is RepoStatus.READY
    git_server.revoke(deploy_key.public_line)
    with pytest.raises(GitError, match="permission denied"):
        mirror.refresh()
    assert mirror.status is RepoStatus.NEW
    git_server.authorize(deploy_key.public_line)
    assert settle(mirror) is RepoStatus.READY


# -- HTTP(S), file://, configuration ------------------------------------------------------


def test_http_basic_auth_clones_and_passes_the_write_check(
    git_server: GitServer, git_repo: str, pushed: str, make_mirror: MakeMirror
) -> None:
    user, password = git_server.http_credentials
    mirror = make_mirror(git_server.http_url(git_repo), auth_user=user, auth_key=password)
    assert settle(mirror) is RepoStatus.READY, mirror.error
    assert mirror.head() == pushed
    assert password not in mirror.safe_url()


def test_http_with_a_wrong_password_fails_clearly(
    git_server: GitServer, git_repo: str, pushed: str, make_mirror: MakeMirror
) -> None:
    user, _ = git_server.http_credentials
    mirror = make_mirror(git_server.http_url(git_repo), auth_user=user, auth_key="wrong-pw")
    assert settle(mirror) is RepoStatus.NEW
    assert "refused the HTTPS credentials" in mirror.error
    assert "wrong-pw" not in mirror.error


def test_an_http_account_without_push_fails_the_write_check(
    git_server: GitServer, git_repo: str, pushed: str, make_mirror: MakeMirror
) -> None:
    user, password = git_server.http_readonly_credentials
    mirror = make_mirror(git_server.http_url(git_repo), auth_user=user, auth_key=password)
    assert settle(mirror) is RepoStatus.CLONED
    assert "no write access" in mirror.error


def test_file_url_works_like_any_remote(
    git_server: GitServer, git_repo: str, pushed: str, make_mirror: MakeMirror
) -> None:
    mirror = make_mirror(git_server.file_url(git_repo))
    assert settle(mirror) is RepoStatus.READY, mirror.error
    assert mirror.refresh() == pushed


def test_a_missing_branch_keeps_the_repo_cloned_with_its_name(
    git_server: GitServer, git_repo: str, pushed: str, make_mirror: MakeMirror
) -> None:
    mirror = make_mirror(git_server.file_url(git_repo), branch="production")
    assert settle(mirror) is RepoStatus.CLONED
    assert mirror.error.startswith("configured branch 'production' does not exist")
    git_server.push_files(git_repo, {"x.yaml": "a: 1\n"}, "start prod", branch="production")
    assert settle(mirror) is RepoStatus.READY


def test_without_a_url_the_repo_is_unconfigured_and_stays_so(make_mirror: MakeMirror) -> None:
    mirror = make_mirror("")
    assert mirror.advance() is RepoStatus.UNCONFIGURED
    assert "--git-url" in mirror.error
    assert mirror.safe_url() == ""

"""Failures are named by their cause, with a help text that says what to do.

The stderr samples are what OpenSSH 9, git and the big git hosts print.
"""

from __future__ import annotations

import pytest
from dulwich.client import HTTPUnauthorized
from dulwich.errors import GitProtocolError, HangupException, NotGitRepository, SendPackError

from fluxd.errors import GitError
from fluxd.git import Cause, GitRemoteError, parse_remote_url
from fluxd.git.failures import classify, explain, remote_error

SSH_REMOTE = parse_remote_url("ssh://git@127.0.0.1:2222/srv/app.git")
HTTPS_REMOTE = parse_remote_url(
    "https://example.org/app.git", auth_user="flux", auth_key="tok3n-value"
)

UNKNOWN_HOST = (
    "No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\n"
    "Host key verification failed.\n"
)
CHANGED_HOST = (
    "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n"
    "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n"
    "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n"
    "IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\n"
    "The fingerprint for the ED25519 key sent by the remote host is\n"
    "SHA256:Zlzh8STBEuS3EKgi7PF5qCcY0KB152APGi+XlJbgk8g.\n"
    "Host key for [127.0.0.1]:2222 has changed and you have requested strict checking.\n"
    "Host key verification failed.\n"
)
KEY_REJECTED = "git@127.0.0.1: Permission denied (publickey).\n"


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        (UNKNOWN_HOST, Cause.HOST_KEY_UNKNOWN),
        (CHANGED_HOST, Cause.HOST_KEY_CHANGED),
        (KEY_REJECTED, Cause.KEY_REJECTED),
        (
            'Load key "/var/fluxd/keygen/identity": bad permissions\n' + KEY_REJECTED,
            Cause.KEY_FILE_UNUSABLE,
        ),
        (
            "ssh: Could not resolve hostname gitlab.example: Name or service not known",
            Cause.HOST_UNRESOLVABLE,
        ),
        ("ssh: connect to host 127.0.0.1 port 1: Connection refused", Cause.CONNECTION_FAILED),
        ("ssh: connect to host 10.1.2.3 port 22: Connection timed out", Cause.TIMEOUT),
        ("Connection timed out during banner exchange", Cause.TIMEOUT),
        (
            "fatal: '/srv/app.git' does not appear to be a git repository",
            Cause.REPO_NOT_FOUND,
        ),
        ("ERROR: Repository not found.", Cause.REPO_NOT_FOUND),
        (
            "ERROR: The project you were looking for could not be found or you don't have "
            "permission to view it.",
            Cause.REPO_NOT_FOUND,
        ),
        ("something nobody has seen before", Cause.OTHER),
    ],
)
def test_stderr_of_ssh_and_git_names_the_cause(text: str, cause: Cause) -> None:
    assert classify(text) is cause


@pytest.mark.parametrize(
    "text",
    [
        "ERROR: The key you are authenticating with has been marked as read only.",
        "ERROR: This deploy key does not have write access to this project.",
        "remote: Permission to owner/app.git denied to deploy-key.",
        "unexpected http resp 403 for https://example.org/app.git/info/refs",
        "unpack unable to create temporary object directory",
    ],
)
def test_a_push_the_server_refuses_is_a_missing_write_access(text: str) -> None:
    assert classify(text, pushing=True) is Cause.PUSH_REFUSED


def test_an_unknown_key_is_not_mistaken_for_missing_write_access() -> None:
    assert classify(KEY_REJECTED, pushing=True) is Cause.KEY_REJECTED


def test_unknown_host_key_error_names_the_host_and_how_to_trust_it() -> None:
    error = explain(HangupException(), SSH_REMOTE, UNKNOWN_HOST)
    assert error.cause is Cause.HOST_KEY_UNKNOWN
    assert "[127.0.0.1]:2222 is not known" in error.message
    assert "--ssh-known-hosts" in error.help
    assert "ssh-keyscan -p 2222 127.0.0.1" in error.help


def test_changed_host_key_error_says_changed_and_shows_the_offered_fingerprint() -> None:
    error = explain(HangupException(), SSH_REMOTE, CHANGED_HOST)
    assert error.cause is Cause.HOST_KEY_CHANGED
    assert "CHANGED" in error.message
    assert "SHA256:Zlzh8STBEuS3EKgi7PF5qCcY0KB152APGi+XlJbgk8g" in error.message
    assert "intercepting" in error.help


def test_rejected_key_tells_to_register_the_deploy_key_with_write_access() -> None:
    error = explain(HangupException(), SSH_REMOTE, KEY_REJECTED)
    assert error.cause is Cause.KEY_REJECTED
    assert "permission denied" in error.message
    assert "run 'fluxctl identity' and add the key as a deploy key with write access" in (
        error.help.lower()
    )


def test_http_401_is_rejected_credentials_without_showing_them() -> None:
    exc = HTTPUnauthorized('Basic realm="git"', "https://example.org/app.git/info/refs")
    error = explain(exc, HTTPS_REMOTE)
    assert error.cause is Cause.CREDENTIALS_REJECTED
    assert "GIT_AUTHUSER" in error.help
    assert "tok3n-value" not in f"{error.message} {error.help}"


def test_a_password_echoed_by_the_server_is_masked() -> None:
    exc = GitProtocolError("bad request for https://flux:tok3n-value@example.org/app.git")
    error = explain(exc, HTTPS_REMOTE)
    assert "tok3n-value" not in error.message
    assert "***" in error.message


def test_http_404_means_repo_not_found() -> None:
    error = explain(NotGitRepository(), HTTPS_REMOTE)
    assert error.cause is Cause.REPO_NOT_FOUND
    assert error.message == "repository https://flux@example.org/app.git not found"


def test_an_unpack_failure_while_pushing_reads_as_text_not_bytes() -> None:
    exc = SendPackError(b"unpack unable to create temporary object directory")
    error = explain(exc, SSH_REMOTE, pushing=True)
    assert error.cause is Cause.PUSH_REFUSED
    assert error.message.endswith(": unpack unable to create temporary object directory")
    assert "--git-readonly" in error.help


@pytest.mark.parametrize(
    ("cause", "unreachable"),
    [
        (Cause.HOST_UNRESOLVABLE, True),
        (Cause.CONNECTION_FAILED, True),
        (Cause.TIMEOUT, True),
        (Cause.KEY_REJECTED, False),
        (Cause.HOST_KEY_UNKNOWN, False),
    ],
)
def test_only_network_failures_count_as_unreachable(cause: Cause, unreachable: bool) -> None:
    assert remote_error(cause, SSH_REMOTE).unreachable is unreachable


def test_remote_errors_are_git_errors_and_an_explained_error_is_kept() -> None:
    error = remote_error(Cause.REPO_NOT_FOUND, SSH_REMOTE)
    assert isinstance(error, GitError)
    assert explain(error, SSH_REMOTE) is error
    assert isinstance(error, GitRemoteError)


def test_every_cause_has_a_message_and_a_specific_help() -> None:
    for cause in Cause:
        if cause is Cause.BRANCH_MISSING:
            continue  # built with the branch name by branch_missing()
        error = remote_error(cause, SSH_REMOTE)
        assert error.message
        assert error.help != GitError.default_help


def test_a_full_local_disk_is_named_as_such_with_what_to_do() -> None:
    error = explain(OSError(28, "No space left on device"), SSH_REMOTE)
    assert error.cause is Cause.DISK_FULL
    assert "no space left" in str(error)
    assert error.help is not None and "TMPDIR" in error.help


def test_a_remote_saying_its_disk_is_full_is_not_our_disk() -> None:
    remote_says = GitProtocolError("unpack error: No space left on device")
    assert explain(remote_says, SSH_REMOTE).cause is not Cause.DISK_FULL

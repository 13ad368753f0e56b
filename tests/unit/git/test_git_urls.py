"""Which git URLs fluxd accepts, and that credentials never show."""

from __future__ import annotations

import pytest

from fluxd.errors import SettingsError
from fluxd.git import RemoteUrl, Scheme, parse_remote_url


def test_ssh_url_with_user_port_and_absolute_path() -> None:
    url = parse_remote_url("ssh://git@example.org:2222/srv/git/app.git")
    assert url == RemoteUrl(Scheme.SSH, "example.org", 2222, "git", "", "/srv/git/app.git")
    assert url.is_ssh


def test_scp_like_url_is_ssh_with_a_path_relative_to_the_login() -> None:
    url = parse_remote_url("git@github.com:fluxcd/flux-get-started.git")
    assert (url.scheme, url.host, url.user, url.port) == (Scheme.SSH, "github.com", "git", None)
    assert url.path == "fluxcd/flux-get-started.git"
    assert url.safe() == "git@github.com:fluxcd/flux-get-started.git"


def test_scp_like_url_without_user() -> None:
    url = parse_remote_url("gitlab.com:group/app.git")
    assert (url.host, url.user, url.path) == ("gitlab.com", "", "group/app.git")


def test_https_credentials_in_the_url_are_used_but_not_shown() -> None:
    url = parse_remote_url("https://bot:s3cr%40t@git.example.org/team/app.git")
    assert (url.user, url.password) == ("bot", "s3cr@t")
    assert url.safe() == "https://bot@git.example.org/team/app.git"
    assert "s3cr" not in str(url)
    assert "s3cr" not in repr(url)


def test_git_authuser_and_authkey_take_precedence_over_the_url() -> None:
    url = parse_remote_url(
        "https://old:old@git.example.org/app.git", auth_user="flux", auth_key="token"
    )
    assert (url.user, url.password) == ("flux", "token")
    assert url.transport_url() == "https://git.example.org/app.git"


def test_http_on_a_port_keeps_the_port_in_both_forms() -> None:
    url = parse_remote_url("http://127.0.0.1:8080/app.git", auth_user="u", auth_key="p")
    assert url.safe() == "http://u@127.0.0.1:8080/app.git"
    assert url.transport_url() == "http://127.0.0.1:8080/app.git"


def test_an_ssh_password_in_the_url_is_dropped() -> None:
    url = parse_remote_url("ssh://git:hunter2@example.org/app.git")
    assert url.password == ""
    assert "hunter2" not in url.safe()


def test_file_url_keeps_the_local_path() -> None:
    url = parse_remote_url("file:///var/repos/my%20app.git")
    assert (url.scheme, url.path) == (Scheme.FILE, "/var/repos/my app.git")
    assert url.safe() == "file:///var/repos/my%20app.git"


@pytest.mark.parametrize(
    ("url", "known_as"),
    [
        ("git@github.com:o/r.git", "github.com"),
        ("ssh://git@github.com:22/o/r.git", "github.com"),
        ("ssh://git@127.0.0.1:2222/r.git", "[127.0.0.1]:2222"),
    ],
)
def test_host_is_named_as_openssh_names_it_in_known_hosts(url: str, known_as: str) -> None:
    assert parse_remote_url(url).host_for_known_hosts == known_as


@pytest.mark.parametrize(
    "url",
    ["", "git://example.org/app.git", "ftp://example.org/app.git", "https:///app.git", "nohost"],
)
def test_unusable_urls_are_refused_with_the_accepted_forms(url: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_remote_url(url)
    assert "git@host:owner/repo.git" in caught.value.help


@pytest.mark.parametrize(
    "url", ["-oProxyCommand=calc:repo.git", "ssh://-oProxyCommand=calc/repo.git"]
)
def test_a_host_that_ssh_would_take_for_an_option_is_refused(url: str) -> None:
    with pytest.raises(SettingsError, match="invalid host"):
        parse_remote_url(url)


def test_a_refused_url_does_not_echo_its_password() -> None:
    with pytest.raises(SettingsError) as caught:
        parse_remote_url("ftp://bot:topsecret@example.org/app.git")
    assert "topsecret" not in str(caught.value)

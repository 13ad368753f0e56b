"""Repository URLs: one parser for --git-url, webhook URLs and fluxctl's hints."""

from __future__ import annotations

import pytest

from fluxctl.repostatus import repo_host
from fluxids import RepoUrl
from fluxids.repourl import Scheme


@pytest.mark.parametrize(
    "url",
    [
        "git@github.com:Team/App.git",
        "ssh://git@github.com:22/team/app",
        "https://bot:secret@github.com/team/app.git/",
        "git://github.com/team/app.git",
    ],
)
def test_every_form_of_one_repository_has_the_same_key(url: str) -> None:
    assert RepoUrl.parse(url).key == "github.com/team/app"


def test_a_known_scheme_is_a_scheme_member_and_an_unknown_one_stays_text() -> None:
    assert RepoUrl.parse("https://h/r").scheme is Scheme.HTTPS
    assert RepoUrl.parse("ftp://h/r").scheme == "ftp"


@pytest.mark.parametrize(
    "url", ["nohost", "https:///r.git", "https://u:topsecret@h:99999/r", "host:"]
)
def test_text_that_is_no_repository_url_is_a_value_error_without_its_password(url: str) -> None:
    with pytest.raises(ValueError) as caught:
        RepoUrl.parse(url)
    assert "topsecret" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("git@github.com:o/r.git", "github.com"),
        ("ssh://git@example.org:2222/r.git", "example.org"),
        ("not a url", "not a url"),
    ],
)
def test_fluxctl_names_the_host_of_the_url_fluxd_reports(url: str, host: str) -> None:
    assert repo_host(url) == host

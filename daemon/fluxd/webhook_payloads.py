"""Each provider's push payload as a typed model: what a delivery must look like.

Only the fields fluxd reads are declared; the rest is ignored, so a provider
adding fields breaks nothing. A declared field of the wrong type (``"changes":
5``) is a ``BadPayload`` naming it, as JSON path, rather than an exception
deep in the matching code. Types are strict: a number is not a URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fluxd.errors import UserError

__all__ = ["PAYLOADS", "BadPayload", "Push", "read_push"]


class BadPayload(UserError):
    """The delivery's body is not what the provider sends (HTTP 400)."""

    default_help = "Send the provider's JSON push payload (content type application/json)."


class Push(BaseModel):
    """What a push payload says moved: the repo (under all its URLs) and the branch."""

    model_config = ConfigDict(frozen=True)

    urls: tuple[str, ...]
    branch: str


class _Model(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


def _present(*values: str | None) -> list[str]:
    return [value for value in values if value]


def _branch_of(ref: str) -> str:
    # A tag push (refs/tags/...) names no branch, so it matches none.
    return ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else ""


# --- GitHub and Gitea -------------------------------------------------------------------


class _GitHubRepo(_Model):
    clone_url: str | None = None
    ssh_url: str | None = None
    git_url: str | None = None
    html_url: str | None = None
    url: str | None = None


class GitHubPush(_Model):
    ref: str = Field(min_length=1)
    repository: _GitHubRepo

    def push(self) -> Push:
        repo = self.repository
        urls = _present(repo.clone_url, repo.ssh_url, repo.git_url, repo.html_url, repo.url)
        return Push(urls=tuple(urls), branch=_branch_of(self.ref))


# --- GitLab -------------------------------------------------------------------------------


class _GitLabSection(_Model):
    git_ssh_url: str | None = None
    git_http_url: str | None = None
    web_url: str | None = None
    url: str | None = None
    homepage: str | None = None

    def urls(self) -> list[str]:
        return _present(self.git_ssh_url, self.git_http_url, self.web_url, self.url, self.homepage)


class GitLabPush(_Model):
    ref: str = Field(min_length=1)
    project: _GitLabSection | None = None
    repository: _GitLabSection | None = None

    def push(self) -> Push:
        urls = [url for part in (self.project, self.repository) if part for url in part.urls()]
        if not urls:
            raise BadPayload("payload has neither 'project' nor 'repository' URLs")
        return Push(urls=tuple(urls), branch=_branch_of(self.ref))


# --- Bitbucket (Cloud and Server) ----------------------------------------------------------


class _Href(_Model):
    href: str | None = None


class _BitbucketLinks(_Model):
    html: _Href | None = None
    clone: list[_Href] = []  # Bitbucket Server: one per protocol


class _BitbucketRepo(_Model):
    full_name: str | None = None  # Cloud: owner/repo
    links: _BitbucketLinks = _BitbucketLinks()


class _CloudTarget(_Model):
    type: str | None = None
    name: str | None = None


class _CloudChange(_Model):
    new: _CloudTarget | None = None


class _CloudPush(_Model):
    changes: list[_CloudChange] = []


class _ServerRef(_Model):
    type: str | None = None
    displayId: str | None = None  # the payload's own spelling


class _ServerChange(_Model):
    ref: _ServerRef | None = None


class BitbucketPush(_Model):
    repository: _BitbucketRepo
    push: _CloudPush | None = None
    changes: list[_ServerChange] | None = None

    def to_push(self) -> Push:
        links = self.repository.links
        urls = _present(links.html.href if links.html else None)
        urls += _present(*(clone.href for clone in links.clone))
        if self.repository.full_name:
            urls.append(f"https://bitbucket.org/{self.repository.full_name}")
        return Push(urls=tuple(urls), branch=self._branch())

    def _branch(self) -> str:
        if self.push is not None:
            for change in self.push.changes:
                if change.new is not None and change.new.type == "branch":
                    return change.new.name or ""
            return ""
        if self.changes is not None:
            for server in self.changes:
                if server.ref is not None and server.ref.type == "BRANCH":
                    return server.ref.displayId or ""
            return ""
        raise BadPayload("payload has neither 'push' (Bitbucket Cloud) nor 'changes' (Server)")


# --- generic --------------------------------------------------------------------------------


class GenericPush(_Model):
    url: str = Field(min_length=1)
    branch: str = Field(min_length=1)

    def push(self) -> Push:
        return Push(urls=(self.url,), branch=self.branch.removeprefix("refs/heads/"))


def _github(data: Mapping[str, Any]) -> Push:
    return GitHubPush.model_validate(data).push()


def _gitlab(data: Mapping[str, Any]) -> Push:
    return GitLabPush.model_validate(data).push()


def _bitbucket(data: Mapping[str, Any]) -> Push:
    return BitbucketPush.model_validate(data).to_push()


def _generic(data: Mapping[str, Any]) -> Push:
    return GenericPush.model_validate(data).push()


#: Provider name -> reader of its push payload.
PAYLOADS = {
    "github": _github,
    "gitea": _github,
    "gitlab": _gitlab,
    "bitbucket": _bitbucket,
    "generic": _generic,
}


def read_push(provider: str, data: Mapping[str, Any]) -> Push:
    """The push ``data`` describes; ``BadPayload`` naming the first fields at fault."""
    try:
        return PAYLOADS[provider](data)
    except ValidationError as exc:
        problems = "; ".join(_describe(error) for error in exc.errors()[:3])
        raise BadPayload(f"{provider} push payload: {problems}") from exc


def _describe(error: Mapping[str, Any]) -> str:
    where = ".".join(str(part) for part in error.get("loc", ())) or "body"
    return f"field '{where}': {error.get('msg', 'invalid')}"

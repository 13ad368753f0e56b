"""The local mirror of one branch of the upstream repo, and its readiness.

Flux v1's repo state machine, kept so that ``fluxctl`` users see the statuses
they know::

    unconfigured            no URL; stays so
    new / unreachable  -->  fetch works                    --> cloned
    cloned             -->  branch exists and, unless read-only,
                            a tag can be pushed and deleted --> ready
                            (else it stays cloned and says why)
    ready              -->  a fetch fails                  --> new / unreachable
                            the branch is gone             --> cloned

The mirror is a bare repository fetched incrementally by dulwich: it is made
once and only ever receives the objects it lacks, also after a failure (where
Flux v1 would clone again from scratch). Manifests are read from its object
store; there is no working copy.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from dulwich.errors import NotGitRepository
from dulwich.objects import ZERO_SHA, Commit, ObjectID, Tag
from dulwich.refs import Ref
from dulwich.repo import Repo

from fluxd.errors import GitError
from fluxd.git.failures import GitRemoteError, branch_missing
from fluxd.git.history import CommitGraph
from fluxd.git.reading import TreeReader, normalise_path, peel_to_commit
from fluxd.git.remote import TAGS_PREFIX, Remote
from fluxd.git.urls import RemoteUrl, parse_remote_url
from fluxd.git.writing import Author, commit_changes
from fluxd.settings import GitSettings, ManifestSettings, SshSettings

log = logging.getLogger(__name__)

WRITE_CHECK_PREFIX = "flux-write-check-"
SYNC_TAG_MESSAGE = b"Sync pointer\n"


class RepoStatus(StrEnum):
    UNCONFIGURED = "unconfigured"
    NEW = "new"
    UNREACHABLE = "unreachable"
    CLONED = "cloned"
    READY = "ready"


NOT_CONFIGURED = "git repo has no URL configured (--git-url)"
NOT_CLONED = "git repo has not been cloned yet"
NOT_WRITE_CHECKED = "git repo has been cloned but not yet checked for write access"


@dataclass(frozen=True, slots=True)
class CommitInfo:
    revision: str
    author: str
    #: Wall-clock seconds.
    time: float
    subject: str


class GitMirror:
    """A bare local mirror of ``settings.branch`` and the tags of ``settings.url``.

    The daemon calls ``advance()`` until the status is ``ready`` (it does
    nothing then), and ``refresh()`` to fetch in the ready state. Reads work
    on whatever the mirror holds. Methods are serialised by a lock, so the
    API may read while the sync loop fetches. A malformed URL raises
    ``SettingsError`` here, at start, rather than at the first fetch.
    """

    def __init__(
        self,
        settings: GitSettings,
        ssh: SshSettings,
        *,
        workdir: Path,
        identity_file: Callable[[], Path | None],
        max_file_size: int = ManifestSettings().max_file_size,
    ) -> None:
        self._settings = settings
        self._lock = threading.RLock()
        self._branch_ref = Ref(f"refs/heads/{settings.branch}".encode())
        # The paths whose commits count; none means every commit (the root is among them).
        paths = [normalise_path(p) for p in settings.paths]
        self._paths = [] if "" in paths else [p.encode() for p in paths]
        self._url: RemoteUrl | None = None
        self._remote: Remote | None = None
        self._status, self._error = RepoStatus.UNCONFIGURED, NOT_CONFIGURED
        self._help = "Start fluxd with --git-url."
        workdir.mkdir(parents=True, exist_ok=True)
        if settings.url:
            self._url = parse_remote_url(
                settings.url, auth_user=settings.auth_user, auth_key=settings.auth_key
            )
            self._remote = Remote(
                self._url,
                ssh,
                workdir=workdir,
                timeout=settings.timeout,
                identity_file=identity_file,
            )
            self._status, self._error, self._help = RepoStatus.NEW, NOT_CLONED, ""
        self._repo = _open_or_init(settings.mirror_dir or workdir / "mirror.git")
        # Files over the limit are refused from their size in git, unread.
        self._reader = TreeReader(self._repo.object_store, max_blob_size=max_file_size)
        self._history = CommitGraph(self._repo.object_store)

    # -- status --------------------------------------------------------------

    @property
    def status(self) -> RepoStatus:
        return self._status

    @property
    def ready(self) -> bool:
        return self._status is RepoStatus.READY

    @property
    def error(self) -> str:
        """Why the repo is not ready ("" when it is)."""
        return self._error

    @property
    def error_help(self) -> str:
        """What to do about ``error`` ("" when there is nothing to do but wait)."""
        return self._help

    def safe_url(self) -> str:
        return self._url.safe() if self._url is not None else ""

    def advance(self) -> RepoStatus:
        """Take one step towards ``ready``; record (never raise) what stops it."""
        with self._lock:
            try:
                if self._status in (RepoStatus.NEW, RepoStatus.UNREACHABLE):
                    if self._try_fetch():
                        self._set(RepoStatus.CLONED, NOT_WRITE_CHECKED)
                # Fetch again only if the branch is missing: it may have been pushed since.
                elif self._status is RepoStatus.CLONED and (
                    self._branch_ref in self._repo.refs or self._try_fetch()
                ):
                    self._check_branch_and_write_access()
                    self._set(RepoStatus.READY, "")
            except GitError as exc:
                # Fetched fine but not usable (no branch, no write access):
                # stay cloned, so the status says how far it got.
                self._set(RepoStatus.CLONED, str(exc), exc.help)
            except Exception as exc:  # a bug or a local disk problem
                log.exception("git repo step failed")
                self._set(self._status, f"unexpected error: {exc}")
            return self._status

    def refresh(self) -> str:
        """Fetch the branch and tags; return the branch head. Needs ``ready``."""
        with self._lock:
            if self._status is not RepoStatus.READY:
                raise GitError(f"git repo not ready: {self._error}")
            try:
                self._fetch()
            except GitError as exc:
                self._set(_status_after_fetch_failure(exc), str(exc), exc.help)
                raise
            try:
                return self.head()
            except GitError as exc:
                self._set(RepoStatus.CLONED, str(exc), exc.help)
                raise

    # -- reading ---------------------------------------------------------------

    def head(self) -> str:
        """The branch head in the local mirror."""
        with self._lock:
            sha = self._repo.refs.as_dict().get(self._branch_ref)
            if sha is None:
                raise branch_missing(self._settings.branch, self._require_url())
            return sha.decode("ascii")

    def manifest_files(self, revision: str, *, skip_missing: bool = False) -> dict[str, str]:
        """Manifest files under the paths; a missing path raises unless ``skip_missing``."""
        with self._lock:
            return self._reader.manifest_files(
                revision, self._settings.paths, skip_missing=skip_missing
            )

    def missing_paths(self, revision: str) -> list[str]:
        """The configured paths (``--git-path``) that ``revision`` does not have."""
        with self._lock:
            return self._reader.missing_paths(revision, self._settings.paths)

    def descends_from(self, revision: str, ancestor: str) -> bool:
        """Whether ``revision``'s history contains ``ancestor`` (False when unknown)."""
        with self._lock:
            new_id = self._reader.commit(revision).id
            try:
                old_id = self._reader.commit(ancestor).id
                return self._history.descends_from(new_id, old_id)
            except (GitError, KeyError):
                # Not in the mirror (or its parents are missing): not in this history.
                return False

    def read_blob(self, blob_sha: str) -> bytes:
        with self._lock:
            return self._reader.read_blob(blob_sha)

    def describe(self, revision: str) -> CommitInfo:
        """Who made ``revision``, when, and its subject line."""
        with self._lock:
            commit = self._reader.commit(revision)
        subject = commit.message.decode("utf-8", "replace").strip().split("\n", 1)[0]
        author = commit.author.decode("utf-8", "replace")
        return CommitInfo(revision, author, float(commit.author_time), subject)

    def commits_between(self, old: str | None, new: str) -> list[str]:
        """Commits reachable from ``new`` but not ``old`` that touch the paths, newest first."""
        with self._lock:
            new_id = self._reader.commit(new).id
            old_id = self._reader.commit(old).id if old is not None else None
            return self._history.between(old_id, new_id, self._paths)

    def sync_tag_revision(self) -> str | None:
        """The commit the sync tag points at (as of the last fetch), or None."""
        with self._lock:
            sha = self._repo.refs.as_dict().get(self._sync_tag_ref)
            return peel_to_commit(self._repo.object_store, sha) if sha is not None else None

    # -- writing -------------------------------------------------------------

    def move_sync_tag(self, revision: str) -> None:
        """Point the sync tag at ``revision`` with a fresh annotated tag, force-pushed."""
        with self._lock:
            if self._settings.readonly:
                raise GitError(
                    "the git repo is read-only (--git-readonly): the sync tag is not moved",
                    help="In read-only mode the applied revision is kept in the Secret.",
                )
            tag = self._make_sync_tag(self._reader.commit(revision))
            self._repo.object_store.add_object(tag)
            self._push({self._sync_tag_ref: tag.id})
            self._repo.refs[self._sync_tag_ref] = tag.id

    def commit_and_push(
        self,
        parent: str,
        files: Mapping[str, bytes],
        *,
        message: str,
        author: Author | None = None,
    ) -> str:
        """Commit ``files`` on ``parent``, push it as the branch head; return its id.

        Committed as --git-user/--git-email. ``PushConflict`` when upstream's
        branch is no longer at ``parent``: nothing is pushed then.
        """
        with self._lock:
            committer = Author(self._settings.user, self._settings.email)
            commit = commit_changes(
                self._repo.object_store,
                self._reader.commit(parent),
                files,
                message=message,
                committer=committer,
                author=author,
            )
            expect = {self._branch_ref: ObjectID(parent.encode("ascii"))}
            self._require_remote().push(self._repo, {self._branch_ref: commit.id}, expect=expect)
            self._repo.refs[self._branch_ref] = commit.id
            return commit.id.decode("ascii")

    def close(self) -> None:
        self._repo.close()

    # -- internals -------------------------------------------------------------

    @property
    def _sync_tag_ref(self) -> Ref:
        return Ref(TAGS_PREFIX + self._settings.sync_tag.encode())

    def _require_remote(self) -> Remote:
        if self._remote is None:
            raise GitError(NOT_CONFIGURED, help="Start fluxd with --git-url.")
        return self._remote

    def _require_url(self) -> RemoteUrl:
        return self._require_remote().url

    def _try_fetch(self) -> bool:
        try:
            self._fetch()
        except GitError as exc:
            self._set(_status_after_fetch_failure(exc), str(exc), exc.help)
            return False
        return True

    def _fetch(self) -> None:
        remote_refs = self._require_remote().fetch(self._repo, self._branch_ref)
        refs = self._repo.refs
        current = refs.as_dict()
        # Mirror exactly: the branch and the tags are what upstream says now.
        for ref in current:
            if ref not in remote_refs and (ref == self._branch_ref or ref.startswith(TAGS_PREFIX)):
                del refs[ref]
        for ref, sha in remote_refs.items():
            if current.get(ref) != sha:
                refs[ref] = sha

    def _check_branch_and_write_access(self) -> None:
        head = ObjectID(self.head().encode("ascii"))
        if self._settings.readonly:
            return
        probe = Ref(TAGS_PREFIX + f"{WRITE_CHECK_PREFIX}{secrets.token_hex(5)}".encode())
        self._push({probe: head})
        self._push({probe: ZERO_SHA})

    def _push(self, updates: dict[Ref, ObjectID]) -> None:
        self._require_remote().push(self._repo, updates)

    def _make_sync_tag(self, commit: Commit) -> Tag:
        tag = Tag()
        tag.name = self._settings.sync_tag.encode()
        tag.object = (Commit, commit.id)
        tag.tagger = f"{self._settings.user} <{self._settings.email}>".encode()
        tag.tag_time = int(time.time())
        tag.tag_timezone = 0
        tag.message = SYNC_TAG_MESSAGE
        return tag

    def _set(self, status: RepoStatus, error: str, help: str = "") -> None:
        self._help = help if error else ""
        if (status, error) != (self._status, self._error):
            level = logging.INFO if error in ("", NOT_WRITE_CHECKED) else logging.WARNING
            suffix = f": {error}" if error else ""
            log.log(level, "git repo %s: %s%s", self.safe_url(), status, suffix)
        self._status, self._error = status, error


def _status_after_fetch_failure(exc: GitError) -> RepoStatus:
    if isinstance(exc, GitRemoteError) and exc.unreachable:
        return RepoStatus.UNREACHABLE
    return RepoStatus.NEW


def _open_or_init(path: Path) -> Repo:
    try:
        return Repo(str(path))
    except NotGitRepository:
        path.mkdir(parents=True, exist_ok=True)
        return Repo.init_bare(str(path))

"""fluxd's git side: a local mirror of one branch, read without a working copy.

``GitMirror`` is the entry point for the sync engine. dulwich is used only
inside this package; everything it raises leaves as a ``GitError``.
"""

from fluxd.git.failures import Cause, GitRemoteError
from fluxd.git.mirror import CommitInfo, GitMirror, RepoStatus
from fluxd.git.urls import RemoteUrl, Scheme, parse_remote_url
from fluxd.git.writing import Author, PushConflict

__all__ = [
    "Author",
    "Cause",
    "CommitInfo",
    "GitMirror",
    "GitRemoteError",
    "PushConflict",
    "RemoteUrl",
    "RepoStatus",
    "Scheme",
    "parse_remote_url",
]

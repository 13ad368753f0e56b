"""Pushes of one-file changes into an N-object repo, quick at N = 5,000.

GitServer.push_files clones the whole repo for every commit, which takes
half a minute at 5,000 files on a loaded machine; a push-to-live series of
20 would spend most of its time there. One working clone per repo, kept
for the series, makes each push a commit and a ``git push`` (the clock of a
sample starts only after the push in either case).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fluxtestbed.gitserver import GitServer


@dataclass
class WorkClone:
    """A clone of one repo of the git server, as root, pushed back over file://."""

    git: GitServer
    repo: str
    path: Path

    @classmethod
    def of(cls, git: GitServer, repo: str) -> WorkClone:
        path = Path(tempfile.mkdtemp(prefix="bench-clone-", dir=git.root))
        clone = cls(git, repo, path)
        clone._run("clone", "--quiet", git.file_url(repo), str(path), cwd=git.root)
        return clone

    def push(self, files: Mapping[str, str], message: str) -> str:
        """Commit ``files`` on master, push, hand the repo back to the git user; the sha."""
        for rel, text in files.items():
            (self.path / rel).write_text(text)
        self._run("add", "--all")
        self._run("commit", "--quiet", "-m", message)
        self._run("push", "--quiet", "origin", "HEAD:refs/heads/master")
        self._hand_back()
        return self._run("rev-parse", "HEAD")

    def _hand_back(self) -> None:
        # Root's new objects must stay readable (and the repo writable) for the
        # git user that sshd serves it as.
        bare = self.git.bare_path(self.repo)
        owner = bare.stat()
        for top, dirs, names in os.walk(bare):
            for name in dirs + names:
                p = os.path.join(top, name)
                if os.lstat(p).st_uid != owner.st_uid:
                    os.lchown(p, owner.st_uid, owner.st_gid)

    def _run(self, *args: str, cwd: Path | None = None) -> str:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.git.root),
            "GIT_CONFIG_GLOBAL": str(self.git.root / "gitconfig"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
        }
        done = subprocess.run(
            ["git", *args], cwd=cwd or self.path, env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout.strip()

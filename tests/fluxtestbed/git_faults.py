"""Faults of the git server: sshd goes away or comes back with other host keys,
and commits whose content ``GitServer.push_files`` cannot write.

Kept apart from ``gitserver`` so that the server itself stays small; these
functions reach into its sshd process and host key files on purpose.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from fluxtestbed.gitserver import HOST_KEY_TYPES, SSHD, GitServer, _wait_for_banner


def stop_sshd(git: GitServer) -> None:
    """Stop sshd; its port then refuses connections until ``start_sshd``."""
    if git._sshd is not None:
        git._sshd.terminate()
        git._sshd.wait(timeout=10)
        git._sshd = None


def start_sshd(git: GitServer) -> None:
    """Start sshd again on the same port, with the same config and host keys."""
    if git._sshd is not None:
        return
    ssh_dir = git.root / "ssh"
    with (ssh_dir / "sshd.log").open("ab") as log:
        git._sshd = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(ssh_dir / "sshd_config")], stderr=log
        )
    if not _wait_for_banner(git.ssh_port, git._sshd):
        git._sshd = None
        raise RuntimeError(f"sshd did not start again; see {ssh_dir / 'sshd.log'}")


def replace_host_keys(git: GitServer) -> None:
    """New host keys on the same port, as after a server reinstall (or a man in the middle)."""
    stop_sshd(git)
    for kind in HOST_KEY_TYPES:
        key = git._host_key(kind)
        key.unlink()
        key.with_suffix(".pub").unlink()
        subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(key)], check=True)
    start_sshd(git)


def push_tree(
    git: GitServer,
    name: str,
    populate: Callable[[Path], None],
    message: str,
    *,
    branch: str = "master",
) -> str:
    """Commit what ``populate(worktree)`` makes (any bytes, file names, symlinks); push.

    The work tree holds ``branch``'s files when it exists (else it starts
    empty, an orphan); ``populate`` changes it as it likes.
    """
    # Removed with rm: shutil.rmtree recurses, and the tree may nest thousands deep.
    scratch = tempfile.mkdtemp(dir=git.root)
    try:
        work = Path(scratch)
        git._git("clone", "--quiet", git.file_url(name), scratch)
        if git._git("-C", scratch, "ls-remote", "--heads", "origin", branch):
            git._git("-C", scratch, "checkout", "--quiet", "-B", branch, f"origin/{branch}")
        else:
            git._git("-C", scratch, "checkout", "--quiet", "--orphan", branch)
        populate(work)
        git._git("-C", scratch, "add", "--all")
        git._git("-C", scratch, "commit", "--quiet", "--allow-empty", "-m", message)
        git._git("-C", scratch, "push", "--quiet", "origin", f"HEAD:refs/heads/{branch}")
        sha = git._git("-C", scratch, "rev-parse", "HEAD")
    finally:
        subprocess.run(["rm", "-rf", scratch], check=True)
    git._give_to_git_user(git.bare_path(name))
    return sha


def force_branch(git: GitServer, name: str, files: dict[str, str], message: str) -> str:
    """Replace ``master`` by a commit with no common history (a force-push); return its sha."""
    sha = git.push_files(name, files, message, branch="unrelated-history")
    git.git(name, "update-ref", "refs/heads/master", sha)
    git.git(name, "update-ref", "-d", "refs/heads/unrelated-history")
    return sha


def delete_branch(git: GitServer, name: str, branch: str = "master") -> None:
    git.git(name, "update-ref", "-d", f"refs/heads/{branch}")

"""A real git server on 127.0.0.1 for the tests and the demo.

The same bare repos are served by OpenSSH ``sshd`` (own config, host keys and
``authorized_keys``) logging in a system user ``git`` limited to git-shell; by
``git http-backend`` behind basic auth (one account may push, one may only
read); and as ``file://``. Needs root: sshd switches to ``git`` (created if missing).
Use it as a context manager, or ``start()``/``stop()``.
"""

from __future__ import annotations

import base64
import contextlib
import os
import pwd
import re
import secrets
import shutil
import socket
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self
from urllib.parse import unquote, urlsplit

HOST = "127.0.0.1"
GIT_USER = "git"
GIT_SHELL = "/usr/bin/git-shell"
SSHD = "/usr/sbin/sshd"
HOST_KEY_TYPES = ("ed25519", "ecdsa", "rsa")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def ensure_git_user() -> pwd.struct_passwd:
    """Return the ``git`` account, creating it (login shell git-shell) if missing."""
    try:
        entry = pwd.getpwnam(GIT_USER)
    except KeyError:
        # '*' as the password hash: no password works, but the account is not
        # "locked", which sshd without PAM would treat as a reason to refuse keys.
        useradd = ["useradd", "--system", "--create-home", "--shell", GIT_SHELL]
        subprocess.run([*useradd, "--password", "*", GIT_USER], check=True, capture_output=True)
        return pwd.getpwnam(GIT_USER)
    status = subprocess.run(["passwd", "-S", GIT_USER], capture_output=True, text=True).stdout
    if status.split()[1:2] == ["L"]:
        subprocess.run(["usermod", "--password", "*", GIT_USER], check=True)
    return entry


class GitServer:
    """sshd + smart HTTP + file:// over bare repos in a fresh temp dir."""

    def __init__(self) -> None:
        self.root = self.repos_dir = self._authorized_keys = Path("/nonexistent")
        self.ssh_port = 0
        self.http_port = 0
        #: (user, password) of the HTTP account that may push, and of one that may only clone.
        self.http_credentials = ("flux", secrets.token_hex(8))
        self.http_readonly_credentials = ("reader", secrets.token_hex(8))
        self._keys_lock = threading.Lock()
        self._sshd: subprocess.Popen[bytes] | None = None
        self._http: ThreadingHTTPServer | None = None
        self._user: pwd.struct_passwd | None = None

    def start(self) -> Self:
        if os.geteuid() != 0:
            raise RuntimeError("the git test server needs root (sshd switches to user 'git')")
        self._user = ensure_git_user()
        self.root = Path(tempfile.mkdtemp(prefix="fluxpy-git-"))
        self.repos_dir = self.root / "repos"
        self._authorized_keys = self.root / "ssh" / "authorized_keys"
        try:
            # The git user reads authorized_keys and the repos below this dir.
            self.root.chmod(0o755)
            self.repos_dir.mkdir()
            os.chown(self.repos_dir, self._user.pw_uid, self._user.pw_gid)
            (self.root / "gitconfig").write_text(_ROOT_GITCONFIG)
            self._start_sshd()
            handler = type("SmartHttpHandler", (_SmartHttpHandler,), {"git": self})
            self._http = ThreadingHTTPServer((HOST, 0), handler)
            self.http_port = self._http.server_address[1]
            threading.Thread(target=self._http.serve_forever, daemon=True).start()
        except BaseException:
            self.stop()  # no half-started server, no temp dir left behind
            raise
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        if self._sshd is not None:
            self._sshd.terminate()
            self._sshd.wait(timeout=10)
            self._sshd = None
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def create_repo(self, name: str, *, branch: str = "master") -> Path:
        """Create an empty bare repo owned by the git user; return its path."""
        if not _NAME.match(name):
            raise ValueError(f"bad repo name {name!r}")
        path = self.bare_path(name)
        self._git("init", "--quiet", "--bare", f"--initial-branch={branch}", str(path))
        self._give_to_git_user(path)
        return path

    def bare_path(self, name: str) -> Path:
        return self.repos_dir / f"{name}.git"

    def ssh_url(self, name: str) -> str:
        return f"ssh://{GIT_USER}@{HOST}:{self.ssh_port}{self.bare_path(name)}"

    def http_url(self, name: str) -> str:
        return f"http://{HOST}:{self.http_port}/{name}.git"

    def file_url(self, name: str) -> str:
        return self.bare_path(name).as_uri()

    def push_files(
        self, name: str, files: Mapping[str, str | None], message: str, *, branch: str = "master"
    ) -> str:
        """Commit ``files`` (text, or None to delete) on ``branch``; push; return the sha."""
        with tempfile.TemporaryDirectory(dir=self.root) as scratch:
            work = Path(scratch)
            self._git("clone", "--quiet", self.file_url(name), str(work))
            if self._git("-C", scratch, "ls-remote", "--heads", "origin", branch):
                self._git("-C", scratch, "checkout", "--quiet", "-B", branch, f"origin/{branch}")
            else:
                self._git("-C", scratch, "checkout", "--quiet", "--orphan", branch)
            for rel, text in files.items():
                if text is None:
                    (work / rel).unlink()
                else:
                    (work / rel).parent.mkdir(parents=True, exist_ok=True)
                    (work / rel).write_text(text)
            self._git("-C", scratch, "add", "--all")
            self._git("-C", scratch, "commit", "--quiet", "--allow-empty", "-m", message)
            self._git("-C", scratch, "push", "--quiet", "origin", f"HEAD:refs/heads/{branch}")
            sha = self._git("-C", scratch, "rev-parse", "HEAD")
        self._give_to_git_user(self.bare_path(name))
        return sha

    def git(self, name: str, *args: str) -> str:
        """Run ``git -C <bare repo> args...`` and return its stripped stdout."""
        out = self._git("-C", str(self.bare_path(name)), *args)
        self._give_to_git_user(self.bare_path(name))
        return out

    @contextlib.contextmanager
    def read_only(self, name: str) -> Iterator[None]:
        """Within the block the git user (so sshd and HTTP) can read but not write the repo."""
        path = self.bare_path(name)
        modes = {p: stat.S_IMODE(p.stat().st_mode) for p in [path, *path.rglob("*")]}
        for p, mode in modes.items():
            p.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        try:
            yield
        finally:
            for p, mode in modes.items():
                p.chmod(mode)

    def authorize(self, public_key_line: str) -> None:
        """Let the holder of this key log in as git (read and write)."""
        line = public_key_line.strip()
        with self._keys_lock:
            lines = self._authorized_lines()
            if line not in lines:
                self._write_authorized([*lines, line])

    def revoke(self, public_key_line: str) -> None:
        line = public_key_line.strip()
        with self._keys_lock:
            self._write_authorized([k for k in self._authorized_lines() if k != line])

    def known_hosts_lines(self, key_type: str | None = None) -> list[str]:
        """``[127.0.0.1]:PORT type base64`` for each host key (or only ``key_type``)."""
        lines = []
        for kind in HOST_KEY_TYPES:
            if key_type in (None, kind):
                algo, blob = self._host_key(kind).with_suffix(".pub").read_text().split()[:2]
                lines.append(f"[{HOST}]:{self.ssh_port} {algo} {blob}")
        return lines

    def run_http_backend(self, user: str, cgi_env: dict[str, str], body: bytes) -> bytes:
        """Run ``git http-backend`` as the git user, as a web server would; return its output."""
        assert self._user is not None
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self._user.pw_dir,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_PROJECT_ROOT": str(self.repos_dir),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REMOTE_USER": user,
            "REMOTE_ADDR": HOST,
            "CONTENT_LENGTH": str(len(body)),
            **cgi_env,
        }
        uid, gid = self._user.pw_uid, self._user.pw_gid
        done = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, timeout=120,
            user=uid, group=gid, extra_groups=[],
        )  # fmt: skip
        return done.stdout

    def _authorized_lines(self) -> list[str]:
        return [k for k in self._authorized_keys.read_text().splitlines() if k.strip()]

    def _write_authorized(self, lines: list[str]) -> None:
        # Replace the file in one step: sshd may read it at any moment.
        tmp = self._authorized_keys.with_suffix(".tmp")
        tmp.write_text("".join(f"{k}\n" for k in lines))
        tmp.chmod(0o644)
        tmp.replace(self._authorized_keys)

    def _host_key(self, kind: str) -> Path:
        return self.root / "ssh" / f"ssh_host_{kind}_key"

    def _start_sshd(self) -> None:
        ssh_dir = self.root / "ssh"
        ssh_dir.mkdir(mode=0o755)
        self._write_authorized([])
        for kind in HOST_KEY_TYPES:
            keyfile = str(self._host_key(kind))
            subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", keyfile], check=True)
        # sshd refuses to start without its privilege separation directory.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        for _attempt in range(5):
            self.ssh_port = _free_port()
            config = ssh_dir / "sshd_config"
            config.write_text(self._sshd_config())
            with (ssh_dir / "sshd.log").open("ab") as log:
                self._sshd = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=log)
            if _wait_for_banner(self.ssh_port, self._sshd):
                return
        raise RuntimeError(f"sshd did not start; see {ssh_dir / 'sshd.log'}")

    def _sshd_config(self) -> str:
        assert self._user is not None
        host_keys = "".join(f"HostKey {self._host_key(kind)}\n" for kind in HOST_KEY_TYPES)
        config = _SSHD_CONFIG.format(
            listen=f"{HOST}:{self.ssh_port}", keys_file=self._authorized_keys, user=GIT_USER
        )
        if self._user.pw_shell != GIT_SHELL:
            # An existing git account with another shell still may only run git.
            config += f'ForceCommand {GIT_SHELL} -c "$SSH_ORIGINAL_COMMAND"\n'
        return host_keys + config

    def _git(self, *args: str) -> str:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.root),
            # As root we touch repos the git user owns; git only allows that
            # with safe.directory from a global config.
            "GIT_CONFIG_GLOBAL": str(self.root / "gitconfig"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
        }
        done = subprocess.run(["git", *args], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout.strip()

    def _give_to_git_user(self, path: Path) -> None:
        # Root's writes (via these helpers) must not lock the git user out.
        assert self._user is not None
        uid, gid = self._user.pw_uid, self._user.pw_gid
        os.lchown(path, uid, gid)
        # A push may be under way (a daemon moving its sync tag): its
        # temporary object directories come and go while this walks, so a
        # vanished path is skipped (os.walk ignores unreadable directories).
        for root, dirs, files in os.walk(path):
            for name in dirs + files:
                with contextlib.suppress(FileNotFoundError):
                    os.lchown(os.path.join(root, name), uid, gid)


# Public keys only, no PAM, one user. StrictModes is off: the temp dir is under the
# world-writable /tmp (the keys file is ours, 0644). Classic curve25519 key exchange
# because the post-quantum hybrid costs ~0.3 s per connection on small CI machines.
_SSHD_CONFIG = """\
ListenAddress {listen}
PidFile none
UsePAM no
AuthenticationMethods publickey
AuthorizedKeysFile {keys_file}
StrictModes no
AllowUsers {user}
MaxStartups 64
KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org
AcceptEnv GIT_PROTOCOL
LogLevel VERBOSE
"""

# No automatic gc in root's clones: after a commit of thousands of files git
# starts it detached, and it was still writing objects/ when the scratch clone
# was removed ("Directory not empty").
_ROOT_GITCONFIG = """\
[safe]
\tdirectory = *
[user]
\tname = Test Bed
\temail = testbed@localhost
[gc]
\tauto = 0
"""


def _free_port() -> int:
    with socket.create_server((HOST, 0)) as sock:
        return int(sock.getsockname()[1])


def _wait_for_banner(port: int, proc: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False  # most likely another process took the port meanwhile
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), 1) as sock:
            if sock.recv(8).startswith(b"SSH-"):
                return True
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    return False


class _SmartHttpHandler(BaseHTTPRequestHandler):
    """Basic auth in front of ``git http-backend``."""

    git: GitServer  # set on a subclass made per server

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_GET

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean; the client sees every status it gets

    def _serve(self) -> None:
        git = self.git
        user = self._user()
        if user is None:
            self._reply(401, b"", {"WWW-Authenticate": 'Basic realm="git"'})
            return
        if "git-receive-pack" in self.path and user != git.http_credentials[0]:
            # What hosting services answer a token that lacks write scope.
            self._reply(403, b"Write access to this repository is not granted.\n")
            return
        url = urlsplit(self.path)
        cgi_env = {
            "REQUEST_METHOD": self.command,
            "PATH_INFO": unquote(url.path),
            "QUERY_STRING": url.query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
        }
        output = git.run_http_backend(user, cgi_env, self._body())
        head, _, body = output.partition(b"\r\n\r\n")
        status, headers = 200, {}
        for line in head.decode("latin-1").split("\r\n"):
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.split()[0])
            elif key:
                headers[key] = value.strip()
        self._reply(status, body, headers)

    def _user(self) -> str | None:
        scheme, _, encoded = self.headers.get("Authorization", "").partition(" ")
        try:
            given = base64.b64decode(encoded).decode() if scheme == "Basic" else ""
        except ValueError:
            return None
        git = self.git
        for user, password in (git.http_credentials, git.http_readonly_credentials):
            if secrets.compare_digest(given, f"{user}:{password}"):
                return user
        return None

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        chunks = []
        while size := int(self.rfile.readline().split(b";")[0], 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        self.rfile.readline()
        return b"".join(chunks)

    def _reply(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {"Content-Type": "text/plain"}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

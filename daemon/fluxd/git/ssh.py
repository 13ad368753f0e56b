"""The OpenSSH client as dulwich's SSH transport.

Every option that matters is given on the command line and no config file is
read (``-F /dev/null``), so the behaviour is the same on every machine: only
our key, only our known_hosts files, strict host-key checking, no prompts.
ssh's stderr goes to a file per connection so that a failure can be explained
from what ssh said, whatever dulwich makes of the broken pipe.
"""

from __future__ import annotations

import math
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from dulwich.client import SSHVendor, SubprocessWrapper

SSH_BINARY = "ssh"


@dataclass(frozen=True, slots=True)
class SshOptions:
    """What one git operation over SSH needs to know."""

    identity_file: Path
    #: ssh appends first-use keys to the first file; the others are read only.
    known_hosts_files: tuple[Path, ...]
    accept_new_host_keys: bool
    timeout: float


def ssh_argv(opts: SshOptions, host: str, user: str, port: int | None) -> list[str]:
    """The ``ssh`` command line up to the remote command (which follows ``--``)."""
    files = " ".join(f'"{p}"' for p in opts.known_hosts_files)
    seconds = max(1, math.ceil(opts.timeout))
    argv = [
        SSH_BINARY,
        "-F", "/dev/null",
        "-x", "-T",
        "-o", "BatchMode=yes",
        "-o", "IdentitiesOnly=yes",
        "-o", "IdentityAgent=none",
        "-o", "PreferredAuthentications=publickey",
        "-i", str(opts.identity_file),
        "-o", f"StrictHostKeyChecking={'accept-new' if opts.accept_new_host_keys else 'yes'}",
        "-o", f"UserKnownHostsFile={files}",
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "HashKnownHosts=no",
        "-o", "UpdateHostKeys=no",
        "-o", "CheckHostIP=no",
        "-o", f"ConnectTimeout={seconds}",
        # Notice a server that stops answering mid-transfer within ~timeout.
        "-o", f"ServerAliveInterval={max(1, math.ceil(seconds / 3))}",
        "-o", "ServerAliveCountMax=3",
    ]  # fmt: skip
    if port is not None:
        argv += ["-p", str(port)]
    if user:
        argv += ["-l", user]
    return argv


class OpenSshVendor(SSHVendor):
    """Runs ``ssh`` for dulwich; one instance serves one git operation."""

    def __init__(self, opts: SshOptions) -> None:
        self.opts = opts
        self._stderr_files: list[IO[bytes]] = []

    def run_command(
        self,
        host: str,
        command: bytes,
        username: str | None = None,
        port: int | None = None,
        password: str | None = None,
        key_filename: str | None = None,
        ssh_command: str | None = None,
        protocol_version: int | None = None,
    ) -> SubprocessWrapper:
        argv = ssh_argv(self.opts, host, username or "", port)
        if protocol_version:
            argv += ["-o", f"SetEnv=GIT_PROTOCOL=version={protocol_version}"]
        stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        self._stderr_files.append(stderr)
        proc = subprocess.Popen(
            [*argv, "--", host, command.decode()],
            bufsize=0,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=_ssh_env(),
        )
        return SubprocessWrapper(proc)

    def stderr_text(self) -> str:
        """Everything ssh (and the remote command) wrote to stderr so far."""
        chunks = []
        for f in self._stderr_files:
            f.seek(0)
            chunks.append(f.read().decode("utf-8", "replace"))
        return "".join(chunks)

    def close(self) -> None:
        for f in self._stderr_files:
            f.close()
        self._stderr_files.clear()


def _ssh_env() -> dict[str, str]:
    # No agent and no askpass: the deploy key is the only credential.
    drop = {"SSH_AUTH_SOCK", "SSH_ASKPASS", "DISPLAY", "GIT_SSH", "GIT_SSH_COMMAND"}
    return {k: v for k, v in os.environ.items() if k not in drop}

"""Starting, watching and stopping the test bed's processes.

Each process writes to its own log file; when one dies early the error names
the command and shows the end of its log, which is where the reason is.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


class TestbedError(RuntimeError):
    """The test bed could not be brought up; the message says which part and why."""


def built_bin_dir(
    script: Path, *, override: str, what: str, env: dict[str, str] | None = None
) -> Path:
    """The directory env var ``override`` names, else the one ``script`` builds or finds cached.

    The build scripts print that directory as their last line of stdout.
    """
    given = os.environ.get(override)
    if given:
        return Path(given)
    out = subprocess.run(
        ["bash", str(script)],
        check=False,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    if out.returncode != 0:
        raise TestbedError(f"building {what} failed (output above)")
    return Path(out.stdout.strip().splitlines()[-1])


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def log_tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if not self.alive():
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout)

    def check(self) -> None:
        if not self.alive():
            raise TestbedError(
                f"{self.name} exited with code {self.popen.returncode}; "
                f"last lines of {self.log}:\n{log_tail(self.log)}"
            )


def start(
    name: str, argv: Sequence[str], *, logdir: Path, env: dict[str, str] | None = None
) -> Process:
    """Start a process in its own process group, output to logdir/name.log."""
    log = logdir / f"{name}.log"
    with log.open("ab") as out:
        popen = subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    return Process(name, popen, log)


def wait_until(
    what: str,
    ready: Callable[[], bool],
    *,
    timeout: float,
    watch: Sequence[Process] = (),
    interval: float = 0.1,
) -> None:
    """Poll ``ready`` until it is true; fail fast if a watched process died."""
    deadline = time.monotonic() + timeout
    while True:
        for proc in watch:
            proc.check()
        try:
            if ready():
                return
        except Exception:  # not up yet; the deadline decides
            pass
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {p.name}:\n{log_tail(p.log)}" for p in watch)
            raise TestbedError(f"timed out after {timeout:.0f}s waiting for {what}\n{logs}")
        time.sleep(interval)

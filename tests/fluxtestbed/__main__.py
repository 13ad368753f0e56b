"""``python -m fluxtestbed down``: stop whatever a demo or test run left running.

Every process the test bed starts has one of its own temp dirs on its command
line (``fluxpy-demo-``, ``fluxpy-kube-``, ``fluxpy-git-``, ``fluxd-``,
``fluxv1d-``), which
is how they are found here.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path

MARKERS = (
    "/fluxpy-demo-",
    "/fluxpy-kube-",
    "/fluxpy-git-",
    "/fluxd-flux",
    "/fluxv1d-",
    "/fluxpy-etcd-",
)


def leftovers() -> list[tuple[int, str]]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(marker in cmdline for marker in MARKERS):
            found.append((int(proc.name), cmdline.strip()))
    return found


def down() -> int:
    procs = leftovers()
    for pid, cmdline in procs:
        print(f"stopping {pid}: {cmdline[:100]}", file=sys.stderr)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and leftovers():
        time.sleep(0.2)
    for pid, _ in leftovers():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    print(f"stopped {len(procs)} process(es)", file=sys.stderr)
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["down"]:
        return down()
    print("usage: python -m fluxtestbed down", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Debian's Chromium, headless: what a person's browser makes of a page.

``--dump-dom`` prints the DOM after the page loaded (its CSS applied, its
meta refresh not yet due); ``--screenshot`` writes a PNG. Each call uses a
fresh profile directory, so no cookie or cache of an earlier call counts.
The package comes from tests/fluxtestbed/install-system-deps.sh.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

from fluxtestbed.procs import TestbedError

_HIDDEN = frozenset({"head", "script", "style", "title"})


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise TestbedError("no chromium: run tests/fluxtestbed/install-system-deps.sh")
    return found


def _run(url: str, *flags: str, timeout: float = 60) -> str:
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        args = [
            chromium(),
            "--headless",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            # Nothing but the page: no update checks, sync or safe-browsing calls.
            "--disable-background-networking",
            "--disable-component-update",
            f"--user-data-dir={profile}",
            *flags,
            url,
        ]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to sandbox as root
        out = subprocess.run(
            args, capture_output=True, text=True, timeout=timeout, check=False, cwd=profile
        )
    if out.returncode != 0:
        raise TestbedError(f"chromium failed on {url}: {out.stderr[-2000:]}")
    return out.stdout


def dump_dom(url: str) -> str:
    """The page's DOM as Chromium built it."""
    return _run(url, "--dump-dom")


def screenshot(url: str, path: Path, *, width: int = 1200, height: int = 1400) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    _run(url, f"--screenshot={path}", f"--window-size={width},{height}", "--hide-scrollbars")
    if not path.is_file() or path.stat().st_size == 0:
        raise TestbedError(f"chromium wrote no screenshot of {url} to {path}")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.parts.append(" ".join(data.split()))


def visible_text(dom: str) -> str:
    """The text a reader sees in ``dom``, whitespace collapsed, one space between parts."""
    parser = _Text()
    parser.feed(dom)
    return " ".join(parser.parts)

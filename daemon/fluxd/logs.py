"""Log lines as Flux v1 wrote them: logfmt (``ts=... level=... msg=...``) or JSON.

Call sites log fixed wording with key=value pairs in the message, e.g.
``log.info("event=sync-done revision=%s applied=%d", ...)``; the formatter
adds ``ts``, ``level`` and ``caller`` (the logger name).
"""

from __future__ import annotations

import json
import logging
import sys
import time

from fluxd.settings import LogFormat


def _timestamp(record: logging.LogRecord) -> str:
    millis = int(record.msecs)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{millis:03d}Z"


def _quote(value: str) -> str:
    if value and all(c.isalnum() or c in "-_./:@" for c in value):
        return value
    return json.dumps(value)


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        line = f"ts={_timestamp(record)} level={record.levelname.lower()} caller={record.name} "
        # A message already in key=value form is kept as is; prose is quoted.
        line += message if "=" in message.split(" ", 1)[0] else f"msg={_quote(message)}"
        if record.exc_info:
            line += " error=" + _quote(self.formatException(record.exc_info))
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, str] = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "caller": record.name,
        }
        message = record.getMessage()
        for word in _split_pairs(message):
            key, sep, value = word.partition("=")
            if sep and key.isidentifier():
                entry[key] = value.strip('"')
            else:
                entry["msg"] = message
                break
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def _split_pairs(message: str) -> list[str]:
    """Split ``a=1 b="x y"`` into words, keeping quoted values whole."""
    words: list[str] = []
    current = ""
    quoted = False
    for char in message:
        if char == '"':
            quoted = not quoted
        if char == " " and not quoted:
            if current:
                words.append(current)
            current = ""
        else:
            current += char
    if current:
        words.append(current)
    return words


def configure(fmt: LogFormat, level: int = logging.INFO) -> None:
    """Route every logger to stderr in the chosen format, once, at start."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt is LogFormat.JSON else LogfmtFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Third-party chatter: the Kubernetes client's urllib3 pool and uvicorn's access log.
    for name in ("urllib3", "kubernetes", "httpx", "uvicorn.access", "dulwich"):
        logging.getLogger(name).setLevel(logging.WARNING)

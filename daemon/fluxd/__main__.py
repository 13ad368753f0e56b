"""``fluxd``: parse the flags, set up logging, run until stopped."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence

from fluxd import flags, logs
from fluxd.errors import FluxError

log = logging.getLogger("fluxd")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        settings, warnings = flags.parse(sys.argv[1:] if argv is None else argv)
    except FluxError as exc:
        print(f"{exc}\n{exc.help}", file=sys.stderr)
        return 2
    logs.configure(settings.log_format)
    for warning in warnings:
        log.warning("event=flag-warning msg=%r", warning)
    from fluxd import runner  # heavy imports only once the flags are known to be good

    try:
        asyncio.run(runner.run(settings))
    except FluxError as exc:
        log.error("event=fatal error=%r help=%r", str(exc), exc.help)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Waiting for the cluster to settle before a measured run.

Every object a run creates sets kube-controller-manager to work: a
ReplicaSet and status updates per Deployment, Endpoints and an EndpointSlice
per Service, a ServiceAccount and a ConfigMap per namespace. That work lands
on the same API server, etcd and 2 cores as the next run: a run that starts
while the last one's controllers are still writing competes with them, and
a run on a quiet cluster does not. So each measured run (each tool's first
sync, each ceiling run) starts only once the controllers have written
nothing for ``quiet`` seconds, as the API server's audit log shows, or once
``timeout`` has passed; how long that took is reported with the run.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from fluxtestbed.audit import CONTROLLERS, WRITE_VERBS, AuditLog

#: Seconds without a controller write that make the cluster settled.
QUIET_S = 2.0
#: The longest wait; a run after it is reported as not settled.
TIMEOUT_S = 180.0


@dataclass(frozen=True)
class Settling:
    """How the wait before one run went."""

    waited_s: float
    settled: bool
    controller_writes: int  # seen while waiting
    quiet_s: float

    def as_dict(self) -> dict[str, object]:
        return {
            "waited_s": round(self.waited_s, 2),
            "settled": self.settled,
            "controller_writes": self.controller_writes,
            "quiet_s": self.quiet_s,
            "load_avg": [round(x, 2) for x in os.getloadavg()],
        }


def settle(
    audit: AuditLog, quiet: float = QUIET_S, timeout: float = TIMEOUT_S, poll: float = 0.2
) -> Settling:
    """Wait until no controller has written for ``quiet`` seconds (at most ``timeout``).

    The clock of quiet starts at the call: what was written just before it
    is not looked at, so every wait lasts at least ``quiet``.
    """
    began = time.monotonic()
    last = began
    pos = audit.mark()
    seen = 0
    while True:
        time.sleep(poll)
        events, pos = audit.tail(pos)
        writes = [e for e in events if e.verb in WRITE_VERBS and e.user.startswith(CONTROLLERS)]
        now = time.monotonic()
        if writes:
            seen += len(writes)
            last = now
        if now - last >= quiet:
            return Settling(now - began, True, seen, quiet)
        if now - began >= timeout:
            return Settling(now - began, False, seen, quiet)

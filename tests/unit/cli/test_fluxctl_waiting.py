"""fluxctl's waits run on an injected clock: the --timeout bounds them exactly."""

from __future__ import annotations

import pytest

from fluxctl.commands.sync import FIRST_POLL, POLL_CAP, await_applied
from fluxctl.errors import WaitTimeout
from fluxctl.waiting import Deadline, backoff
from unit.sync.fakeclock import FakeClock


class PendingDaemon:
    """A fluxd that never applies the revision."""

    def __init__(self) -> None:
        self.asked = 0

    def sync_status(self, revision: str) -> list[str]:
        self.asked += 1
        return [revision]


def test_a_deadline_sleeps_no_further_than_its_end_and_then_refuses() -> None:
    clock = FakeClock()
    deadline = Deadline(1.0, clock=clock)
    assert deadline.sleep(0.75)
    assert deadline.sleep(0.75)  # cut to the 0.25 s left
    assert not deadline.sleep(0.75)
    assert clock.sleeps == [0.75, 0.25]
    assert deadline.remaining() == 0.0


def test_waiting_for_an_apply_polls_with_backoff_until_the_timeout() -> None:
    clock, daemon = FakeClock(), PendingDaemon()
    with pytest.raises(WaitTimeout, match="timed out after 5s waiting for abcdef0"):
        await_applied(daemon, "abcdef0" * 5, Deadline(5.0, clock=clock))  # type: ignore[arg-type]
    assert sum(clock.sleeps) == pytest.approx(5.0)
    delays = backoff(FIRST_POLL, POLL_CAP)
    assert clock.sleeps[:-1] == [next(delays) for _ in clock.sleeps[:-1]]
    assert daemon.asked == len(clock.sleeps) + 1


def test_backoff_holds_the_first_delay_for_the_steady_time_then_doubles_to_the_cap() -> None:
    delays = backoff(0.25, 2.0, steady=1.0)

    assert [next(delays) for _ in range(8)] == [0.25, 0.25, 0.25, 0.25, 0.5, 1.0, 2.0, 2.0]

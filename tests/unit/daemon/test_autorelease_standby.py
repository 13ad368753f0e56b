"""Automation's release port on a standby replica: it looks, the leader writes."""

from __future__ import annotations

import asyncio
from typing import Any

from fluxd.automation import ImageUpdate
from fluxd.autorelease import JobReleases

UPDATE = ImageUpdate("default:deployment/web", "nginx", "nginx:1.17.7", "nginx:1.17.8")


class Jobs:
    """Counts what would become a write job."""

    def __init__(self) -> None:
        self.asked = 0

    async def release_containers(self, targets: Any, message: str) -> Any:
        self.asked += 1
        raise AssertionError("a standby must not start a write job")


class Events:
    def record_event(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("a standby must not record an Event")


def test_a_standby_hands_no_update_to_the_job_runner() -> None:
    jobs = Jobs()
    port = JobReleases(jobs, events=Events(), namespace="flux", leading=lambda: False)  # type: ignore[arg-type]
    revision = asyncio.run(port.release_images([UPDATE], message="Auto-release nginx:1.17.8"))
    assert (revision, jobs.asked) == ("", 0)


def test_the_leader_hands_its_updates_to_the_job_runner() -> None:
    jobs = Jobs()
    port = JobReleases(jobs, events=Events(), namespace="flux", leading=lambda: True)  # type: ignore[arg-type]
    try:
        asyncio.run(port.release_images([UPDATE], message="Auto-release nginx:1.17.8"))
    except AssertionError as refused:
        assert "standby" in str(refused)
    assert jobs.asked == 1

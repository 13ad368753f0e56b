"""What the bench reads from the audit log between runs: controller writes, Lease renewals."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from fluxtestbed.audit import AuditLog
from fluxtestbed.bench.fluxd import writes_of
from fluxtestbed.bench.settle import settle

FLUXD = "system:serviceaccount:flux-x:flux"
CONTROLLER = "system:serviceaccount:kube-system:deployment-controller"


def _event(user: str, verb: str, resource: str, name: str) -> str:
    return json.dumps(
        {
            "stage": "ResponseComplete",
            "verb": verb,
            "user": {"username": user},
            "objectRef": {"resource": resource, "namespace": "ns", "name": name},
            "responseStatus": {"code": 200},
        }
    )


def test_lease_renewals_are_counted_apart_from_sync_writes(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    lines = [
        _event(FLUXD, "update", "leases", "fluxd-leader"),
        _event(FLUXD, "patch", "configmaps", "a"),
        _event(FLUXD, "update", "leases", "fluxd-leader"),
        _event(CONTROLLER, "update", "deployments", "d"),
    ]
    log.write_text("".join(line + "\n" for line in lines))
    found = writes_of(AuditLog(log), 0, FLUXD)
    assert found["total"] == 1
    assert found["by_verb_resource"] == {"patch configmaps": 1}
    assert found["by_name"] == {"patch configmaps ns/a": 1}
    assert found["lease_writes"] == 2


def test_a_line_still_being_written_is_left_for_the_next_read(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    whole = _event(CONTROLLER, "update", "deployments", "d") + "\n"
    cut = _event(CONTROLLER, "create", "replicasets", "r")
    log.write_text(whole + cut[:20])
    events, pos = AuditLog(log).tail(0)
    assert [e.verb for e in events] == ["update"] and pos == len(whole)
    log.write_text(whole + cut + "\n")
    events, _ = AuditLog(log).tail(pos)
    assert [e.verb for e in events] == ["create"]


def test_a_cluster_whose_controllers_write_nothing_is_settled_after_the_quiet_time(
    tmp_path: Path,
) -> None:
    log = tmp_path / "audit.log"
    log.write_text(_event(FLUXD, "update", "leases", "fluxd-leader") + "\n")
    found = settle(AuditLog(log), quiet=0.3, timeout=30, poll=0.05)
    assert found.settled and found.controller_writes == 0
    assert found.waited_s >= 0.3


def test_the_wait_is_bounded_and_says_it_did_not_settle(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_text("")
    # quiet longer than timeout: the bound is what ends the wait.
    found = settle(AuditLog(log), quiet=5, timeout=0.3, poll=0.05)
    assert not found.settled and found.controller_writes == 0


def test_a_controller_write_while_waiting_restarts_the_quiet_time(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_text("")
    written = threading.Event()

    def write() -> None:
        with log.open("a") as out:
            out.write(_event(CONTROLLER, "create", "replicasets", "r") + "\n")
        written.set()

    timer = threading.Timer(0.2, write)
    timer.start()
    found = settle(AuditLog(log), quiet=0.6, timeout=30, poll=0.05)
    timer.join()
    assert written.is_set()
    assert found.settled and found.controller_writes == 1
    assert found.waited_s >= 0.2 + 0.6

"""Two replicas of one install: exactly one syncs, and when it dies the other finishes.

deploy/ runs two replicas that elect a leader with a Lease. Here each pod is
served by a fluxd process on this host (``fluxtestbed.replicas``), the Lease
and every object are real, and the API server's audit log tells the
replicas apart by user agent (fluxd sends its pod's name).

The quick scenario (200 objects) runs with every ``make test``; the heavy
ones (3,000 objects, a rolling update of deploy/) with ``make reliability``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fluxtestbed.faults import config_maps, notify, record, time_until
from fluxtestbed.fluxd_host import wait_for
from fluxtestbed.fluxv1 import FluxV1Binaries
from fluxtestbed.gitserver import GitServer
from fluxtestbed.kube import Cluster
from fluxtestbed.replicas import (
    Kubelet,
    Replicated,
    answers_as_leader,
    install_replicas,
    leads,
    log_of,
    overlapping_seconds,
    passes,
    values,
)

#: The default --leader-elect-lease-duration.
LEASE_DURATION = 15.0


@pytest.fixture
def made(kube: Cluster, git_server: GitServer) -> Iterator[list[Replicated]]:
    installs: list[Replicated] = []
    yield installs
    for inst in installs:
        for daemon in inst.daemons:
            print(f"--- {daemon.pod} ({daemon.process.log}):\n{daemon.log()}", file=sys.stderr)
        inst.stop()


def _takeover(
    kube: Cluster,
    git_server: GitServer,
    made: list[Replicated],
    count: int,
    go_fluxctl: Path | None = None,
) -> None:
    # The API client is slowed a little so a pass of `count` objects takes a
    # few seconds: long enough to kill the leader in the middle of one.
    qps = max(50, count // 6)
    inst = install_replicas(
        kube,
        git_server,
        config_maps(count, "v1"),
        extra_args=(f"--k8s-qps={qps}", "--k8s-burst=20"),
    )
    made.append(inst)
    wait_for(f"{count} objects live", lambda: values(kube, inst.target)["v1"] == count, 300)
    # The objects are live a moment before the pass that applied them ends.
    wait_for("the first pass to end", lambda: sum(passes(d) for d in inst.daemons) >= 1, 60)

    # Exactly one replica syncs; the other has run no pass at all.
    leader, standby = inst.leader_and_standby()
    assert inst.holder() == leader.pod
    assert passes(leader) >= 1
    assert passes(standby) == 0 and not leads(standby)
    # Flux v1's fluxctl refuses two pods matching app=flux: only the leader wears it.
    wait_for("the leader alone to wear app=flux", lambda: inst.labelled("app=flux") == {leader.pod})
    if go_fluxctl is not None:
        # Flux v1's fluxctl finds one pod by its default selector, not two.
        found = inst.installation(leader).fluxctl("list-workloads", "-a", exe=go_fluxctl)
        assert found.returncode == 0, found.stderr
        assert "Ambiguous" not in found.stderr

    # fluxctl works through either pod: the standby forwards to the leader.
    for daemon in (standby, leader):
        done = inst.fluxctl_via(daemon, "sync")
        assert done.returncode == 0, done.stderr
    assert passes(standby) == 0

    audit = kube.audit
    assert audit is not None, "the test bed's API server keeps an audit log"
    mark = audit.mark()
    git_server.push_files(inst.repo, config_maps(count, "v2"), "v2 of every object")
    # Told through the standby, which forwards the notification to the leader.
    notify(inst.installation(standby))
    wait_for("the leader's pass to begin", lambda: values(kube, inst.target)["v2"] > 0, 120, 0.05)
    midway = values(kube, inst.target)["v2"]
    killed = time.monotonic()
    leader.kill()

    took = time_until(lambda: values(kube, inst.target)["v2"] == count, timeout=300)
    print(f"--- standby log:\n{log_of(standby)[-4000:]}", file=sys.stderr)
    assert took is not None, "the standby did not finish the pass the leader began"
    # The objects are live a moment before the standby's pass ends and is counted.
    wait_for("the standby's pass to end", lambda: passes(standby) >= 1, 60)
    assert leads(standby) and inst.holder() == standby.pod
    # The new leader took app=flux off the pod of the one that died wearing it.
    wait_for(
        "the new leader alone to wear app=flux", lambda: inst.labelled("app=flux") == {standby.pod}
    )

    # After the kill only the standby writes: never two replicas in one second.
    writes = [w for w in audit.writes(mark) if w.namespace in (inst.target, inst.namespace)]
    assert any(standby.pod in w.user_agent for w in writes)
    assert overlapping_seconds(writes, [leader.pod, standby.pod]) == []
    record(
        f"replicas-takeover-{count}",
        objects=count,
        applied_before_kill=midway,
        seconds_from_kill_to_all_applied=round(time.monotonic() - killed, 2),
        lease_duration=LEASE_DURATION,
        writes_after_kill=len(writes),
    )
    assert midway < count, "the leader had finished before it was killed; slow it more"


def test_the_standby_takes_over_when_the_leader_is_killed_mid_pass(
    kube: Cluster, git_server: GitServer, made: list[Replicated], fluxv1: FluxV1Binaries
) -> None:
    _takeover(kube, git_server, made, 200, go_fluxctl=fluxv1.fluxctl)


@pytest.mark.reliability
def test_the_standby_finishes_a_3000_object_pass_after_the_leader_is_killed(
    kube: Cluster, git_server: GitServer, made: list[Replicated]
) -> None:
    _takeover(kube, git_server, made, 3000)


@pytest.mark.reliability
def test_a_rolling_update_keeps_a_leader_syncing_and_a_push_during_it_goes_live(
    kube: Cluster, git_server: GitServer, made: list[Replicated]
) -> None:
    inst = install_replicas(kube, git_server, config_maps(20, "v1"))
    made.append(inst)
    wait_for("20 objects live", lambda: values(kube, inst.target)["v1"] == 20, 120)
    before = {d.pod for d in inst.daemons}
    with Kubelet(inst) as kubelet:
        # New args: the Deployment rolls its pods one at a time.
        patch = [
            {
                "op": "add",
                "path": "/spec/template/spec/containers/0/args/-",
                "value": "--sync-interval=9m",
            }
        ]
        kube.kubectl(
            "patch",
            "deployment",
            "flux",
            "-n",
            inst.namespace,
            "--type=json",
            "-p",
            json.dumps(patch),
        )
        pushed = time.monotonic()
        git_server.push_files(inst.repo, config_maps(20, "v2"), "v2 during the roll")
        kube.kubectl("rollout", "status", "deployment/flux", "-n", inst.namespace, "--timeout=120s")
        # kwok readies pods at once: the processes follow the pods a little later.
        wait_for("a fluxd for each new pod and none for the old", kubelet.caught_up, 180)
        took = time_until(lambda: values(kube, inst.target)["v2"] == 20, timeout=120)
        wait_for(
            "a leader among the new pods",
            lambda: any(answers_as_leader(d) for d in inst.daemons if d.process.alive()),
            60,
        )
    print(f"--- samples of leaders: {kubelet.samples}", file=sys.stderr)
    assert took is not None, "the commit pushed during the roll never went live"
    now = {d.pod for d in inst.daemons if d.process.alive()}
    assert now and not now & before, "every pod was replaced"
    assert max(kubelet.samples) == 1, "never two leaders at once"
    record(
        "replicas-rolling-update",
        seconds_from_push_to_live=round(time.monotonic() - pushed, 2),
        looks=len(kubelet.samples),
        looks_without_leader=kubelet.samples.count(0),
    )

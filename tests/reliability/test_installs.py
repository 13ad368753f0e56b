"""Several installs of fluxd in one cluster never see or change each other's objects.

Each install labels what it applies ``fluxd.io/instance=<its namespace>``;
its drift check and garbage collection list only objects with its label, and
it refuses to apply over an object another install owns. What each install
read and wrote is counted from the API server's audit log (LISTs with their
label selectors, every write by user), not from fluxd's own account.

The no-op cost is measured on the drift check's LIST path
(``--sync-drift-watch=false``): with the watches on, a no-op pass sends no
request at all (tests/integration/test_drift_watch.py), and the watches'
own LISTs carry the same selector, checked here as well.

Quick scenarios (two installs) run with every ``make test``; three installs
of 1,000 objects each run with ``make reliability``.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import pytest

from fluxtestbed.audit import AuditLog
from fluxtestbed.faults import config_maps, record
from fluxtestbed.fluxd_host import wait_for
from fluxtestbed.kube import Cluster
from fluxtestbed.scenario import Installation

INSTANCE_LABEL = "fluxd.io/instance"
GC_MARK = "fluxcd.io/sync-gc-mark"


def _user(inst: Installation) -> str:
    return f"system:serviceaccount:{inst.namespace}:flux"


def _audit(kube: Cluster) -> AuditLog:
    assert kube.audit is not None, "the test bed's API server keeps an audit log"
    return kube.audit


#: The drift check's LISTs, whose cost is what this measures.
LIST_PATH = ("--sync-drift-watch=false",)


def _all_live(kube: Cluster, inst: Installation, count: int) -> bool:
    path = f"/api/v1/namespaces/{inst.target}/configmaps?labelSelector={INSTANCE_LABEL}"
    return len(json.loads(kube.raw_get(path))["items"]) == count


def _no_op_pass(kube: Cluster, inst: Installation) -> dict[str, Any]:
    """Run one full pass (``fluxctl sync``) and count, from the audit log, what it cost."""
    audit = _audit(kube)
    mark = audit.mark()
    began = time.monotonic()
    done = inst.fluxctl("sync")
    took = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    # The drift check's LISTs (by gc mark); not the inventory's own housekeeping.
    lists = [e for e in audit.lists(mark, _user(inst)) if GC_MARK in unquote(e.request_uri)]
    # What those LISTs return, asked again with the same URIs: the objects they read.
    listed = sum(len(json.loads(kube.raw_get(e.request_uri))["items"]) for e in lists)
    writes = [w for w in audit.writes(mark, _user(inst)) if w.namespace == inst.target]
    return {
        "lists": len(lists),
        "listed": listed,
        "writes": len(writes),
        "fluxctl_seconds": round(took, 2),
        "pass_seconds": _last_pass_took(inst),
        "uris": [e.request_uri for e in lists],
    }


def _last_pass_took(inst: Installation) -> float:
    """How long fluxd's last pass took, as its log line says (``took=0.12s``)."""
    text = inst.daemon.process.log.read_text(errors="replace")
    passes = re.findall(r"event=sync .* took=([0-9.]+)s", text)
    return float(passes[-1]) if passes else -1.0


def _installs_side_by_side(
    kube: Cluster, fluxd_factory: Callable[..., Installation], installs: int, count: int
) -> None:
    first = fluxd_factory(config_maps(count, "a"), extra_args=LIST_PATH)
    wait_for(f"{count} objects of the first install", lambda: _all_live(kube, first, count), 300)
    alone = _no_op_pass(kube, first)
    others = [fluxd_factory(config_maps(count, "b")) for _ in range(installs - 1)]
    for other in others:
        wait_for(
            f"{count} objects of another install", lambda o=other: _all_live(kube, o, count), 300
        )
    beside = _no_op_pass(kube, first)

    # Its drift check asks only for its own objects, and nothing is written.
    own = f"{INSTANCE_LABEL}={first.namespace}"
    assert beside["uris"] and all(own in unquote(uri) for uri in beside["uris"]), beside
    assert beside["listed"] == alone["listed"] == count, (alone, beside)
    assert beside["lists"] == alone["lists"]
    assert beside["writes"] == alone["writes"] == 0
    for other in others:  # the others watch: their LISTs too ask for their own objects
        theirs = f"{INSTANCE_LABEL}={other.namespace}"
        uris = [unquote(e.request_uri) for e in _audit(kube).lists(0, _user(other))]
        # (objects marked before installs were labelled are looked for apart)
        marked = [uri for uri in uris if GC_MARK in uri and f"!{INSTANCE_LABEL}" not in uri]
        assert marked and all(theirs in uri for uri in marked), uris
    record(
        f"installs-no-op-{installs}x{count}",
        objects_per_install=count,
        installs=installs,
        alone={k: v for k, v in alone.items() if k != "uris"},
        beside_others={k: v for k, v in beside.items() if k != "uris"},
    )


def test_an_install_lists_only_its_own_objects_beside_another(
    kube: Cluster, fluxd_factory: Callable[..., Installation]
) -> None:
    _installs_side_by_side(kube, fluxd_factory, installs=2, count=50)


@pytest.mark.reliability
def test_three_installs_of_1000_objects_each_cost_what_one_alone_costs(
    kube: Cluster, fluxd_factory: Callable[..., Installation]
) -> None:
    _installs_side_by_side(kube, fluxd_factory, installs=3, count=1000)


def _shared(namespace: str, value: str) -> str:
    return (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n  namespace: {namespace}\n"
        f"data:\n  value: {value}\n"
    )


def _live(kube: Cluster, namespace: str, name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(
        kube.raw_get(f"/api/v1/namespaces/{namespace}/configmaps/{name}")
    )
    return body


def _present(kube: Cluster, namespace: str, name: str) -> bool:
    """Whether the ConfigMap exists yet (a 404 until the pass applied it)."""
    try:
        _live(kube, namespace, name)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return False
        raise
    return True


def test_a_second_install_refuses_an_object_the_first_owns_and_changes_nothing(
    kube: Cluster, fluxd_factory: Callable[..., Installation]
) -> None:
    first = fluxd_factory({"mine.yaml": config_maps(1, "a")["objects/part-0000.yaml"]})
    first_files = {"shared.yaml": _shared(first.target, "first")}
    first.git.push_files(first.repo, first_files, "a shared object")
    first.fluxctl("sync")
    wait_for("the first install's object", lambda: _present(kube, first.target, "shared"), 60)
    before = _live(kube, first.target, "shared")
    assert before["metadata"]["labels"][INSTANCE_LABEL] == first.namespace
    mark = _audit(kube).mark()

    second = fluxd_factory({"shared.yaml": _shared(first.target, "second"), **config_maps(2, "b")})
    wanted = f"{first.target}:configmap/shared"

    def refused() -> str:
        try:
            report = second.daemon.get_json("/v11/sync-errors")
        except urllib.error.HTTPError:  # 404 until the first pass ends
            return ""
        found = [e for e in report.get("errors") or [] if e["ID"] == wanted]
        return str(found[0]["Error"]) if found else ""

    error = wait_for("the second install to refuse the object", refused, 120)
    assert f"owned by the fluxd install '{first.namespace}'" in error
    assert "--k8s-instance-takeover" in error
    wait_for("the second install's own objects", lambda: _all_live(kube, second, 2), 60)

    after = _live(kube, first.target, "shared")
    assert after["data"] == {"value": "first"}
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    touched = [w for w in _audit(kube).writes(mark, _user(second)) if w.name == "shared"]
    assert touched == []
    # fluxctl shows it too, naming the object and what to do.
    shown = second.fluxctl("sync")
    assert wanted in shown.stdout + shown.stderr

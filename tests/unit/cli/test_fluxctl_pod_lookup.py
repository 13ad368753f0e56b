"""Which pod fluxctl picks, and what it says when it cannot pick one.

The API server is replaced by canned pod lists here, to cover states a test
cluster does not easily produce (running but not Ready, terminating);
``tests/integration/test_fluxctl_portforward.py`` covers the rest for real.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from fluxctl.errors import AmbiguousPod, ForbiddenError, PodNotFound, PodNotReady
from fluxctl.portforward import FALLBACK_SELECTOR, find_pod

SELECTORS = ["app=flux", FALLBACK_SELECTOR]


def pod(name: str, phase: str = "Running", *, ready: bool = True, **meta: Any) -> dict[str, Any]:
    status: dict[str, Any] = {
        "phase": phase,
        "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
    }
    if not ready:
        status["containerStatuses"] = [
            {"name": "flux", "ready": False, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
        ]
    return {"metadata": {"name": name, **meta}, "status": status}


@dataclass
class FakeApi:
    """Answers pod lists by label selector, like the API server would."""

    pods: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    status: int = 200
    error: str = ""
    asked: list[str] = field(default_factory=list)

    def get(self, path: str, query: list[tuple[str, str]], timeout: float) -> tuple[int, bytes]:
        selector = dict(query)["labelSelector"]
        self.asked.append(selector)
        if self.status != 200:
            return self.status, json.dumps({"message": self.error}).encode()
        return 200, json.dumps({"items": self.pods.get(selector, [])}).encode()


def test_the_labels_selector_is_tried_first() -> None:
    api = FakeApi({"app=flux": [pod("flux-helm")], FALLBACK_SELECTOR: [pod("flux-plain")]})

    found = find_pod(api, "flux", SELECTORS, 5)

    assert (found.name, found.selector) == ("flux-helm", "app=flux")
    assert api.asked == ["app=flux"]


def test_the_name_selector_is_the_fallback() -> None:
    api = FakeApi({FALLBACK_SELECTOR: [pod("flux-6d8f7")]})

    found = find_pod(api, "flux", SELECTORS, 5)

    assert (found.name, found.selector) == ("flux-6d8f7", FALLBACK_SELECTOR)


def test_terminating_pods_do_not_make_a_rollout_ambiguous() -> None:
    old = pod("flux-old", deletionTimestamp="2026-01-01T00:00:00Z")
    api = FakeApi({"app=flux": [old, pod("flux-new")]})

    assert find_pod(api, "flux", SELECTORS, 5).name == "flux-new"


def test_two_running_pods_are_ambiguous() -> None:
    api = FakeApi({"app=flux": [pod("flux-a"), pod("flux-b")]})

    with pytest.raises(AmbiguousPod, match="2 running pods match") as error:
        find_pod(api, "flux", SELECTORS, 5)
    assert error.value.exit_code == 3


def _replica(name: str, replica_set: str, template_hash: str, **kwargs: Any) -> dict[str, Any]:
    made = pod(name, **kwargs)
    made["metadata"]["labels"] = {"app": "flux", "pod-template-hash": template_hash}
    made["metadata"]["ownerReferences"] = [
        {"kind": "ReplicaSet", "name": replica_set, "controller": True}
    ]
    return made


def test_replicas_of_one_deployment_are_not_ambiguous_a_ready_one_is_picked() -> None:
    # deploy/ runs two replicas; any of them answers (the standby forwards to the leader).
    old = _replica("flux-5c9-a", "flux-5c9", "5c9", ready=False)
    new = _replica("flux-7f4-b", "flux-7f4", "7f4")
    api = FakeApi({"app=flux": [old, new]})

    assert find_pod(api, "flux", SELECTORS, 5).name == "flux-7f4-b"


def test_pods_of_two_deployments_stay_ambiguous() -> None:
    one = _replica("flux-5c9-a", "flux-5c9", "5c9")
    other = _replica("fluxd-team-7f4-b", "fluxd-team-7f4", "7f4")
    api = FakeApi({"app=flux": [one, other]})

    with pytest.raises(AmbiguousPod):
        find_pod(api, "flux", SELECTORS, 5)


def test_a_running_pod_that_is_not_ready_is_still_used_and_its_state_kept() -> None:
    # fluxd is not Ready until git is: `fluxctl identity` must still reach it.
    api = FakeApi({"app=flux": [pod("flux-0", ready=False)]})

    found = find_pod(api, "flux", SELECTORS, 5)

    assert found.name == "flux-0"
    assert found.unready == 'pod "flux-0" is running but not ready (flux: CrashLoopBackOff)'


def test_a_ready_pod_has_nothing_to_report() -> None:
    api = FakeApi({"app=flux": [pod("flux-0")]})

    assert find_pod(api, "flux", SELECTORS, 5).unready == ""


def test_only_pending_pods_are_reported_as_not_running_yet() -> None:
    api = FakeApi({FALLBACK_SELECTOR: [pod("flux-0", "Pending")]})

    with pytest.raises(PodNotReady, match=r"found only:\n  flux-0 \(Pending\)"):
        find_pod(api, "flux", SELECTORS, 5)


def test_no_pod_at_all_lists_every_selector() -> None:
    with pytest.raises(PodNotFound) as error:
        find_pod(FakeApi(), "team", SELECTORS, 5)

    assert error.value.message.splitlines()[:3] == [
        'No pod found in namespace "team" using the following selectors:',
        "  app=flux",
        "  name in (flux,fluxd,weave-flux-agent)",
    ]


def test_rbac_refusal_names_the_verb_and_resource() -> None:
    message = (
        'pods is forbidden: User "system:serviceaccount:ci:deployer" cannot list '
        'resource "pods" in API group "" in the namespace "flux"'
    )
    api = FakeApi(status=403, error=message)

    with pytest.raises(ForbiddenError) as error:
        find_pod(api, "flux", SELECTORS, 5)
    assert error.value.message == f'not allowed to list pods in namespace "flux": {message}'
    assert error.value.exit_code == 1

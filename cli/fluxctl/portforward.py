"""Find the fluxd pod and reach its port 3030 through the Kubernetes API.

The forward is what ``kubectl port-forward`` does, in-process: each local TCP
connection gets its own ``pods/portforward`` websocket through the API
server (``fluxctl.podchannel``), so no kubectl binary and no extra process
are involved. The kubeconfig is read by ``fluxctl.kubeaccess``: the
Kubernetes client package is not used at all, since importing it took
longer than everything else a ``fluxctl sync`` does.

Lookup follows Flux v1: the ``--k8s-fwd-labels`` selector first, then
``name in (flux,fluxd,weave-flux-agent)``; each in ``--k8s-fwd-ns`` only.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from fluxctl.errors import (
    AmbiguousPod,
    ClusterAccessError,
    DaemonUnreachable,
    ForbiddenError,
    PodNotFound,
    PodNotReady,
)
from fluxctl.kubeaccess import KubeAccess, load_access
from fluxctl.podchannel import DialError, PodChannel, dial
from fluxctl.tunnel import Tunnel

Pod = dict[str, Any]

FLUX_PORT = 3030
FALLBACK_SELECTOR = "name in (flux,fluxd,weave-flux-agent)"
_FORBIDDEN = re.compile(r'cannot (\S+) resource "([^"]+)"')


class PodApi(Protocol):
    """What the lookup needs of the API server: one GET."""

    def get(self, path: str, query: list[tuple[str, str]], timeout: float) -> tuple[int, bytes]: ...


@dataclass(frozen=True)
class PodRef:
    namespace: str
    name: str
    selector: str
    #: Why the pod is not Ready ("" when it is). fluxd's readiness also
    #: reflects git and sync health, so a pod that is not Ready usually still
    #: answers (``fluxctl identity`` is how a new install gets ready): it is
    #: used anyway, and this is told only if the connection fails.
    unready: str = ""


class Forward:
    """An open forward from 127.0.0.1:<port> to port 3030 of the fluxd pod."""

    def __init__(self, access: KubeAccess, pod: PodRef, *, timeout: float) -> None:
        self.pod = pod
        self._tunnel = Tunnel(
            lambda: _dial_within(access, pod, timeout), name=f"port-forward {pod.name}"
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._tunnel.port}/api/flux"

    def diagnose(self) -> str:
        """What is known about a failed connection, for the error message."""
        return "\n".join(filter(None, [self._tunnel.last_error, self.pod.unready]))

    def close(self) -> None:
        self._tunnel.close()


def open_forward(*, context: str, namespace: str, selector: str, timeout: float) -> Forward:
    """Find the fluxd pod in ``namespace`` and open a forward to it."""
    access = load_access(context)
    pod = find_pod(access, namespace, [selector, FALLBACK_SELECTOR], timeout)
    return Forward(access, pod, timeout=timeout)


def find_pod(api: PodApi, namespace: str, selectors: list[str], timeout: float) -> PodRef:
    """The one running pod matched by the first selector that matches any."""
    waiting: list[str] = []
    for selector in selectors:
        pods = _list_pods(api, namespace, selector, timeout)
        live = [p for p in pods if _phase(p) == "Running" and not _terminating(p)]
        if len(live) > 1 and _one_workload(live):
            # Replicas of one fluxd Deployment (leader election): any of them
            # answers, forwarding to the leader; a ready one is preferred.
            live = sorted(live, key=lambda p: (bool(_unready(p)), _name(p)))[:1]
        if len(live) > 1:
            raise _ambiguous(namespace, selector, live)
        if live:
            return PodRef(namespace, _name(live[0]), selector, _unready(live[0]))
        waiting += [_describe(p) for p in pods if _phase(p) == "Pending" or _terminating(p)]
    if waiting:
        raise PodNotReady(
            f'no running fluxd pod in namespace "{namespace}"; found only:\n'
            + "\n".join(f"  {line}" for line in waiting),
            hint=f"Wait for it to start: kubectl -n {namespace} get pods -w",
        )
    raise _not_found(namespace, selectors)


def _list_pods(api: PodApi, namespace: str, selector: str, timeout: float) -> list[Pod]:
    path = f"/api/v1/namespaces/{quote(namespace, safe='')}/pods"
    status, body = api.get(path, [("labelSelector", selector)], timeout)
    if status != 200:
        raise _api_error(status, body, "list", "pods", namespace)
    try:
        items = json.loads(body).get("items") or []
    except (ValueError, AttributeError) as exc:
        raise ClusterAccessError(
            f"the Kubernetes API sent a pod list that is not JSON: {exc}"
        ) from exc
    return [item for item in items if isinstance(item, dict)]


def _workload(pod: Pod) -> str:
    """The Deployment a pod belongs to, from its ReplicaSet owner ("" for others)."""
    for owner in pod.get("metadata", {}).get("ownerReferences") or ():
        if owner.get("controller") and owner.get("kind") == "ReplicaSet":
            hash_ = str(pod.get("metadata", {}).get("labels", {}).get("pod-template-hash", ""))
            name = str(owner.get("name", ""))
            return name.removesuffix(f"-{hash_}") if hash_ else ""
    return ""


def _one_workload(pods: list[Pod]) -> bool:
    """Whether ``pods`` are all replicas of one Deployment (old and new during a roll)."""
    owners = {_workload(p) for p in pods}
    return len(owners) == 1 and "" not in owners


def _name(pod: Pod) -> str:
    return str(pod.get("metadata", {}).get("name", ""))


def _phase(pod: Pod) -> str:
    return str(pod.get("status", {}).get("phase") or "")


def _terminating(pod: Pod) -> bool:
    return pod.get("metadata", {}).get("deletionTimestamp") is not None


def _describe(pod: Pod) -> str:
    state = "Terminating" if _terminating(pod) else _phase(pod)
    return f"{_name(pod)} ({state})"


def _unready(pod: Pod) -> str:
    """Why the pod is not Ready, or "" if it is."""
    status = pod.get("status", {})
    conditions = status.get("conditions") or []
    if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
        return ""
    reasons = [
        f"{cs.get('name')}: {_waiting_reason(cs)}"
        for cs in status.get("containerStatuses") or []
        if not cs.get("ready")
    ]
    detail = f" ({'; '.join(reasons)})" if reasons else ""
    return f'pod "{_name(pod)}" is running but not ready{detail}'


def _waiting_reason(container_status: dict[str, Any]) -> str:
    state = container_status.get("state") or {}
    for phase in ("waiting", "terminated"):
        if phase in state:
            return str(state[phase].get("reason") or phase)
    return "not ready"


def _ambiguous(namespace: str, selector: str, pods: list[Pod]) -> AmbiguousPod:
    names = "\n".join(f"  {_name(p)}" for p in pods)
    return AmbiguousPod(
        f'Ambiguous pod: {len(pods)} running pods match "{selector}" '
        f'in namespace "{namespace}":\n{names}',
        hint="Select one with --k8s-fwd-labels, or talk to a daemon directly with --url.",
    )


def _not_found(namespace: str, selectors: list[str]) -> PodNotFound:
    tried = "\n".join(f"  {s}" for s in selectors)
    return PodNotFound(
        f'No pod found in namespace "{namespace}" using the following selectors:\n{tried}\n\n'
        f'Make sure Flux is running in namespace "{namespace}".\n'
        "If Flux is running in another different namespace, please supply it to --k8s-fwd-ns."
    )


def _api_error(status: int, body: Any, verb: str, resource: str, namespace: str) -> Exception:
    message = _status_message(body) or f"HTTP {status}"
    if status == 403:
        return _forbidden(message, verb, resource, namespace)
    if status == 401:
        return ClusterAccessError(
            f"the Kubernetes API refused the credentials: {message}",
            hint="Log in again or pick another --context.",
        )
    return ClusterAccessError(f"Kubernetes API error ({status}): {message}")


def _forbidden(message: str, verb: str, resource: str, namespace: str) -> ForbiddenError:
    match = _FORBIDDEN.search(message)
    if match:
        verb, resource = match.group(1), match.group(2)
    return ForbiddenError(
        f'not allowed to {verb} {resource} in namespace "{namespace}": {message}',
        hint=(
            # API servers check "get" for websocket port-forwards and "create"
            # for SPDY ones (kubectl), newer ones both: name both.
            "fluxctl needs RBAC permission to list pods, and to get and create "
            f'pods/portforward, in namespace "{namespace}". Ask a cluster admin for a '
            "Role that grants them, or talk to the daemon directly with --url."
        ),
    )


def _status_message(body: Any) -> str:
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not isinstance(body, str) or not body:
        return ""
    try:
        status = json.loads(body)
    except json.JSONDecodeError:
        return body.strip()
    return str(status.get("message", "")) if isinstance(status, dict) else ""


def _dial_within(access: KubeAccess, pod: PodRef, timeout: float) -> PodChannel:
    """``dial``, but give up after ``timeout`` whatever the handshake is waiting for."""
    outcome: list[PodChannel | BaseException] = []

    def run() -> None:
        try:
            outcome.append(_dial(access, pod, timeout))
        except BaseException as exc:  # handed to the caller's thread below
            outcome.append(exc)

    # A daemon thread: if the API server never answers, it is left behind and
    # dies with the process.
    dialer = threading.Thread(target=run, name=f"dial {pod.name}", daemon=True)
    dialer.start()
    dialer.join(timeout)
    if not outcome:
        raise DaemonUnreachable(
            f'the port-forward to pod "{pod.name}" in namespace "{pod.namespace}" '
            f"did not open within {timeout:g}s"
        )
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def _dial(access: KubeAccess, pod: PodRef, timeout: float) -> PodChannel:
    try:
        return dial(access, pod.namespace, pod.name, FLUX_PORT, timeout)
    except DialError as exc:
        raise _dial_error(exc, pod) from exc


def _dial_error(exc: DialError, pod: PodRef) -> Exception:
    message = _status_message(exc.body) or exc.message
    if exc.status == 403:
        return _forbidden(message, "create", "pods/portforward", pod.namespace)
    if exc.status == 404:
        return PodNotFound(f'pod "{pod.name}" disappeared from namespace "{pod.namespace}"')
    return DaemonUnreachable(
        f'port-forward to pod "{pod.name}" in namespace "{pod.namespace}" failed: {message}'
    )

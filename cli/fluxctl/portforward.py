"""Find the fluxd pod and reach its port 3030 through the Kubernetes API.

This is the only module that imports the Kubernetes client (it takes most of a
second to import, and ``--help``, ``version`` or ``--url`` never need it).
The forward is what ``kubectl port-forward`` does, in-process: each local TCP
connection gets its own ``pods/portforward`` websocket through the API
server, so no kubectl binary and no extra process are involved.

Only the client's transport is used (``ApiClient`` for auth and TLS, and
``ws_client``'s websocket and ``PortForward``, which is what
``kubernetes.stream.portforward`` runs), with pods read as plain JSON: the
generated ``CoreV1Api`` and its models cost about two seconds of CPU to
import, more than everything else a ``fluxctl sync`` does.

Lookup follows Flux v1: the ``--k8s-fwd-labels`` selector first, then
``name in (flux,fluxd,weave-flux-agent)``; each in ``--k8s-fwd-ns`` only.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import socket
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import urllib3
from kubernetes.client.api_client import ApiClient
from kubernetes.client.configuration import Configuration
from kubernetes.client.exceptions import ApiException
from kubernetes.config import incluster_config, kube_config
from kubernetes.config.config_exception import ConfigException
from kubernetes.stream.ws_client import PortForward, create_websocket, get_websocket_url

from fluxctl.errors import (
    AmbiguousPod,
    ClusterAccessError,
    DaemonUnreachable,
    ForbiddenError,
    PodNotFound,
    PodNotReady,
)
from fluxctl.kubeconfig import check_usable, kubeconfig_paths, load_kubeconfig
from fluxctl.tunnel import Tunnel

log = logging.getLogger(__name__)

Pod = dict[str, Any]

FLUX_PORT = 3030
FALLBACK_SELECTOR = "name in (flux,fluxd,weave-flux-agent)"
_FORBIDDEN = re.compile(r'cannot (\S+) resource "([^"]+)"')


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

    def __init__(self, api: ApiClient, pod: PodRef, *, timeout: float) -> None:
        self.pod = pod
        self._api = api
        self._tunnel = Tunnel(
            lambda: _dial_within(api, pod, timeout), name=f"port-forward {pod.name}"
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._tunnel.port}/api/flux"

    def diagnose(self) -> str:
        """What is known about a failed connection, for the error message."""
        return "\n".join(filter(None, [self._tunnel.last_error, self.pod.unready]))

    def close(self) -> None:
        self._tunnel.close()
        self._api.close()  # type: ignore[no-untyped-call]


def open_forward(*, context: str, namespace: str, selector: str, timeout: float) -> Forward:
    """Find the fluxd pod in ``namespace`` and open a forward to it."""
    api = load_api_client(context)
    try:
        pod = find_pod(api, namespace, [selector, FALLBACK_SELECTOR], timeout)
        return Forward(api, pod, timeout=timeout)
    except BaseException:
        api.close()  # type: ignore[no-untyped-call]
        raise


def load_api_client(context: str) -> ApiClient:
    """An ApiClient from the kubeconfig (``--context``), else the in-cluster config."""
    configuration = Configuration()
    paths = kubeconfig_paths()
    if paths:
        # Checked first so that a malformed file is named with its field; the
        # client's own loader would fail on it with an arbitrary exception.
        check_usable(load_kubeconfig(paths), context)
    try:
        if paths:
            kube_config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=os.pathsep.join(str(p) for p in paths),
                context=context or None,
                client_configuration=configuration,
                persist_config=False,
            )
        elif os.environ.get("KUBERNETES_SERVICE_HOST"):
            incluster_config.load_incluster_config(  # type: ignore[no-untyped-call]
                client_configuration=configuration
            )
        else:
            raise ClusterAccessError(
                "no kubeconfig found ($KUBECONFIG or ~/.kube/config) and not running in a cluster",
                hint="Point KUBECONFIG at your cluster's config, or give the daemon's --url.",
            )
        return ApiClient(configuration)
    # Whatever the client's loader still trips over (it raises all of these
    # for malformed input) is reported, never shown as a traceback.
    except (ConfigException, OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ClusterAccessError(f"cannot use the kubeconfig: {exc}") from exc


def find_pod(api: ApiClient, namespace: str, selectors: list[str], timeout: float) -> PodRef:
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


def _request(api: ApiClient, path: str, query: list[tuple[str, str]]) -> tuple[str, dict[str, str]]:
    """URL and headers (with the kubeconfig's auth) of a GET on ``path``."""
    _, url, headers, _, _ = api.param_serialize(
        method="GET",
        resource_path=path,
        query_params=query,
        header_params={"Accept": "application/json"},
        auth_settings=["BearerToken"],
    )
    return url, headers


def _list_pods(api: ApiClient, namespace: str, selector: str, timeout: float) -> list[Pod]:
    url, headers = _request(
        api, f"/api/v1/namespaces/{quote(namespace, safe='')}/pods", [("labelSelector", selector)]
    )
    try:
        response = api.call_api("GET", url, headers, _request_timeout=timeout)
        body = response.read()  # type: ignore[no-untyped-call]
    except ApiException as exc:  # raised for transport failures (status 0)
        raise ClusterAccessError(f"cannot use the Kubernetes API: {exc.reason}") from exc
    except urllib3.exceptions.HTTPError as exc:
        host = api.configuration.host
        raise ClusterAccessError(f"cannot reach the Kubernetes API at {host}: {exc}") from exc
    if response.status != 200:
        raise _api_error(response.status, body, "list", "pods", namespace)
    items = json.loads(body).get("items") or []
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


class _PodChannel:
    """One ``pods/portforward`` websocket, seen as a socket by the tunnel."""

    def __init__(self, forward: GuardedPortForward) -> None:
        self._forward: Any = forward  # the client is untyped

    def socket(self) -> socket.socket:
        sock: socket.socket = self._forward.socket(FLUX_PORT)
        return sock

    def error(self) -> str | None:
        error: str | None = self._forward.error(FLUX_PORT)
        return error or self._forward.failure or None

    def close(self) -> None:
        self._forward.close()


def _dial_within(api: ApiClient, pod: PodRef, timeout: float) -> _PodChannel:
    """``_dial``, but give up after ``timeout``: the websocket connect has no timeout."""
    outcome: list[_PodChannel | BaseException] = []

    def run() -> None:
        try:
            outcome.append(_dial(api, pod))
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


class GuardedPortForward(PortForward):
    """The client's forward, with its proxy thread's failure kept, not raised.

    The client copies bytes in a thread of its own and raises there on a
    protocol surprise. Caught in that thread, the failure ends the
    connection (which fluxctl reports as an unreachable daemon, with this
    text as the diagnosis) instead of printing a traceback; nothing
    process-wide such as ``threading.excepthook`` is touched.
    """

    failure = ""

    def _proxy(self) -> None:
        try:
            super()._proxy()  # type: ignore[no-untyped-call]
        except Exception as exc:
            log.debug("port-forward stream failed", exc_info=True)
            self.failure = f"port-forward stream failed: {exc}"
            with contextlib.suppress(Exception):  # already failing; the cause is kept
                self.websocket.close()
            for port in self.local_ports.values():
                port.python.close()  # the tunnel then sees the connection end


def _open_websocket(api: ApiClient, url: str, headers: dict[str, str]) -> GuardedPortForward:
    """What the client's ``portforward_call`` does, with the guarded forward."""
    try:
        ws_url = get_websocket_url(url)  # type: ignore[no-untyped-call]
        websocket = create_websocket(api.configuration, ws_url, headers)  # type: ignore[no-untyped-call]
    except Exception as exc:  # the client's own translation, kept for _dial_error
        raise ApiException(status=0, reason=str(exc)) from exc
    return GuardedPortForward(websocket, [FLUX_PORT])  # type: ignore[no-untyped-call]


def _dial(api: ApiClient, pod: PodRef) -> _PodChannel:
    # Quoted although both come from flags and the API server: a value is one segment.
    ns, name = quote(pod.namespace, safe=""), quote(pod.name, safe="")
    path = f"/api/v1/namespaces/{ns}/pods/{name}/portforward"
    url, headers = _request(api, path, [("ports", str(FLUX_PORT))])
    try:
        forward = _open_websocket(api, url, headers)
    except ApiException as exc:
        raise _dial_error(exc, pod) from exc
    return _PodChannel(forward)


def _dial_error(exc: ApiException, pod: PodRef) -> Exception:
    # The client wraps the websocket handshake failure; its status and body
    # are on the original exception.
    cause = exc.__cause__ or exc.__context__
    status = getattr(cause, "status_code", None) or exc.status
    message = _status_message(getattr(cause, "resp_body", None)) or str(exc.reason or exc)
    if status == 403:
        return _forbidden(message, "create", "pods/portforward", pod.namespace)
    if status == 404:
        return PodNotFound(f'pod "{pod.name}" disappeared from namespace "{pod.namespace}"')
    return DaemonUnreachable(
        f'port-forward to pod "{pod.name}" in namespace "{pod.namespace}" failed: {message}'
    )

"""fluxd's leader election flags: several replicas, one of them syncing."""

from __future__ import annotations

import re

from fluxd import flag_values as v
from fluxd.errors import SettingsError
from fluxd.flag_values import Flag
from fluxids import is_object_name

#: A label key (an optional DNS prefix and a name) and value, as the API server checks them.
_LABEL_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_LABEL = re.compile(
    rf"((?:[a-z0-9]([-a-z0-9.]{{0,251}}[a-z0-9])?/)?{_LABEL_NAME})=({_LABEL_NAME})?"
)


def _pod_labels(values: list[str]) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    for item in v.split(values):
        match = _LABEL.fullmatch(item)
        if match is None:
            raise SettingsError(
                f"fluxd: --leader-pod-labels {item!r} is not a label as key=value",
                help="Give key=value pairs, comma-separated, e.g. --leader-pod-labels=app=flux.",
            )
        key, _, value = item.partition("=")
        pairs.append((key, value))
    return tuple(pairs)


def _lease_name(text: str) -> str:
    if not is_object_name(text) or text != text.lower():
        raise ValueError(f"{text!r} is not an object name, e.g. fluxd-leader")
    return text


LEADER_FLAGS = (
    Flag(
        "--leader-elect",
        "run as one of several replicas: only the one holding the Lease syncs; "
        "the others serve the API and forward writes to it",
        ("leader.elect",),
        kind="bool",
    ),
    Flag(
        "--leader-elect-lease-duration",
        "how long a claim lasts unrenewed before another replica may take over",
        ("leader.lease_duration",),
        read=v.duration,
        show=v.show_duration,
    ),
    Flag(
        "--leader-elect-renew-deadline",
        "a leader that could not renew for this long stops writing and steps down",
        ("leader.renew_deadline",),
        read=v.duration,
        show=v.show_duration,
    ),
    Flag(
        "--leader-elect-retry-period",
        "how often the leader renews and the others look",
        ("leader.retry_period",),
        read=v.duration,
        show=v.show_duration,
    ),
    Flag(
        "--leader-elect-identity",
        "this replica's name in the Lease (default: $POD_NAME, which deploy/ sets to the "
        "pod's name, else the host name)",
        ("leader.identity",),
        fallback=lambda env: env.get("POD_NAME"),
    ),
    Flag(
        "--leader-elect-lease-name",
        "the Lease's name, in fluxd's namespace",
        ("leader.lease_name",),
        convert=_lease_name,
    ),
    Flag(
        "--leader-pod-labels",
        "labels the leader puts on its own pod (named by --leader-elect-identity) while it "
        "leads, and takes off when it stops; deploy/ sets app=flux, so that Flux v1's "
        "fluxctl, which refuses two matching pods, finds the leader (comma list or repeated)",
        ("leader.pod_labels",),
        kind="list",
        convert=_pod_labels,
        show=lambda value: ",".join(f"{k}={val}" for k, val in value),
    ),
    Flag(
        "--advertise-address",
        "host:port where the other replicas reach this one's API "
        "(default: $POD_IP and the port of --listen)",
        ("leader.advertise_address",),
        fallback=lambda env: env.get("POD_IP"),
    ),
)

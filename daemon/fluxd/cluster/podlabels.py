"""Labels on fluxd's own pods: the leader's badge (``--leader-pod-labels``).

Flux v1's fluxctl finds fluxd by pod label and refuses to go on when two
pods match ("Ambiguous pod"). With several replicas only the leader wears
the labels it looks for, so exactly one pod matches while a leader is known.
Merge patches touch only the named labels; the Deployment's selector must
not use them, or a label taken off would orphan the pod.
"""

from __future__ import annotations

from collections.abc import Sequence

from fluxd.cluster.client import MERGE_PATCH, KubeClient
from fluxd.cluster.errors import api_error
from fluxd.cluster.paths import api_path


class PodLabels:
    """Puts ``labels`` on pods of ``namespace``, or takes them off."""

    def __init__(
        self, client: KubeClient, *, namespace: str, labels: Sequence[tuple[str, str]]
    ) -> None:
        self._client = client
        self._namespace = namespace
        self._labels = tuple(labels)

    def put_on(self, pod: str) -> None:
        self._patch(pod, {key: value for key, value in self._labels}, "labelling")

    def take_off(self, pod: str) -> None:
        """Remove the labels; a pod that is gone already has none."""
        self._patch(pod, {key: None for key, _ in self._labels}, "unlabelling")

    def _patch(self, pod: str, labels: dict[str, str | None], doing: str) -> None:
        if not self._labels or not pod:
            return
        path = api_path("v1", "pods", namespace=self._namespace, name=pod)
        body = {"metadata": {"labels": labels}}
        response = self._client.request("PATCH", path, body=body, content_type=MERGE_PATCH)
        if response.status == 404 and all(value is None for value in labels.values()):
            return
        if not response.ok:
            what = f"{doing} pod {self._namespace}/{pod}"
            raise api_error(response.status, response.body, what=what)

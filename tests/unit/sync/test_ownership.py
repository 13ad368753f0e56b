"""Refusing another install's objects: the rule, kind by kind.

The cluster is a fake of the one call the rule makes (``foreign_objects``);
the real API server is exercised by tests/reliability/test_installs.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from fluxd.cluster import LiveMeta
from fluxd.errors import ClusterError
from fluxd.manifests import Resource
from fluxd.sync.ownership import Owners, without_foreign
from fluxd.sync.ports import ClusterPort
from fluxids import ObjectRef

OWNERS = Owners(instance="team-a", set_name="set", inventory=())


def resource(kind: str, name: str, api_version: str = "v1") -> Resource:
    ref = ObjectRef("apps", kind, name, api_version)
    return Resource(ref, f"{name}.yaml", 0, 1, {}, "sum", False, False, {})


class Cluster:
    """Lists every kind but those in ``forbidden``; ``owned`` maps names to their install."""

    def __init__(self, forbidden: Iterable[str] = (), owned: dict[str, str] | None = None):
        self.forbidden = set(forbidden)
        self.owned = owned or {}

    def foreign_objects(self, refs: Iterable[ObjectRef]) -> dict[ObjectRef, LiveMeta]:
        wanted = list(refs)
        kinds = {ref.kind for ref in wanted}
        if kinds & self.forbidden:
            raise ClusterError(
                f"listing {sorted(kinds)[0]}: forbidden", status=403, transient=False
            )
        return {ref: self._live(ref) for ref in wanted if ref.name in self.owned}

    def _live(self, ref: ObjectRef) -> LiveMeta:
        labels = {"fluxd.io/instance": self.owned[ref.name], "fluxcd.io/sync-gc-mark": "x"}
        return LiveMeta(ref, uid="u", generation=1, resource_version="1", labels=labels)


def port(cluster: Cluster) -> ClusterPort:
    return cast(ClusterPort, cluster)


def test_a_kind_fluxd_may_not_list_fails_only_its_own_objects() -> None:
    wanted = [resource("ConfigMap", f"cm-{i}") for i in range(3)]
    wanted.append(resource("ServiceAccount", "robot"))

    kept, refused = without_foreign(port(Cluster(forbidden={"ServiceAccount"})), wanted, OWNERS)

    assert [r.ref.name for r in kept] == ["cm-0", "cm-1", "cm-2"]
    assert [f.id for f in refused] == ["apps:serviceaccount/robot"]
    assert "forbidden" in refused[0].error
    # An RBAC refusal does not pass by itself: no quick retry of the pass for it.
    assert refused[0].transient is False


def test_an_object_of_another_install_is_refused_and_the_rest_kept() -> None:
    wanted = [resource("ConfigMap", "mine"), resource("ConfigMap", "theirs")]

    kept, refused = without_foreign(port(Cluster(owned={"theirs": "team-b"})), wanted, OWNERS)

    assert [r.ref.name for r in kept] == ["mine"]
    assert [f.id for f in refused] == ["apps:configmap/theirs"]
    assert "'team-b'" in refused[0].error and "--k8s-instance-takeover" in refused[0].error

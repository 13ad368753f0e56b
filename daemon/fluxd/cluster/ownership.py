"""Which install owns an object: the ``fluxd.io/instance`` label.

Several installs of fluxd may share a cluster (one per team, per path, per
namespace). Each labels what it applies with its instance name, lists only
objects with its own label when it looks for drift or garbage, and refuses
to apply over an object another install owns.

Objects applied before installs were labelled carry only the gc mark. They
are found with ``LEGACY_SELECTOR``; the sync engine adopts those its own
inventory lists (the next apply adds the label) and refuses the others.

Finding foreign objects costs two metadata LISTs per kind (and namespace
with --k8s-allow-namespace), made only for kinds that have objects fluxd is
about to apply without having applied them before: a no-op pass makes none.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from fluxd.cluster.client import KubeClient
from fluxd.cluster.discovery import Discovery
from fluxd.cluster.drift import LiveMeta, list_marked
from fluxids import ObjectRef
from fluxids.marks import GC_MARK_LABEL, INSTANCE_LABEL

#: Marked by some fluxd (or Flux v1) that did not label its install.
LEGACY_SELECTOR = f"{GC_MARK_LABEL},!{INSTANCE_LABEL}"


def own_selector(instance: str) -> str:
    """Objects this install applied (``instance`` empty: any fluxd's, as before labels)."""
    return f"{GC_MARK_LABEL},{INSTANCE_LABEL}={instance}" if instance else GC_MARK_LABEL


def foreign_selector(instance: str) -> str:
    return f"{INSTANCE_LABEL},{INSTANCE_LABEL}!={instance}"


def foreign_objects(
    client: KubeClient,
    discovery: Discovery,
    refs: Iterable[ObjectRef],
    *,
    instance: str,
    namespaces: Sequence[str] = (),
) -> dict[ObjectRef, LiveMeta]:
    """Of ``refs``, those live with another install's label or an unlabelled gc mark."""
    kinds: dict[tuple[str, str], set[ObjectRef]] = {}
    for ref in refs:
        kinds.setdefault((ref.api_version, ref.kind), set()).add(ref)
    found: dict[ObjectRef, LiveMeta] = {}
    for (api_version, kind), ids in kinds.items():
        for selector in (foreign_selector(instance), LEGACY_SELECTOR):
            live = list_marked(
                client, discovery, api_version, kind, namespaces=namespaces, selector=selector
            )
            found.update((i, meta) for i, meta in live.items() if i in ids)
    return found

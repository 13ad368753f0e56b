"""From the files of a git revision to the desired set of Kubernetes objects.

Pure: no git, no cluster. The caller hands in file contents with their blob
ids and a way to ask whether a kind is namespaced; it gets back resources
with Flux v1-compatible ids (``fluxids.ObjectRef``), checksums and marks, plus every problem found.

    parsing    bytes -> checked documents; the parse cache (by blob id)
    yamlstream the documents of a YAML stream, composed within a budget
    limits     what one file may cost (size, documents, values, depth)
    resources  Resource, policies from annotations
    loading    load(): namespaces, CRD scope fallback, duplicates, unresolved kinds
    ordering   apply stages by kind rank; GC order
    marks      sync set name, GC mark label, checksum annotation
    planning   plan(): what to send given what was last applied
"""

from fluxd.manifests.loading import (
    LoadResult,
    ScopeResolver,
    Unresolved,
    load,
    resolve_unresolved,
)
from fluxd.manifests.marks import (
    Marked,
    gc_mark,
    safe_url,
    sync_set_name,
    with_marks,
)
from fluxd.manifests.ordering import apply_stages, in_apply_order, in_gc_order, rank_of
from fluxd.manifests.parsing import ParseCache, checksum_of
from fluxd.manifests.planning import Plan, plan
from fluxd.manifests.resources import Resource, policies_of
from fluxids.marks import CHECKSUM_ANNOTATION, GC_MARK_LABEL

__all__ = [
    "CHECKSUM_ANNOTATION",
    "GC_MARK_LABEL",
    "LoadResult",
    "Marked",
    "ParseCache",
    "Plan",
    "Resource",
    "ScopeResolver",
    "Unresolved",
    "apply_stages",
    "checksum_of",
    "gc_mark",
    "in_apply_order",
    "in_gc_order",
    "load",
    "plan",
    "policies_of",
    "rank_of",
    "resolve_unresolved",
    "safe_url",
    "sync_set_name",
    "with_marks",
]

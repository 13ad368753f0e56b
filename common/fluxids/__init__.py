"""Names that fluxd and fluxctl share: object ids and repository URLs.

Both console scripts import this package, so it holds to the standard
library: importing it must not pull in the daemon's dependencies (the
Kubernetes client, dulwich, FastAPI). ``.importlinter`` checks that.
"""

from fluxids.names import NAMESPACE_HELP, is_dns_label, is_object_name
from fluxids.objectref import CLUSTER_SCOPE, ObjectRef, group_of, parse_workload_id
from fluxids.repourl import RepoUrl

__all__ = [
    "CLUSTER_SCOPE",
    "NAMESPACE_HELP",
    "ObjectRef",
    "RepoUrl",
    "group_of",
    "is_dns_label",
    "is_object_name",
    "parse_workload_id",
]

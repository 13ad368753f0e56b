"""The labels and annotations fluxd puts on what it applies.

The manifests layer writes them and the cluster layer selects by them; the
two layers may not import each other, so the names live here, once.
"""

#: Flux v1's garbage-collection mark: which sync set applied the object.
GC_MARK_LABEL = "fluxcd.io/sync-gc-mark"
#: Flux v1's checksum of the object as written in git.
CHECKSUM_ANNOTATION = "fluxcd.io/sync-checksum"
#: The install of fluxd that applied the object (one cluster, several installs).
INSTANCE_LABEL = "fluxd.io/instance"

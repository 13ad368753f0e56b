"""fluxd's settings: one frozen object, built once at start and passed down.

Each group is what one part of the daemon needs, so a module takes only its
own group (``GitSettings`` for the git mirror, ``SyncSettings`` for the sync
loop, ...). The defaults here are the only ones: ``fluxd.flag_table`` names
the field each flag fills and shows its default in the help from these values.
Flags are parsed in ``fluxd.flags``; nothing here reads the environment or
the command line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class SyncState(StrEnum):
    """Where the applied revision is recorded."""

    GIT = "git"  # an annotated tag pushed to the repo
    SECRET = "secret"  # an annotation on the deploy-key Secret


class LogFormat(StrEnum):
    FMT = "fmt"
    JSON = "json"


@dataclass(frozen=True, slots=True)
class GitSettings:
    url: str = ""
    branch: str = "master"
    paths: tuple[str, ...] = ()
    sync_tag: str = "flux-sync"
    notes_ref: str = "flux"
    user: str = "Weave Flux"
    email: str = "support@weave.works"
    poll_interval: float = 300.0
    timeout: float = 20.0
    readonly: bool = False
    #: --git-set-author: the requesting user is the author of job commits.
    set_author: bool = False
    #: Appended to job commit messages as given (Flux v1: "\n\n[ci skip]" with --git-ci-skip).
    ci_skip: bool = False
    ci_skip_message: str = ""
    #: HTTPS basic-auth credentials (GIT_AUTHUSER / GIT_AUTHKEY); never shown.
    auth_user: str = ""
    auth_key: str = ""

    #: Where the local mirror lives (a fresh temp dir when None).
    mirror_dir: Path | None = None

    @property
    def commit_suffix(self) -> str:
        if self.ci_skip_message:
            return self.ci_skip_message
        return "\n\n[ci skip]" if self.ci_skip else ""


@dataclass(frozen=True, slots=True)
class SshSettings:
    #: known_hosts files to trust, besides the built-in keys of big git hosts.
    known_hosts: tuple[Path, ...] = ()
    #: Trust on first use: record an unknown host's key instead of refusing it.
    known_hosts_scan: bool = False
    keygen_type: str = "ed25519"
    keygen_bits: int | None = None
    #: Memory-backed directory where the private key file is written (0400).
    keygen_dir: Path | None = None


@dataclass(frozen=True, slots=True)
class SyncSettings:
    interval: float = 300.0
    timeout: float = 60.0
    state: SyncState = SyncState.GIT
    garbage_collection: bool = False
    garbage_collection_dry: bool = False
    #: Take ownership of fields other managers own (server-side apply force).
    force_conflicts: bool = True
    #: Concurrent apply requests within one stage.
    concurrency: int = 16
    #: Keep the drift check's metadata current with watches (fluxd.cluster.watching)
    #: instead of listing every kind on every full pass.
    drift_watch: bool = True
    # -- deletion guard and retries (fluxd.sync.guard, fluxd.sync.backoff) --
    #: Garbage collection deleting more than this share of the inventory is held...
    gc_max_share: float = 0.5
    #: ...when it would delete at least this many objects (small repos go through).
    gc_guard_min_count: int = 10
    #: Longest wait between retries of a pass that failed for a passing reason.
    retry_max_delay: float = 30.0


@dataclass(frozen=True, slots=True)
class ClusterSettings:
    #: fluxd's own namespace (the deploy key Secret and the inventory live there).
    namespace: str = "flux"
    secret_name: str = "flux-git-deploy"
    secret_data_key: str = "identity"
    secret_mount_path: Path = Path("/etc/fluxd/ssh")
    allow_namespaces: tuple[str, ...] = ()
    default_namespace: str = ""
    #: Kubeconfig file; empty means in-cluster config, then ~/.kube/config.
    kubeconfig: str = ""
    context: str = ""
    #: Client-side rate limit of API requests. Apply concurrency already bounds
    #: the load; this only smooths bursts (Flux v1's 50/100 would cap a first
    #: sync of 5,000 objects at ~100 s). 0 disables it.
    qps: float = 500.0
    burst: int = 1000
    #: ConfigMap (in ``namespace``) holding the inventory of applied objects.
    inventory_name: str = "flux-inventory"
    #: The install's name, put on every object it applies (``fluxd.io/instance``)
    #: so installs side by side never see or change each other's objects.
    #: Empty means fluxd's namespace.
    instance: str = ""
    #: Apply objects another install owns (taking them over) instead of refusing.
    instance_takeover: bool = False

    @property
    def instance_name(self) -> str:
        return self.instance or self.namespace


@dataclass(frozen=True, slots=True)
class LeaderSettings:
    """Leader election among the replicas of one install (``fluxd.sync.election``)."""

    #: Off: this process syncs alone, as one replica always did.
    elect: bool = False
    #: How long a leader's claim lasts without renewal before another may take it.
    lease_duration: float = 15.0
    #: A leader that could not renew for this long stops writing and steps down.
    renew_deadline: float = 10.0
    #: How often the leader renews and the others look at the Lease.
    retry_period: float = 2.0
    #: This replica's name in the Lease: the pod name, else the host name.
    identity: str = ""
    #: Where the other replicas reach this one's API (``host:port``); they
    #: forward writes there while it leads. Empty: the pod IP and --listen's port.
    advertise_address: str = ""
    #: The Lease's name, in fluxd's namespace.
    lease_name: str = "fluxd-leader"
    #: Labels the leader puts on its own pod (named ``identity``) while it
    #: leads: a client that finds fluxd by label and refuses two matches (Flux
    #: v1's fluxctl) then finds exactly the leader.
    pod_labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ApiSettings:
    listen: str = ":3030"
    listen_metrics: str = ""
    listen_webhook: str = ""
    #: When set, every route but probes needs this token.
    token: str = ""
    #: Shared secret of push webhooks (GitHub HMAC key, GitLab token, ...).
    webhook_secret: str = ""


@dataclass(frozen=True, slots=True)
class ManifestSettings:
    """What reading one manifest file may cost; a file over a limit fails alone.

    They keep one hostile or mistaken file (a YAML alias bomb, a data dump)
    from taking fluxd's memory and with it every other file's sync.
    """

    #: Bytes of one file, checked in git before it is read. One object cannot
    #: exceed etcd's ~1.5 MiB anyway; the rest is room for multi-document files.
    max_file_size: int = 4 * 1024 * 1024
    #: YAML documents in one file.
    max_documents: int = 1000
    #: Values (mappings, sequences, scalars) one file may hold, counting each
    #: use of a YAML alias or merge key as the values it stands for.
    max_nodes: int = 500_000
    #: Nesting of mappings and sequences in one document.
    max_depth: int = 100


@dataclass(frozen=True, slots=True)
class RegistrySettings:
    """Image scanning and automation (Flux v1's registry flags)."""

    disable_scanning: bool = False
    #: How often automated workloads are checked for newer images.
    automation_interval: float = 300.0
    #: How often the registries are asked for new tags (Flux v1 asked every minute).
    scan_interval: float = 60.0
    #: Requests per second to one registry host, and how many may go at once.
    rps: float = 50.0
    burst: int = 10
    #: Images (globs over the name) never scanned; Flux v1's default.
    exclude_images: tuple[str, ...] = ("k8s.gcr.io/*",)
    #: When set, only images matching one of these globs are scanned.
    include_images: tuple[str, ...] = ()
    #: Hosts reached without TLS verification (and over plain HTTP if TLS fails).
    insecure_hosts: tuple[str, ...] = ()
    #: A Docker config.json with credentials for every workload.
    docker_config: Path | None = None
    #: Limit of one request to a registry.
    timeout: float = 10.0
    #: Longest wait before asking a registry again that answered 429, 5xx or nothing.
    max_backoff: float = 600.0


@dataclass(frozen=True, slots=True)
class Settings:
    git: GitSettings = field(default_factory=GitSettings)
    ssh: SshSettings = field(default_factory=SshSettings)
    sync: SyncSettings = field(default_factory=SyncSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    manifests: ManifestSettings = field(default_factory=ManifestSettings)
    registry: RegistrySettings = field(default_factory=RegistrySettings)
    leader: LeaderSettings = field(default_factory=LeaderSettings)
    log_format: LogFormat = LogFormat.FMT
    regenerate_key: bool = False

"""Every fluxd flag, declared once: name, value form, help and the setting it fills.

The environment form (``FLUXD_<NAME>``) follows from the name, and a flag's
default is the default of the ``Settings`` field it fills, so the help text
shows the value the daemon really uses (``tests/unit/test_flags.py`` checks it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from fluxd import flag_values as v
from fluxd.errors import SettingsError
from fluxd.flag_values import Flag
from fluxd.image_flags import REGISTRY_FLAGS
from fluxd.leader_flags import LEADER_FLAGS
from fluxd.settings import LogFormat, SyncState

#: Where Kubernetes mounts the pod's namespace; fluxd's namespace when not given.
POD_NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")

MANIFESTS = "manifests: what one file may cost; a file over a limit fails alone"


def _pod_namespace(env: Mapping[str, str]) -> str | None:
    if env.get("POD_NAMESPACE"):
        return env["POD_NAMESPACE"]
    try:
        return POD_NAMESPACE_FILE.read_text().strip() or None
    except OSError:
        return None


#: A label value (the instance name is one on every object fluxd applies).
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$")


def _instance(text: str) -> str:
    if not _LABEL_VALUE.match(text):
        raise ValueError(
            f"{text!r} is not a label value: up to 63 letters, digits, '-', '_' or '.', "
            "beginning and ending with a letter or digit, e.g. --k8s-instance=team-a"
        )
    return text


def _git_paths(values: list[str]) -> tuple[str, ...]:
    found = v.split(values)
    for path in found:
        if path.startswith("/"):
            raise SettingsError(
                f"fluxd: --git-path {path!r} must be relative to the repository root",
                help="Remove the leading '/', e.g. --git-path=workloads.",
            )
    return found


_GENERAL = (
    Flag("--version", "print the version and exit", kind="switch"),
    Flag("--listen", "API address", ("api.listen",), aliases=("-l",)),
    Flag("--listen-metrics", "separate address for /metrics", ("api.listen_metrics",)),
    Flag("--listen-webhook", "separate address for push webhooks", ("api.listen_webhook",)),
    Flag(
        "--log-format",
        "log lines as logfmt (fmt) or json",
        ("log_format",),
        choices=tuple(f.value for f in LogFormat),
        convert=LogFormat,
    ),
)

_GIT = (
    Flag("--git-url", "URL of the git repo (ssh, https or file)", ("git.url",)),
    Flag("--git-branch", "branch to sync", ("git.branch",)),
    Flag(
        "--git-path",
        "paths in the repo (comma list or repeated)",
        ("git.paths",),
        kind="list",
        convert=_git_paths,
    ),
    Flag(
        "--git-readonly",
        "never push; keep the sync state in the Secret",
        ("git.readonly",),
        kind="bool",
    ),
    Flag("--git-user", "committer name of the sync tag and of job commits", ("git.user",)),
    Flag("--git-email", "committer email of the sync tag and of job commits", ("git.email",)),
    Flag(
        "--git-set-author",
        "make the user who asked for a release or policy change the commit's author",
        ("git.set_author",),
        kind="bool",
    ),
    Flag(
        "--git-ci-skip",
        "append \\n\\n[ci skip] to job commit messages",
        ("git.ci_skip",),
        kind="bool",
    ),
    Flag(
        "--git-ci-skip-message",
        "text appended to job commit messages (instead of --git-ci-skip's)",
        ("git.ci_skip_message",),
    ),
    Flag(
        "--git-label",
        "sets both --git-sync-tag and --git-notes-ref",
        ("git.sync_tag", "git.notes_ref"),
        rank=1,  # over the two it sets
    ),
    Flag("--git-sync-tag", "tag marking the applied revision", ("git.sync_tag",)),
    Flag("--git-notes-ref", "git notes ref", ("git.notes_ref",)),
    Flag(
        "--git-poll-interval",
        "fetch period",
        ("git.poll_interval",),
        read=v.duration,
        show=v.show_duration,
    ),
    Flag(
        "--git-timeout",
        "limit per git operation",
        ("git.timeout",),
        read=v.duration,
        show=v.show_duration,
    ),
)

_SYNC = (
    Flag(
        "--sync-interval",
        "apply at least this often",
        ("sync.interval",),
        read=v.duration,
        show=v.show_duration,
    ),
    Flag(
        "--sync-timeout",
        "limit of one sync",
        ("sync.timeout",),
        read=v.duration,
        show=v.show_duration,
    ),
    Flag(
        "--sync-state",
        "where the applied revision is recorded: a git tag (git) or the Secret (secret)",
        ("sync.state",),
        choices=tuple(x.value for x in SyncState),
        convert=SyncState,
    ),
    Flag(
        "--sync-garbage-collection",
        "delete objects that left the repo",
        ("sync.garbage_collection",),
        kind="bool",
    ),
    Flag(
        "--sync-garbage-collection-dry",
        "log what garbage collection would delete",
        ("sync.garbage_collection_dry",),
        kind="bool",
    ),
    Flag(
        "--sync-drift-watch",
        "keep drift metadata current with watches instead of LISTs on every pass",
        ("sync.drift_watch",),
        kind="bool",
    ),
    Flag(
        "--sync-force-conflicts",
        "take over fields other managers own",
        ("sync.force_conflicts",),
        kind="bool",
    ),
    Flag(
        "--sync-concurrency",
        "parallel apply requests",
        ("sync.concurrency",),
        read=v.positive_int,
    ),
    Flag(
        "--sync-garbage-collection-max-share",
        "hold garbage collection that would delete more than this share of what fluxd "
        "applied; 100% turns the share rule off",
        ("sync.gc_max_share",),
        read=v.percentage,
        show=v.show_percentage,
    ),
    Flag(
        "--sync-garbage-collection-guard-min",
        "the share rule applies only from this many deletions on",
        ("sync.gc_guard_min_count",),
        read=v.non_negative_int,
    ),
    Flag(
        "--sync-retry-max-delay",
        "longest wait between retries of a pass that failed for a passing reason",
        ("sync.retry_max_delay",),
        read=v.retry_delay,
        show=v.show_duration,
    ),
)

_KUBERNETES = (
    Flag(
        "--k8s-namespace",
        "fluxd's own namespace",
        ("cluster.namespace",),
        fallback=_pod_namespace,
        default_text="the pod's, else {}",
    ),
    Flag("--k8s-secret-name", "Secret with the SSH key", ("cluster.secret_name",)),
    Flag("--k8s-secret-data-key", "key in that Secret", ("cluster.secret_data_key",)),
    Flag(
        "--k8s-secret-volume-mount-path",
        "where the Secret is mounted",
        ("cluster.secret_mount_path",),
        convert=Path,
    ),
    Flag(
        "--k8s-allow-namespace",
        "restrict to these namespaces (comma list or repeated)",
        ("cluster.allow_namespaces",),
        kind="list",
        convert=v.split,
        aliases=("--k8s-namespace-whitelist",),
    ),
    Flag(
        "--k8s-default-namespace",
        "namespace for manifests that have none",
        ("cluster.default_namespace",),
    ),
    Flag(
        "--kubeconfig",
        "kubeconfig file (default: $KUBECONFIG, then in-cluster)",
        ("cluster.kubeconfig",),
        hidden_alias="--kube-config",
        fallback=lambda env: env.get("KUBECONFIG"),
    ),
    Flag(
        "--k8s-instance",
        "this install's name, labelled fluxd.io/instance on every object it applies; "
        "drift checks and garbage collection see only objects with it "
        "(default: fluxd's namespace)",
        ("cluster.instance",),
        convert=_instance,
    ),
    Flag(
        "--k8s-instance-takeover",
        "apply objects another install owns, taking them over, instead of refusing them",
        ("cluster.instance_takeover",),
        kind="bool",
    ),
    Flag(
        "--k8s-qps",
        "API requests per second, client side; 0 = no limit",
        ("cluster.qps",),
        read=v.non_negative_float,
    ),
    Flag(
        "--k8s-burst",
        "API requests allowed at once above --k8s-qps",
        ("cluster.burst",),
        read=v.positive_int,
    ),
)

_MANIFESTS = (
    Flag(
        "--manifest-max-file-size",
        "bytes of one manifest file, checked in git before it is read; e.g. 4Mi, 512Ki, 1000000",
        ("manifests.max_file_size",),
        read=v.byte_size,
        show=v.show_byte_size,
    ),
    Flag(
        "--manifest-max-documents",
        "YAML documents in one file",
        ("manifests.max_documents",),
        read=v.positive_int,
    ),
    Flag(
        "--manifest-max-nodes",
        "values in one file, each use of a YAML alias or merge key counted as all it stands for",
        ("manifests.max_nodes",),
        read=v.positive_int,
    ),
    Flag(
        "--manifest-max-depth",
        f"nesting of one document, at most {v.MAX_MANIFEST_DEPTH}",
        ("manifests.max_depth",),
        read=v.manifest_depth,
    ),
)

_SSH = (
    Flag(
        "--ssh-keygen-dir",
        "memory-backed dir for the private key file",
        ("ssh.keygen_dir",),
        convert=v.optional_path,
    ),
    Flag(
        "--ssh-keygen-type",
        "type of a generated key",
        ("ssh.keygen_type",),
        choices=("ed25519", "rsa", "ecdsa"),
    ),
    Flag(
        "--ssh-keygen-bits",
        "size of a generated rsa or ecdsa key (default: ssh-keygen's for the type)",
        ("ssh.keygen_bits",),
        read=v.positive_int,
    ),
    Flag("--ssh-keygen-format", "accepted for compatibility; keys are OpenSSH format"),
    Flag(
        "--ssh-known-hosts",
        "known_hosts file(s) to trust",
        ("ssh.known_hosts",),
        kind="list",
        convert=v.paths,
    ),
    Flag(
        "--ssh-known-hosts-scan",
        "trust an unknown host key on first use",
        ("ssh.known_hosts_scan",),
        kind="bool",
    ),
)

# A secret given on the command line wins over its file.
_API = (
    Flag("--api-token", "require this token on the API", ("api.token",), rank=1),
    Flag("--api-token-file", "file holding the API token", ("api.token",), convert=v.file_text),
    Flag("--webhook-secret", "shared secret of push webhooks", ("api.webhook_secret",), rank=1),
    Flag(
        "--webhook-secret-file",
        "file holding the webhook secret",
        ("api.webhook_secret",),
        convert=v.file_text,
    ),
)

#: Every flag fluxd reads, by group (``None``: the general ones), in help order.
GROUPS: tuple[tuple[str | None, tuple[Flag, ...]], ...] = (
    (None, _GENERAL),
    ("git", _GIT),
    ("sync", _SYNC),
    ("kubernetes", _KUBERNETES),
    ("leader election", LEADER_FLAGS),
    (MANIFESTS, _MANIFESTS),
    ("ssh", _SSH),
    ("api", _API),
    ("registry", REGISTRY_FLAGS),
)

FLAGS: tuple[Flag, ...] = tuple(flag for _, flags in GROUPS for flag in flags)

#: Flux v1 flags we accept so old manifests keep working, but that do nothing
#: here (the image cache is in memory, so memcached has no part; cloud
#: registries' own logins are not read).
IGNORED_FLAGS = (
    "memcached-hostname",
    "memcached-port",
    "memcached-service",
    "memcached-timeout",
    "k8s-in-cluster",
    "kubernetes-kubectl",
    "k8s-verbosity",
    "k8s-unsafe-exclude-resource",
    "registry-trace",
    "registry-use-labels",
    "registry-ecr-region",
    "registry-ecr-include-id",
    "registry-ecr-exclude-id",
    "registry-require",
    "registry-cache-expiry",
    "rpc-timeout",
)

#: Flux v1 features this daemon does not have. Ignoring them would change
#: what gets applied without saying so, so fluxd refuses to start instead.
UNSUPPORTED_FLAGS = {
    "manifest-generation": ".flux.yaml manifest generation is not supported; "
    "render manifests (e.g. kustomize build) in CI and commit the output",
    "sops": "SOPS decryption is not supported",
    "git-secret": "git-secret decryption is not supported",
    "git-gpg-key-import": "GPG signature verification is not supported",
    "git-signing-key": "signing commits and the sync tag is not supported",
    "git-verify-signatures": "GPG signature verification is not supported",
    "git-verify-signatures-mode": "GPG signature verification is not supported",
    "connect": "the upstream (Weave Cloud) connection is not supported",
    "token": "the upstream (Weave Cloud) connection is not supported; "
    "for API authentication use --api-token",
}

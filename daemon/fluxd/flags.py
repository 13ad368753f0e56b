"""fluxd's command line: Flux v1's flag names, parsed into one ``Settings``.

Every flag can also come from the environment as ``FLUXD_<NAME>`` (dashes to
underscores, upper case), e.g. ``FLUXD_GIT_URL``; a flag on the command line
wins. Booleans take Go's forms: ``--git-readonly``, ``--git-readonly=true``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from fluxd import __version__
from fluxd.durations import parse_duration
from fluxd.errors import SettingsError
from fluxd.manifest_flags import add_manifest_flags, manifest_settings
from fluxd.safetyflags import add_safety_flags, sync_fields
from fluxd.settings import (
    ApiSettings,
    ClusterSettings,
    GitSettings,
    LogFormat,
    Settings,
    SshSettings,
    SyncSettings,
    SyncState,
)

#: Flux v1 flags we accept so old manifests keep working, but that do nothing
#: here (image scanning and memcached are not part of this daemon).
IGNORED_FLAGS = (
    "memcached-hostname",
    "memcached-port",
    "memcached-service",
    "memcached-timeout",
    "registry-disable-scanning",
    "registry-poll-interval",
    "automation-interval",
    "k8s-in-cluster",
    "kubernetes-kubectl",
    "k8s-verbosity",
    "k8s-unsafe-exclude-resource",
    "registry-rps",
    "registry-burst",
    "registry-trace",
    "registry-insecure-host",
    "registry-exclude-image",
    "registry-include-image",
    "registry-use-labels",
    "registry-ecr-region",
    "registry-ecr-include-id",
    "registry-ecr-exclude-id",
    "registry-require",
    "registry-cache-expiry",
    "docker-config",
    "rpc-timeout",
    # fluxd pushes only the sync tag, never commits, so these have nothing to act on.
    "git-ci-skip",
    "git-ci-skip-message",
    "git-set-author",
)

#: Flux v1 features this daemon does not have. Ignoring them would change
#: what gets applied without saying so, so fluxd refuses to start instead.
UNSUPPORTED_FLAGS = {
    "manifest-generation": ".flux.yaml manifest generation is not supported; "
    "render manifests (e.g. kustomize build) in CI and commit the output",
    "sops": "SOPS decryption is not supported",
    "git-secret": "git-secret decryption is not supported",
    "git-gpg-key-import": "GPG signature verification is not supported",
    "git-signing-key": "signing the sync tag is not supported",
    "git-verify-signatures": "GPG signature verification is not supported",
    "git-verify-signatures-mode": "GPG signature verification is not supported",
    "connect": "the upstream (Weave Cloud) connection is not supported",
    "token": "the upstream (Weave Cloud) connection is not supported; "
    "for API authentication use --api-token",
}

_TRUE = {"true", "1", "t", "yes", "y", "on"}
_FALSE = {"false", "0", "f", "no", "n", "off"}


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from exc
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of at least 0, got {text}")
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise SettingsError(f"fluxd: {message}")


def _add_bool(parser: argparse._ActionsContainer, name: str, help: str) -> None:
    parser.add_argument(name, type=_bool, nargs="?", const=True, default=None, help=help)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="fluxd",
        description="Keep a Kubernetes cluster equal to a git branch.",
        epilog="Every flag may also be set as FLUXD_<FLAG> in the environment, "
        "e.g. FLUXD_GIT_URL. HTTPS git credentials come from GIT_AUTHUSER and GIT_AUTHKEY.",
        allow_abbrev=False,
    )
    p.add_argument("--version", action="store_true", help="print the version and exit")
    p.add_argument("-l", "--listen", default=None, help="API address (default :3030)")
    p.add_argument("--listen-metrics", default=None, help="separate address for /metrics")
    p.add_argument("--listen-webhook", default=None, help="separate address for push webhooks")
    p.add_argument(
        "--log-format",
        choices=[f.value for f in LogFormat],
        default=None,
        help="log lines as logfmt (fmt, default) or json",
    )

    g = p.add_argument_group("git")
    g.add_argument("--git-url", default=None, help="URL of the git repo (ssh, https or file)")
    g.add_argument("--git-branch", default=None, help="branch to sync (default master)")
    g.add_argument(
        "--git-path",
        action="append",
        default=None,
        help="paths in the repo (comma list or repeated)",
    )
    _add_bool(g, "--git-readonly", "never push; keep the sync state in the Secret")
    g.add_argument("--git-user", default=None, help="committer name of the sync tag")
    g.add_argument("--git-email", default=None, help="committer email of the sync tag")
    g.add_argument("--git-label", default=None, help="sets both --git-sync-tag and --git-notes-ref")
    g.add_argument(
        "--git-sync-tag", default=None, help="tag marking the applied revision (default flux-sync)"
    )
    g.add_argument("--git-notes-ref", default=None, help="git notes ref (default flux)")
    g.add_argument(
        "--git-poll-interval", type=_duration, default=None, help="fetch period (default 5m)"
    )
    g.add_argument(
        "--git-timeout", type=_duration, default=None, help="limit per git operation (default 20s)"
    )

    s = p.add_argument_group("sync")
    s.add_argument(
        "--sync-interval",
        type=_duration,
        default=None,
        help="apply at least this often (default 5m)",
    )
    s.add_argument(
        "--sync-timeout", type=_duration, default=None, help="limit of one sync (default 1m)"
    )
    s.add_argument(
        "--sync-state",
        choices=[x.value for x in SyncState],
        default=None,
        help="where the applied revision is recorded: a git tag (git, default) or the Secret",
    )
    _add_bool(s, "--sync-garbage-collection", "delete objects that left the repo")
    _add_bool(s, "--sync-garbage-collection-dry", "log what garbage collection would delete")
    _add_bool(s, "--sync-force-conflicts", "take over fields other managers own (default true)")
    s.add_argument(
        "--sync-concurrency",
        type=_positive_int,
        default=None,
        help="parallel apply requests (default 16)",
    )
    add_safety_flags(s)

    k = p.add_argument_group("kubernetes")
    k.add_argument(
        "--k8s-namespace",
        default=None,
        help="fluxd's own namespace (default: the pod's, else flux)",
    )
    k.add_argument(
        "--k8s-secret-name", default=None, help="Secret with the SSH key (default flux-git-deploy)"
    )
    k.add_argument(
        "--k8s-secret-data-key", default=None, help="key in that Secret (default identity)"
    )
    k.add_argument(
        "--k8s-secret-volume-mount-path",
        default=None,
        help="where the Secret is mounted (default /etc/fluxd/ssh)",
    )
    k.add_argument(
        "--k8s-allow-namespace",
        "--k8s-namespace-whitelist",
        action="append",
        default=None,
        dest="k8s_allow_namespace",
        help="restrict to these namespaces (comma list or repeated)",
    )
    k.add_argument(
        "--k8s-default-namespace", default=None, help="namespace for manifests that have none"
    )
    k.add_argument(
        "--kubeconfig", default=None, help="kubeconfig file (default: in-cluster, then $KUBECONFIG)"
    )
    k.add_argument(
        "--k8s-qps",
        type=_non_negative_float,
        default=None,
        help="API requests per second, client side (default 500; 0 = no limit)",
    )
    k.add_argument(
        "--k8s-burst",
        type=_positive_int,
        default=None,
        help="API requests allowed at once above --k8s-qps (default 1000)",
    )

    add_manifest_flags(p)

    h = p.add_argument_group("ssh")
    h.add_argument(
        "--ssh-keygen-dir", default=None, help="memory-backed dir for the private key file"
    )
    h.add_argument(
        "--ssh-keygen-type",
        choices=["ed25519", "rsa", "ecdsa"],
        default=None,
        help="type of a generated key (default ed25519)",
    )
    h.add_argument(
        "--ssh-keygen-bits",
        type=_positive_int,
        default=None,
        help="size of a generated rsa (default 3072) or ecdsa (default 256) key",
    )
    h.add_argument(
        "--ssh-keygen-format",
        default=None,
        help="accepted for compatibility; keys are OpenSSH format",
    )
    h.add_argument(
        "--ssh-known-hosts", action="append", default=None, help="known_hosts file(s) to trust"
    )
    _add_bool(h, "--ssh-known-hosts-scan", "trust an unknown host key on first use")

    a = p.add_argument_group("api")
    a.add_argument("--api-token", default=None, help="require this token on the API")
    a.add_argument("--api-token-file", default=None, help="file holding the API token")
    a.add_argument("--webhook-secret", default=None, help="shared secret of push webhooks")
    a.add_argument("--webhook-secret-file", default=None, help="file holding the webhook secret")

    for name in IGNORED_FLAGS:
        p.add_argument(
            f"--{name}", nargs="?", const="", default=None, action="append", help=argparse.SUPPRESS
        )
    for name in UNSUPPORTED_FLAGS:
        p.add_argument(f"--{name}", nargs="?", const="true", default=None, help=argparse.SUPPRESS)
    p.add_argument("--kube-config", dest="kubeconfig", default=None, help=argparse.SUPPRESS)
    return p


def _from_env(
    parser: argparse.ArgumentParser, env: Mapping[str, str], argv: Sequence[str]
) -> list[str]:
    """Turn FLUXD_* variables into command-line words for flags not given in argv."""
    given = {word.split("=", 1)[0] for word in argv if word.startswith("--")}
    words: list[str] = []
    for action in parser._actions:
        for opt in action.option_strings:
            if not opt.startswith("--") or given & set(action.option_strings):
                continue
            key = "FLUXD_" + opt[2:].replace("-", "_").upper()
            if key in env:
                words.append(f"{opt}={env[key]}")
    return words


def _split(values: Sequence[str] | None) -> tuple[str, ...]:
    out: list[str] = []
    for value in values or ():
        out.extend(part.strip() for part in value.split(",") if part.strip())
    return tuple(out)


def _read_secret_file(path: str | None, flag: str) -> str | None:
    if not path:
        return None
    try:
        return Path(path).read_text().strip()
    except OSError as exc:
        raise SettingsError(f"fluxd: {flag}: cannot read {path}: {exc.strerror}") from exc


def _pick(value: Any, default: Any) -> Any:
    return default if value is None else value


def parse(argv: Sequence[str], env: Mapping[str, str] | None = None) -> tuple[Settings, list[str]]:
    """Settings from flags and environment, plus warnings to log at start."""
    env = os.environ if env is None else env
    parser = build_parser()
    ns = parser.parse_args([*_from_env(parser, env, argv), *argv])
    if ns.version:
        print(__version__)
        raise SystemExit(0)
    for name, why in UNSUPPORTED_FLAGS.items():
        value = getattr(ns, name.replace("-", "_"))
        if value is not None and value.lower() not in ("false", "0", "", "none"):
            raise SettingsError(
                f"fluxd: --{name}: {why}", help="Remove the flag from fluxd's args."
            )
    warnings = [
        f"flag --{n} is accepted for compatibility and ignored"
        for n in IGNORED_FLAGS
        if getattr(ns, n.replace("-", "_")) is not None
    ]
    return _settings(ns, env, warnings), warnings


def _git(ns: argparse.Namespace, env: Mapping[str, str]) -> GitSettings:
    d = GitSettings()
    paths = _split(ns.git_path)
    for path in paths:
        if path.startswith("/"):
            raise SettingsError(
                f"fluxd: --git-path {path!r} must be relative to the repository root",
                help="Remove the leading '/', e.g. --git-path=workloads.",
            )
    return GitSettings(
        url=_pick(ns.git_url, d.url),
        branch=_pick(ns.git_branch, d.branch),
        paths=paths,
        sync_tag=_pick(ns.git_label, _pick(ns.git_sync_tag, d.sync_tag)),
        notes_ref=_pick(ns.git_label, _pick(ns.git_notes_ref, d.notes_ref)),
        user=_pick(ns.git_user, d.user),
        email=_pick(ns.git_email, d.email),
        poll_interval=_pick(ns.git_poll_interval, d.poll_interval),
        timeout=_pick(ns.git_timeout, d.timeout),
        readonly=bool(_pick(ns.git_readonly, d.readonly)),
        auth_user=env.get("GIT_AUTHUSER", ""),
        auth_key=env.get("GIT_AUTHKEY", ""),
    )


def _settings(ns: argparse.Namespace, env: Mapping[str, str], warnings: list[str]) -> Settings:
    git = _git(ns, env)
    gc_dry = bool(_pick(ns.sync_garbage_collection_dry, False))
    state = SyncState(_pick(ns.sync_state, SyncState.GIT))
    if git.readonly and state is SyncState.GIT:
        if ns.sync_state is not None:
            warnings.append("--git-readonly forces --sync-state=secret")
        state = SyncState.SECRET
    d = SyncSettings()
    sync = SyncSettings(
        interval=_pick(ns.sync_interval, d.interval),
        timeout=_pick(ns.sync_timeout, d.timeout),
        state=state,
        garbage_collection=bool(_pick(ns.sync_garbage_collection, False)) or gc_dry,
        garbage_collection_dry=gc_dry,
        force_conflicts=bool(_pick(ns.sync_force_conflicts, d.force_conflicts)),
        concurrency=_pick(ns.sync_concurrency, d.concurrency),
        **sync_fields(ns),
    )
    c = ClusterSettings()
    cluster = ClusterSettings(
        namespace=_pick(
            ns.k8s_namespace, env.get("POD_NAMESPACE") or _pod_namespace() or c.namespace
        ),
        secret_name=_pick(ns.k8s_secret_name, c.secret_name),
        secret_data_key=_pick(ns.k8s_secret_data_key, c.secret_data_key),
        secret_mount_path=Path(_pick(ns.k8s_secret_volume_mount_path, str(c.secret_mount_path))),
        allow_namespaces=_split(ns.k8s_allow_namespace),
        default_namespace=_pick(ns.k8s_default_namespace, c.default_namespace),
        kubeconfig=_pick(ns.kubeconfig, env.get("KUBECONFIG", "")),
        qps=_pick(ns.k8s_qps, c.qps),
        burst=_pick(ns.k8s_burst, c.burst),
    )
    ssh = SshSettings(
        known_hosts=tuple(Path(p) for p in _split(ns.ssh_known_hosts)),
        known_hosts_scan=bool(_pick(ns.ssh_known_hosts_scan, False)),
        keygen_type=_pick(ns.ssh_keygen_type, SshSettings().keygen_type),
        keygen_bits=ns.ssh_keygen_bits,
        keygen_dir=Path(ns.ssh_keygen_dir) if ns.ssh_keygen_dir else None,
    )
    api = ApiSettings(
        listen=_pick(ns.listen, ApiSettings().listen),
        listen_metrics=_pick(ns.listen_metrics, ""),
        listen_webhook=_pick(ns.listen_webhook, ""),
        token=_pick(ns.api_token, _read_secret_file(ns.api_token_file, "--api-token-file") or ""),
        webhook_secret=_pick(
            ns.webhook_secret,
            _read_secret_file(ns.webhook_secret_file, "--webhook-secret-file") or "",
        ),
    )
    for address, flag in (
        (api.listen, "--listen"),
        (api.listen_metrics, "--listen-metrics"),
        (api.listen_webhook, "--listen-webhook"),
    ):
        if address:
            split_address(address, flag)
    return Settings(
        git=git,
        ssh=ssh,
        sync=sync,
        cluster=cluster,
        api=api,
        manifests=manifest_settings(ns),
        log_format=LogFormat(_pick(ns.log_format, LogFormat.FMT)),
    )


def split_address(address: str, flag: str = "--listen") -> tuple[str, int]:
    """``host:port`` or ``:port`` -> (host, port); an empty host means all interfaces."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingsError(
            f"fluxd: {flag} {address!r} is not an address",
            help=f"Use host:port or :port, e.g. {flag}=:3030 or {flag}=127.0.0.1:3030.",
        )
    return (host.strip("[]") or "0.0.0.0"), int(port)


def _pod_namespace() -> str:
    path = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
    try:
        return path.read_text().strip()
    except OSError:
        return ""

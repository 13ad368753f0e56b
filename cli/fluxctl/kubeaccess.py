"""How to reach the Kubernetes API: server, TLS and credentials, as kubectl finds them.

fluxctl needs two requests of the API server (list pods, open one
port-forward), so it reads the kubeconfig itself instead of importing the
Kubernetes client, which costs more to import than the whole command takes
otherwise. What kubectl honours is honoured here: ``KUBECONFIG`` lists,
contexts, CA / client certificate / key as files or inline data,
``insecure-skip-tls-verify``, ``tls-server-name``, ``proxy-url``, tokens and
token files, basic auth, impersonation, exec credential plugins
(``client.authentication.k8s.io``), a legacy ``auth-provider``'s cached
token, and the in-cluster ServiceAccount when there is no kubeconfig.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import ssl
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from fluxctl.errors import ClusterAccessError
from fluxctl.kubeconfig import check_usable, kubeconfig_paths, load_kubeconfig

_SA_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
_EXEC_HELP = (
    "Run the plugin by hand to see why it fails, or pick another --context "
    "(kubectl config get-contexts)."
)


@dataclass(frozen=True)
class KubeAccess:
    """One API server and the credentials fluxctl presents to it."""

    server: str  # scheme://host[:port], no trailing slash
    tls: ssl.SSLContext | None  # None for plain http://
    headers: Mapping[str, str] = field(default_factory=dict)
    #: The name the server's certificate is checked against (kubeconfig ``tls-server-name``).
    server_name: str = ""
    proxy: str = ""  # an http:// proxy URL ("" = direct)

    @property
    def host(self) -> str:
        return urlsplit(self.server).hostname or ""

    @property
    def port(self) -> int:
        parts = urlsplit(self.server)
        return parts.port or (443 if parts.scheme == "https" else 80)

    def get(self, path: str, query: list[tuple[str, str]], timeout: float) -> tuple[int, bytes]:
        """One GET, answered as (status, body); transport failures raise ClusterAccessError."""
        base = urlsplit(self.server).path.rstrip("/")
        target = base + path + ("?" + urlencode(query) if query else "")
        conn = self._connection(timeout)
        try:
            conn.request("GET", target, headers={**self.headers, "Accept": "application/json"})
            response = conn.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise ClusterAccessError(
                f"cannot reach the Kubernetes API at {self.server}: {exc}"
            ) from exc
        finally:
            conn.close()

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        proxy = urlsplit(self.proxy) if self.proxy else None
        host, port = (proxy.hostname or "", proxy.port or 80) if proxy else (self.host, self.port)
        if self.tls is None:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        else:
            conn = _HTTPSConnection(
                host, port, timeout=timeout, context=self.tls, server_name=self.server_name
            )
        if proxy is not None:
            conn.set_tunnel(self.host, self.port)
        return conn


class _HTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection that may check the certificate against another name."""

    def __init__(self, *args: Any, server_name: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._server_name = server_name

    def connect(self) -> None:
        if not self._server_name:
            super().connect()
            return
        http.client.HTTPConnection.connect(self)
        context: ssl.SSLContext = self._context  # type: ignore[attr-defined]
        self.sock = context.wrap_socket(self.sock, server_hostname=self._server_name)


def load_access(context: str) -> KubeAccess:
    """From the kubeconfig files (``--context``), else the in-cluster ServiceAccount."""
    paths = kubeconfig_paths()
    if paths:
        config = load_kubeconfig(paths)
        cluster, user = check_usable(config, context)
        return _from_entries(cluster, user)
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return in_cluster()
    raise ClusterAccessError(
        "no kubeconfig found ($KUBECONFIG or ~/.kube/config) and not running in a cluster",
        hint="Point KUBECONFIG at your cluster's config, or give the daemon's --url.",
    )


def in_cluster() -> KubeAccess:
    host = os.environ.get("KUBERNETES_SERVICE_HOST", "")
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    try:
        token = (_SA_DIR / "token").read_text(encoding="utf-8").strip()
        tls = ssl.create_default_context(cafile=str(_SA_DIR / "ca.crt"))
    except (OSError, ssl.SSLError) as exc:
        raise ClusterAccessError(
            f"cannot use the in-cluster ServiceAccount ({_SA_DIR}): {exc}",
            hint="Mount a ServiceAccount token in the pod, or set KUBECONFIG.",
        ) from exc
    server = f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"
    return KubeAccess(server, tls, {"Authorization": f"Bearer {token}"})


Entry = tuple[Path, Mapping[str, Any]]


def _from_entries(cluster: Entry, user: Entry | None) -> KubeAccess:
    cluster_path, cluster_body = cluster
    server = str(cluster_body["server"]).rstrip("/")
    headers: dict[str, str] = {}
    cert: tuple[bytes, bytes] | None = None
    if user is not None:
        headers, cert = _credentials(*user, cluster_body)
    tls = None
    if server.startswith("https:"):
        try:
            tls = _tls(cluster_path, cluster_body, user, cert)
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise ClusterAccessError(
                f"cannot use the kubeconfig's certificates for {server}: {exc}",
                hint="Check the certificate-authority and client certificate/key it names.",
            ) from exc
    proxy = cluster_body.get("proxy-url")
    return KubeAccess(
        server,
        tls,
        headers,
        server_name=str(cluster_body.get("tls-server-name") or ""),
        proxy=str(proxy) if isinstance(proxy, str) else "",
    )


def _tls(
    cluster_path: Path,
    cluster: Mapping[str, Any],
    user: Entry | None,
    plugin_cert: tuple[bytes, bytes] | None,
) -> ssl.SSLContext:
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if cluster.get("insecure-skip-tls-verify") is True:
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE
    elif "certificate-authority-data" in cluster:
        tls.load_verify_locations(cadata=_pem(cluster["certificate-authority-data"]))
    elif "certificate-authority" in cluster:
        tls.load_verify_locations(cafile=_file(cluster_path, cluster["certificate-authority"]))
    else:
        tls.load_default_certs()
    if plugin_cert is not None:
        _load_chain(tls, *plugin_cert)
    elif user is not None:
        path, body = user
        cert = _data_or_file(path, body, "client-certificate")
        key = _data_or_file(path, body, "client-key")
        if cert and key:
            _load_chain(tls, cert, key)
    return tls


def _load_chain(tls: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    # The ssl module loads a client certificate only from files: a private
    # directory for the moment of loading, removed right after.
    with tempfile.TemporaryDirectory(prefix="fluxctl-") as scratch:
        cert_file, key_file = Path(scratch, "client.crt"), Path(scratch, "client.key")
        for file, data in ((cert_file, cert), (key_file, key)):
            file.touch(mode=0o600)
            file.write_bytes(data)
        tls.load_cert_chain(str(cert_file), str(key_file))


def _data_or_file(path: Path, body: Mapping[str, Any], key: str) -> bytes:
    if f"{key}-data" in body:
        return base64.b64decode("".join(str(body[f"{key}-data"]).split()))
    if key in body:
        return Path(_file(path, body[key])).read_bytes()
    return b""


def _pem(data: object) -> str:
    return base64.b64decode("".join(str(data).split())).decode("ascii")


def _file(kubeconfig: Path, name: object) -> str:
    """A file named in a kubeconfig: relative names are relative to that file."""
    return str((kubeconfig.parent / Path(str(name)).expanduser()).resolve())


def _credentials(
    path: Path, user: Mapping[str, Any], cluster: Mapping[str, Any]
) -> tuple[dict[str, str], tuple[bytes, bytes] | None]:
    """Authorization and impersonation headers, and a client certificate from a plugin."""
    headers: dict[str, str] = {}
    cert = None
    if isinstance(user.get("exec"), dict):
        token, cert = run_exec_plugin(path, user["exec"], cluster)
        if token:
            headers["Authorization"] = f"Bearer {token}"
    elif token := _token(path, user):
        headers["Authorization"] = f"Bearer {token}"
    elif "username" in user:
        pair = f"{user.get('username', '')}:{user.get('password', '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    if isinstance(user.get("as"), str) and user["as"]:
        headers["Impersonate-User"] = user["as"]
    groups = user.get("as-groups")
    if isinstance(groups, list) and groups:
        headers["Impersonate-Group"] = ",".join(str(g) for g in groups)
    return headers, cert


def _token(path: Path, user: Mapping[str, Any]) -> str:
    if isinstance(user.get("token"), str) and user["token"]:
        return str(user["token"])
    if "tokenFile" in user:
        try:
            return Path(_file(path, user["tokenFile"])).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ClusterAccessError(f"cannot read the kubeconfig's tokenFile: {exc}") from exc
    provider = user.get("auth-provider")
    if isinstance(provider, dict):
        config = provider.get("config") or {}
        # The token the provider's last login cached; fluxctl does not refresh it.
        token = config.get("id-token") or config.get("access-token")
        if not token:
            raise ClusterAccessError(
                f"the kubeconfig's auth-provider {provider.get('name')!r} holds no token",
                hint="Log in with kubectl once (it refreshes the token), or use an exec plugin.",
            )
        return str(token)
    return ""


def run_exec_plugin(
    path: Path, spec: Mapping[str, Any], cluster: Mapping[str, Any]
) -> tuple[str, tuple[bytes, bytes] | None]:
    """Run a ``client.authentication.k8s.io`` credential plugin: (token, client cert)."""
    command = str(spec.get("command") or "")
    if not command:
        raise ClusterAccessError("the kubeconfig's exec plugin names no command", hint=_EXEC_HELP)
    if os.sep in command and not Path(command).is_absolute():
        command = _file(path, command)
    interactive = spec.get("interactiveMode", "IfAvailable") != "Never" and sys.stdin.isatty()
    info: dict[str, Any] = {"interactive": interactive}
    if spec.get("provideClusterInfo"):
        info["cluster"] = _cluster_info(cluster)
    env = dict(os.environ)
    env.update({str(e.get("name")): str(e.get("value")) for e in spec.get("env") or ()})
    api_version = str(spec.get("apiVersion") or "client.authentication.k8s.io/v1")
    env["KUBERNETES_EXEC_INFO"] = json.dumps(
        {"apiVersion": api_version, "kind": "ExecCredential", "spec": info}
    )
    argv = [command, *(str(a) for a in spec.get("args") or ())]
    try:
        done = subprocess.run(
            argv,
            env=env,
            stdin=None if interactive else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            check=False,
        )
    except OSError as exc:
        raise ClusterAccessError(
            f"cannot run the kubeconfig's exec plugin {command!r}: {exc}",
            hint=str(spec.get("installHint") or _EXEC_HELP),
        ) from exc
    if done.returncode != 0:
        raise ClusterAccessError(
            f"the kubeconfig's exec plugin {command!r} failed (exit {done.returncode})",
            hint=_EXEC_HELP,
        )
    return _exec_credential(command, done.stdout)


def _exec_credential(command: str, output: bytes) -> tuple[str, tuple[bytes, bytes] | None]:
    try:
        status = json.loads(output).get("status") or {}
    except (ValueError, AttributeError) as exc:
        raise ClusterAccessError(
            f"the exec plugin {command!r} printed no ExecCredential JSON: {exc}", hint=_EXEC_HELP
        ) from exc
    cert, key = status.get("clientCertificateData"), status.get("clientKeyData")
    pair = (str(cert).encode(), str(key).encode()) if cert and key else None
    token = str(status.get("token") or "")
    if not token and pair is None:
        raise ClusterAccessError(
            f"the exec plugin {command!r} returned neither a token nor a client certificate",
            hint=_EXEC_HELP,
        )
    return token, pair


def _cluster_info(cluster: Mapping[str, Any]) -> dict[str, Any]:
    info: dict[str, Any] = {"server": cluster.get("server", "")}
    for key, name in (
        ("certificate-authority-data", "certificate-authority-data"),
        ("insecure-skip-tls-verify", "insecure-skip-tls-verify"),
        ("tls-server-name", "tls-server-name"),
        ("proxy-url", "proxy-url"),
    ):
        if key in cluster:
            info[name] = cluster[key]
    extensions = cluster.get("extensions") or ()
    for extension in extensions:
        if (
            isinstance(extension, dict)
            and extension.get("name") == "client.authentication.k8s.io/exec"
        ):
            info["config"] = extension.get("extension")
    return info

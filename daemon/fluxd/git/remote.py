"""Talking to the upstream repository: fetch into the mirror, push refs.

A fresh dulwich client is made for every operation, because the SSH key and
the known_hosts files are looked up again each time (the key Secret may be
replaced while fluxd runs). Every failure leaves this module as a
``GitRemoteError``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path

import urllib3
from dulwich.client import (
    GitClient,
    HttpGitClient,
    LocalGitClient,
    SSHGitClient,
    default_urllib3_manager,
)
from dulwich.objects import ObjectID
from dulwich.protocol import PEELED_TAG_SUFFIX
from dulwich.refs import Ref
from dulwich.repo import Repo

from fluxd.errors import FluxError
from fluxd.git.failures import Cause, GitRemoteError, explain, remote_error
from fluxd.git.hostkeys import assemble_known_hosts, write_if_changed
from fluxd.git.ssh import OpenSshVendor, SshOptions
from fluxd.git.urls import RemoteUrl, Scheme
from fluxd.git.writing import PushConflict
from fluxd.settings import SshSettings

log = logging.getLogger(__name__)

TAGS_PREFIX = b"refs/tags/"


class Remote:
    """The upstream of the mirror, reached over ssh, http(s) or file://."""

    def __init__(
        self,
        url: RemoteUrl,
        ssh: SshSettings,
        *,
        workdir: Path,
        timeout: float,
        identity_file: Callable[[], Path | None],
    ) -> None:
        self.url = url
        self._ssh = ssh
        self._timeout = timeout
        self._identity_file = identity_file
        self._known_hosts = workdir / "known_hosts"
        self._learned_hosts = workdir / "known_hosts.learned"

    def fetch(self, repo: Repo, branch_ref: Ref) -> dict[Ref, ObjectID]:
        """Fetch the branch and all tags into ``repo``; return those remote refs."""

        def wanted(ref: Ref) -> bool:
            return ref == branch_ref or (
                ref.startswith(TAGS_PREFIX) and not ref.endswith(PEELED_TAG_SUFFIX)
            )

        def determine_wants(
            refs: Mapping[Ref, ObjectID], depth: int | None = None
        ) -> list[ObjectID]:
            return [sha for ref, sha in refs.items() if wanted(ref) and sha not in repo]

        client, path, vendor = self._client()
        try:
            result = client.fetch(
                path, repo, determine_wants=determine_wants, ref_prefix=[branch_ref, TAGS_PREFIX]
            )
        except Exception as exc:
            raise explain(exc, self.url, _stderr(vendor)) from exc
        finally:
            _close(client, vendor)
        return {ref: sha for ref, sha in result.refs.items() if sha is not None and wanted(ref)}

    def push(
        self,
        repo: Repo,
        updates: Mapping[Ref, ObjectID],
        *,
        expect: Mapping[Ref, ObjectID] | None = None,
    ) -> None:
        """Set (or, with the zero id, delete) remote refs, sending what they need.

        With ``expect``, a ref that upstream holds at another commit is not
        pushed at all and ``PushConflict`` is raised: a push must never
        drop someone else's commits.
        """
        moved: list[str] = []

        def update_refs(remote_refs: dict[Ref, ObjectID]) -> dict[Ref, ObjectID]:
            for ref, sha in (expect or {}).items():
                if remote_refs.get(ref) != sha:
                    moved.append(ref.decode(errors="replace"))
            return {} if moved else dict(updates)

        client, path, vendor = self._client()
        try:
            result = client.send_pack(
                path.encode(), update_refs, repo.object_store.generate_pack_data
            )
        except Exception as exc:
            raise explain(exc, self.url, _stderr(vendor), pushing=True) from exc
        finally:
            _close(client, vendor)
        refused = [
            f"{ref.decode()}: {why}" for ref, why in (result.ref_status or {}).items() if why
        ]
        if moved or (refused and expect):
            # Also a race the server saw: the ref changed after it was advertised.
            what = ", ".join(moved) or "; ".join(refused)
            raise PushConflict(f"upstream moved while pushing ({what}); nothing was pushed")
        if refused:
            raise remote_error(Cause.PUSH_REFUSED, self.url, "; ".join(refused))

    def _client(self) -> tuple[GitClient, str, OpenSshVendor | None]:
        url = self.url
        if url.scheme is Scheme.FILE:
            return LocalGitClient(), url.path, None
        if url.scheme in (Scheme.HTTP, Scheme.HTTPS):
            client = HttpGitClient(
                url.transport_url(),
                pool_manager=_http_pool(url, self._timeout),
                username=url.user or None,
                password=url.password or None,
                timeout=self._timeout,
            )
            return client, url.path, None
        vendor = OpenSshVendor(self._ssh_options())
        ssh = SSHGitClient(url.host, port=url.port, username=url.user or None, vendor=vendor)
        return ssh, url.path, vendor

    def _ssh_options(self) -> SshOptions:
        try:
            identity = self._identity_file()
        except FluxError as exc:  # e.g. the key Secret cannot be read
            message = f"fluxd's SSH key is not available: {exc}"
            raise GitRemoteError(Cause.NO_KEY, message, help=exc.help) from exc
        if identity is None or not identity.is_file():
            raise remote_error(Cause.NO_KEY, self.url)
        write_if_changed(self._known_hosts, assemble_known_hosts(self._ssh.known_hosts))
        files: tuple[Path, ...] = (self._known_hosts,)
        if self._ssh.known_hosts_scan:
            # ssh appends a first-seen key to the first file it is given.
            self._learned_hosts.touch(exist_ok=True)
            files = (self._learned_hosts, self._known_hosts)
        return SshOptions(
            identity_file=identity,
            known_hosts_files=files,
            accept_new_host_keys=self._ssh.known_hosts_scan,
            timeout=self._timeout,
        )


def _http_pool(url: RemoteUrl, timeout: float) -> urllib3.PoolManager:
    """dulwich's pool (proxies from the environment, CA checks) making one attempt per request.

    urllib3 retries a dead or silent server three times by default, which
    would stretch --git-timeout fourfold. Redirects are still followed.
    """
    pool = default_urllib3_manager(None, base_url=url.transport_url(), timeout=timeout)
    assert isinstance(pool, urllib3.PoolManager)  # no auth callbacks, so no wrapper
    pool.connection_pool_kw["retries"] = urllib3.Retry(
        total=None, connect=0, read=0, status=0, other=0, redirect=5
    )
    return pool


def _stderr(vendor: OpenSshVendor | None) -> str:
    return vendor.stderr_text() if vendor is not None else ""


def _close(client: GitClient, vendor: OpenSshVendor | None) -> None:
    client.close()
    if vendor is not None:
        for line in vendor.stderr_text().splitlines():
            # Trust on first use: leave a trace of which key was trusted.
            if line.startswith("Warning: Permanently added"):
                log.warning("ssh: %s", line.removeprefix("Warning: ").strip())
        vendor.close()

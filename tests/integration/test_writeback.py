"""Release and policy jobs write to the real test-bed git server (sshd).

The cluster side is a list of running workloads (what the release compares
images with); git is real: the mirror fetches over ssh, commits and pushes,
and every check reads the bare repository with git itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from fluxd.cluster import Container, Rollout, Workload, WorkloadStatus
from fluxd.errors import UserError
from fluxd.git import Author, GitMirror
from fluxd.settings import GitSettings, SshSettings
from fluxd.writeback import (
    NO_CHANGES,
    READ_ONLY,
    Cause,
    GitWriter,
    JobFailed,
    PolicyChange,
    ReleaseSpec,
    Status,
    WriteConflict,
    WriterSettings,
)
from fluxids import ObjectRef
from fluxtestbed.git_fixtures import DeployKey
from fluxtestbed.gitserver import GitServer
from fluxtestbed.scenario import NGINX_DEPLOYMENT, NGINX_SERVICE

pytestmark = pytest.mark.gitserver

NGINX = "default:deployment/nginx-deployment"
NGINX_ID = ObjectRef.parse(NGINX)
FILE = "nginx-deployment-flux.yaml"


class Running:
    """The cluster as a release sees it: nginx runs 1.14.2."""

    def __init__(self, image: str = "nginx:1.14.2") -> None:
        self.image = image

    def list_workloads(self, namespace: str | None = None) -> list[Workload]:
        container = Container("nginx", self.image)
        return [
            Workload(
                ObjectRef("default", "Deployment", "nginx-deployment", "apps/v1"),
                WorkloadStatus.READY,
                Rollout(3, 3, 3, 3),
                (container,),
            )
        ]


def namespaced(api_version: str, kind: str) -> bool:
    return kind != "Namespace"


@pytest.fixture
def repo(git_server: GitServer, git_repo: str) -> str:
    files = {FILE: NGINX_DEPLOYMENT.format(version="1.14.2"), "nginx-service.yaml": NGINX_SERVICE}
    git_server.push_files(git_repo, files, "the seed's repo")
    return git_repo


@pytest.fixture
def mirror(
    git_server: GitServer, repo: str, deploy_key: DeployKey, git_known_hosts: Path, tmp_path: Path
) -> Iterator[GitMirror]:
    settings = GitSettings(url=git_server.ssh_url(repo), user="Flux Bot", email="flux@example.com")
    made = GitMirror(
        settings,
        SshSettings(known_hosts=(git_known_hosts,)),
        workdir=tmp_path / "work",
        identity_file=lambda: deploy_key.private,
    )
    for _ in range(3):
        made.advance()
    assert made.ready, made.error
    yield made
    made.close()


def writer(repo: object, **settings: object) -> GitWriter:
    return GitWriter(
        repo,  # type: ignore[arg-type]
        Running(),
        scope=namespaced,
        settings=WriterSettings(**settings),  # type: ignore[arg-type]
    )


def release(image: str = "nginx:1.16.1", kind: str = "execute") -> ReleaseSpec:
    return ReleaseSpec((NGINX,), image, kind)  # type: ignore[arg-type]


def changed_lines(git_server: GitServer, repo: str, rev: str = "HEAD") -> list[str]:
    diff = git_server.git(repo, "diff", "--unified=0", f"{rev}~1", rev)
    return [
        line
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_a_release_commits_exactly_the_image_line_as_the_flux_user(git_server, repo, mirror):
    outcome = writer(mirror).release(release(), Cause(user="Jane <jane@example.com>"))
    assert git_server.git(repo, "rev-parse", "master") == outcome.revision
    assert changed_lines(git_server, repo) == [
        "-        image: nginx:1.14.2",
        "+        image: nginx:1.16.1",
    ]
    log = git_server.git(repo, "log", "-1", "--format=%cn <%ce>|%an|%B")
    assert log == "Flux Bot <flux@example.com>|Flux Bot|Release nginx:1.16.1 to " + NGINX
    result = outcome.results[NGINX_ID]
    assert result.status is Status.SUCCESS
    assert [(c.container, c.current, c.target) for c in result.per_container] == [
        ("nginx", "nginx:1.14.2", "nginx:1.16.1")
    ]


def test_with_set_author_the_requesting_user_is_the_author(git_server, repo, mirror):
    job = writer(mirror, set_author=True, message_suffix="\n\n[ci skip]")
    job.release(release(), Cause(message="roll forward", user="Jane <jane@example.com>"))
    log = git_server.git(repo, "log", "-1", "--format=%an <%ae>|%cn|%B")
    assert log == "Jane <jane@example.com>|Flux Bot|roll forward\n\n[ci skip]"


def test_a_dry_run_plans_and_pushes_nothing(git_server, repo, mirror):
    before = git_server.git(repo, "rev-parse", "master")
    outcome = writer(mirror).release(release(kind="plan"), Cause())
    assert outcome.revision == ""
    assert outcome.results[NGINX_ID].status is Status.SUCCESS
    assert git_server.git(repo, "rev-parse", "master") == before


def test_lock_writes_the_annotations_then_a_release_is_refused_as_locked(git_server, repo, mirror):
    job = writer(mirror)
    lock = PolicyChange(add={"locked": "true", "locked_user": "Jane", "locked_msg": "freeze"})
    locked = job.update_policies({NGINX_ID: lock}, Cause(user="Jane"))
    assert changed_lines(git_server, repo) == [
        "+  annotations:",
        "+    fluxcd.io/locked: 'true'",
        "+    fluxcd.io/locked_user: Jane",
        "+    fluxcd.io/locked_msg: freeze",
    ]
    # As Flux v1: locked_user and locked_msg count as "updated policies".
    assert git_server.git(repo, "log", "-1", "--format=%B") == (
        f"Updated workload policies\n\n- Locked: {NGINX}\n- Updated policies: {NGINX}"
    )
    assert locked.results[NGINX_ID].status is Status.SUCCESS
    with pytest.raises(JobFailed, match=NO_CHANGES) as refused:
        job.release(release(), Cause())
    assert refused.value.results[NGINX_ID].error == "locked"
    assert git_server.git(repo, "rev-parse", "master") == locked.revision


def test_unlock_removes_the_annotations_it_added(git_server, repo, mirror):
    job = writer(mirror)
    job.update_policies({NGINX_ID: PolicyChange(add={"locked": "true"})}, Cause())
    job.update_policies({NGINX_ID: PolicyChange(remove={"locked": "true"})}, Cause())
    text = git_server.git(repo, "show", f"master:{FILE}")
    assert text + "\n" == NGINX_DEPLOYMENT.format(version="1.14.2")
    again = job.update_policies({NGINX_ID: PolicyChange(remove={"locked": "true"})}, Cause())
    assert (again.revision, again.results[NGINX_ID].status) == ("", Status.SKIPPED)


def test_a_read_only_repo_refuses_with_flux_v1s_text(mirror):
    with pytest.raises(UserError, match=READ_ONLY):
        writer(mirror, readonly=True).release(release(), Cause())


class PushedMeanwhile:
    """Someone else pushes ``files`` just before the job's first push."""

    def __init__(self, mirror: GitMirror, push: Callable[[], str]) -> None:
        self._mirror, self._push, self.theirs = mirror, push, ""

    def __getattr__(self, name: str) -> object:
        return getattr(self._mirror, name)

    def commit_and_push(
        self, parent: str, files: Mapping[str, bytes], *, message: str, author: Author | None = None
    ) -> str:
        if not self.theirs:
            self.theirs = self._push()
        return self._mirror.commit_and_push(parent, files, message=message, author=author)


def test_a_push_overtaken_by_an_unrelated_commit_is_redone_on_top_of_it(git_server, repo, mirror):
    other = PushedMeanwhile(
        mirror, lambda: git_server.push_files(repo, {"README.md": "hello\n"}, "docs")
    )
    outcome = writer(other).release(release(), Cause())
    assert git_server.git(repo, "rev-parse", "master~1") == other.theirs
    assert git_server.git(repo, "rev-parse", "master") == outcome.revision
    assert changed_lines(git_server, repo) == [
        "-        image: nginx:1.14.2",
        "+        image: nginx:1.16.1",
    ]


def test_another_line_of_the_same_file_changed_meanwhile_is_kept(git_server, repo, mirror):
    scaled = NGINX_DEPLOYMENT.format(version="1.14.2").replace("replicas: 3", "replicas: 5")
    other = PushedMeanwhile(mirror, lambda: git_server.push_files(repo, {FILE: scaled}, "scale"))
    writer(other).release(release(), Cause())
    assert git_server.git(repo, "show", f"master:{FILE}") + "\n" == scaled.replace(
        "nginx:1.14.2", "nginx:1.16.1"
    )


def test_the_same_line_changed_meanwhile_fails_the_job_and_pushes_nothing(git_server, repo, mirror):
    theirs = NGINX_DEPLOYMENT.format(version="1.15.0")
    other = PushedMeanwhile(mirror, lambda: git_server.push_files(repo, {FILE: theirs}, "1.15"))
    with pytest.raises(WriteConflict, match=f"{FILE} was changed upstream"):
        writer(other).release(release(), Cause())
    assert git_server.git(repo, "rev-parse", "master") == other.theirs
    assert git_server.git(repo, "show", f"master:{FILE}") + "\n" == theirs


def test_a_workload_defined_twice_is_reported_not_edited(git_server, repo, mirror):
    twice = NGINX_DEPLOYMENT.format(version="1.14.2")
    git_server.push_files(repo, {"copy.yaml": twice}, "a copy")
    mirror.refresh()
    with pytest.raises(JobFailed, match=NO_CHANGES) as failed:
        writer(mirror).release(release(), Cause())
    assert "duplicate definition" in failed.value.results[NGINX_ID].error


def test_a_file_that_does_not_parse_fails_the_job_naming_it(git_server, repo, mirror):
    git_server.push_files(repo, {"broken.yaml": "kind: [\n"}, "broken")
    with pytest.raises(UserError, match=r"broken\.yaml"):
        writer(mirror).release(release(), Cause())


AUTO = "Auto-release nginx:1.16.1"


def test_automated_updates_are_one_commit_with_the_given_message(git_server, repo, mirror):
    outcome = writer(mirror).release_containers(
        {NGINX_ID: {"nginx": "nginx:1.16.1"}}, AUTO, Cause(AUTO, "<automated>")
    )
    assert git_server.git(repo, "rev-parse", "master") == outcome.revision
    assert changed_lines(git_server, repo) == [
        "-        image: nginx:1.14.2",
        "+        image: nginx:1.16.1",
    ]
    assert git_server.git(repo, "log", "-1", "--format=%an|%B") == f"Flux Bot|{AUTO}"
    assert outcome.results[NGINX_ID].status is Status.SUCCESS


def test_automated_updates_already_in_git_make_no_commit_and_no_error(git_server, repo, mirror):
    job = writer(mirror)
    first = job.release_containers({NGINX_ID: {"nginx": "nginx:1.16.1"}}, AUTO, Cause())
    # The cluster still runs 1.14.2: git has the image, the sync has not caught up.
    again = job.release_containers({NGINX_ID: {"nginx": "nginx:1.16.1"}}, AUTO, Cause())
    assert again.revision == ""
    assert git_server.git(repo, "rev-parse", "master") == first.revision


def test_automated_updates_skip_a_workload_locked_in_git(git_server, repo, mirror):
    job = writer(mirror)
    locked = job.update_policies({NGINX_ID: PolicyChange(add={"locked": "true"})}, Cause())
    outcome = job.release_containers({NGINX_ID: {"nginx": "nginx:1.16.1"}}, AUTO, Cause())
    assert outcome.revision == ""
    assert outcome.results[NGINX_ID].error == "locked"
    assert git_server.git(repo, "rev-parse", "master") == locked.revision


def test_automated_updates_skip_a_tag_the_filter_in_git_refuses(git_server, repo, mirror):
    job = writer(mirror)
    job.update_policies({NGINX_ID: PolicyChange(add={"tag.nginx": "semver:~1.14"})}, Cause())
    outcome = job.release_containers({NGINX_ID: {"nginx": "nginx:1.16.1"}}, AUTO, Cause())
    assert outcome.revision == ""
    assert outcome.results[NGINX_ID].status is Status.SKIPPED

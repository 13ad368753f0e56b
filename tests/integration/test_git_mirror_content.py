"""Reading revisions from the mirror, fetching incrementally, and the sync tag.

Files are committed with the git CLI into real bare repos; what the mirror
reports is compared with what git itself says about the same repo.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fluxd.errors import GitError
from fluxd.git import GitMirror, RepoStatus
from fluxd.settings import GitSettings, SshSettings
from fluxtestbed.git_fixtures import DeployKey
from fluxtestbed.gitserver import GitServer

pytestmark = pytest.mark.gitserver

MakeMirror = Callable[..., GitMirror]

LAYOUT: dict[str, str | None] = {
    "deploy/app.yaml": "kind: Deployment\n",
    "deploy/net/svc.yml": "kind: Service\n",
    "deploy/crd.json": '{"kind": "CustomResourceDefinition"}\n',
    "deploy/README.md": "not a manifest\n",
    "deploy/chart/Chart.yaml": "name: chart\n",
    "deploy/chart/values.yaml": "replicas: 1\n",
    "deploy/chart/templates/deployment.yaml": "kind: Deployment\n",
    "other/thing.yaml": "kind: ConfigMap\n",
}


@pytest.fixture
def make_mirror(git_server: GitServer, git_repo: str, tmp_path: Path) -> Iterator[MakeMirror]:
    """A ready mirror of ``git_repo`` over file:// (or ``url``), with git settings."""
    made: list[GitMirror] = []

    def make(*, url: str = "", ssh: SshSettings | None = None, key: Path | None = None,
             **git: object) -> GitMirror:  # fmt: skip
        mirror = GitMirror(
            GitSettings(url=url or git_server.file_url(git_repo), **git),  # type: ignore[arg-type]
            ssh or SshSettings(),
            workdir=tmp_path / f"work{len(made)}",
            identity_file=lambda: key,
        )
        made.append(mirror)
        for _ in range(3):
            mirror.advance()
        assert mirror.status is RepoStatus.READY, mirror.error
        return mirror

    yield make
    for mirror in made:
        mirror.close()


def test_manifests_are_yaml_yml_and_json_files_under_the_path_outside_charts(
    git_server: GitServer, git_repo: str, make_mirror: MakeMirror
) -> None:
    head = git_server.push_files(git_repo, LAYOUT, "layout")
    mirror = make_mirror(paths=("deploy",))
    files = mirror.manifest_files(head)
    assert sorted(files) == ["deploy/app.yaml", "deploy/crd.json", "deploy/net/svc.yml"]
    for path, blob in files.items():
        assert blob == git_server.git(git_repo, "rev-parse", f"{head}:{path}")


def test_without_paths_the_whole_repo_is_read(
    git_server: GitServer, git_repo: str, make_mirror: MakeMirror
) -> None:
    head = git_server.push_files(git_repo, LAYOUT, "layout")
    files = make_mirror().manifest_files(head)
    assert sorted(files) == [
        "deploy/app.yaml",
        "deploy/crd.json",
        "deploy/net/svc.yml",
        "other/thing.yaml",
    ]


def test_several_paths_in_any_spelling_and_a_single_file(
    git_server: GitServer, git_repo: str, make_mirror: MakeMirror
) -> None:
    head = git_server.push_files(git_repo, LAYOUT, "layout")
    mirror = make_mirror(paths=("./deploy/net/", "other/thing.yaml"))
    assert sorted(mirror.manifest_files(head)) == ["deploy/net/svc.yml", "other/thing.yaml"]


def test_a_configured_path_that_does_not_exist_is_named(
    git_server: GitServer, git_repo: str, make_mirror: MakeMirror
) -> None:
    head = git_server.push_files(git_repo, LAYOUT, "layout")
    mirror = make_mirror(paths=("deploy", "clusters/prod"))
    with pytest.raises(GitError, match="git path 'clusters/prod' does not exist") as caught:
        mirror.manifest_files(head)
    assert "--git-path" in caught.value.help


def test_an_older_revision_is_read_as_it_was(
    git_server: GitServer, git_repo: str, make_mirror: MakeMirror
) -> None:
    first = git_server.push_files(git_repo, {"deploy/a.yaml": "v: 1\n"}, "one")
    git_server.push_files(git_repo, {"deploy/a.yaml": None, "deploy/b.yaml": "v: 2\n"}, "two")
    mirror = make_mirror(paths=("deploy",))
    old_files = mirror.manifest_files(first)
    assert list(old_files) == ["deploy/a.yaml"]
    assert mirror.read_blob(old_files["deploy/a.yaml"]) == b"v: 1\n"
    assert list(mirror.manifest_files(mirror.head())) == ["deploy/b.yaml"]


def test_unknown_revisions_and_blobs_are_git_errors(
    git_server: GitServer, git_repo: str, make_mirror: MakeMirror
) -> None:
    git_server.push_files(git_repo, LAYOUT, "layout")
    mirror = make_mirror()
    for junk in ("0" * 40, "master", "HEAD", mirror.head()[:7], "a" * 64, "é"):
        with pytest.raises(GitError, match="not a commit"):
            mirror.manifest_files(junk)
        with pytest.raises(GitError, match="not a commit"):
            mirror.commits_between(None, junk)
        with pytest.raises(GitError, match="not in the local mirror"):
            mirror.read_blob(junk)


def test_commits_between_lists_commits_touching_the_paths_newest_first(
    git_server: GitServer, git_repo: str, make_mirror: MakeMirror
) -> None:
    c1 = git_server.push_files(git_repo, {"deploy/a.yaml": "v: 1\n"}, "deploy 1")
    c2 = git_server.push_files(git_repo, {"other/b.yaml": "v: 1\n"}, "elsewhere")
    c3 = git_server.push_files(git_repo, {"deploy/a.yaml": "v: 2\n"}, "deploy 2")
    scoped = make_mirror(paths=("deploy",))
    assert scoped.commits_between(c1, c3) == [c3]
    assert scoped.commits_between(None, c3) == [c3, c1]
    assert scoped.commits_between(c3, c3) == []
    everything = make_mirror()
    assert everything.commits_between(c1, c3) == [c3, c2]
    assert everything.commits_between(None, c3) == git_server.git(git_repo, "rev-list", c3).split()


def test_commits_between_agrees_with_git_across_a_merge(
    git_server: GitServer, git_repo: str, make_mirror: MakeMirror
) -> None:
    base = git_server.push_files(git_repo, {"deploy/a.yaml": "v: 1\n"}, "base")
    git_server.git(git_repo, "branch", "side", base)
    main = git_server.push_files(git_repo, {"other/x.yaml": "v: 1\n"}, "main work")
    side = git_server.push_files(git_repo, {"deploy/b.yaml": "v: 1\n"}, "side", branch="side")
    tree = git_server.git(git_repo, "merge-tree", "--write-tree", main, side)
    merge = git_server.git(git_repo, "commit-tree", tree, "-p", main, "-p", side, "-m", "merge")
    git_server.git(git_repo, "update-ref", "refs/heads/master", merge)
    mirror = make_mirror(paths=("deploy",))
    assert mirror.head() == merge
    for old in (None, base, main, side):
        git_range = f"{old}..{merge}" if old else merge
        expected = git_server.git(git_repo, "rev-list", "--full-history", git_range, "--", "deploy")
        assert mirror.commits_between(old, merge) == expected.split(), old


def test_a_new_commit_is_fetched_incrementally_into_the_same_mirror(
    git_server: GitServer, git_repo: str, make_mirror: MakeMirror, tmp_path: Path
) -> None:
    git_server.push_files(git_repo, LAYOUT, "layout")
    mirror = make_mirror(paths=("deploy",))
    packs = tmp_path / "work0" / "mirror.git" / "objects" / "pack"
    before = set(packs.glob("*.pack"))
    new = git_server.push_files(git_repo, {"deploy/app.yaml": "kind: Deployment # v2\n"}, "v2")
    assert mirror.refresh() == new
    assert mirror.head() == new
    added = set(packs.glob("*.pack")) - before
    assert before <= set(packs.glob("*.pack")), "the earlier objects were kept, not re-cloned"
    # Only the new commit, its two trees and the changed file came over the wire.
    assert [objects_in_pack(p) for p in added] == [4]


def objects_in_pack(pack: Path) -> int:
    index = pack.with_suffix(".idx").read_bytes()
    shown = subprocess.run(["git", "show-index"], input=index, capture_output=True, check=True)
    return len(shown.stdout.splitlines())


def test_the_sync_tag_is_an_annotated_tag_force_pushed_to_the_remote(
    git_server: GitServer,
    git_repo: str,
    deploy_key: DeployKey,
    git_known_hosts: Path,
    make_mirror: MakeMirror,
) -> None:
    first = git_server.push_files(git_repo, {"deploy/a.yaml": "v: 1\n"}, "one")
    mirror = make_mirror(
        url=git_server.ssh_url(git_repo),
        ssh=SshSettings(known_hosts=(git_known_hosts,)),
        key=deploy_key.private,
        user="Flux Bot",
        email="flux@example.org",
    )
    assert mirror.sync_tag_revision() is None
    mirror.move_sync_tag(first)
    assert git_server.git(git_repo, "rev-parse", "flux-sync^{commit}") == first
    tag = git_server.git(git_repo, "cat-file", "-p", "flux-sync")
    assert "\ntagger Flux Bot <flux@example.org> " in tag
    assert tag.endswith("\n\nSync pointer")
    second = git_server.push_files(git_repo, {"deploy/a.yaml": "v: 2\n"}, "two")
    mirror.refresh()
    mirror.move_sync_tag(second)
    assert git_server.git(git_repo, "rev-parse", "flux-sync^{commit}") == second
    assert mirror.sync_tag_revision() == second


def test_a_sync_tag_moved_elsewhere_is_seen_after_a_refresh(
    git_server: GitServer, git_repo: str, make_mirror: MakeMirror
) -> None:
    first = git_server.push_files(git_repo, {"a.yaml": "v: 1\n"}, "one")
    git_server.push_files(git_repo, {"a.yaml": "v: 2\n"}, "two")
    mirror = make_mirror(sync_tag="cluster-a")
    mirror.move_sync_tag(mirror.head())
    git_server.git(git_repo, "tag", "--force", "cluster-a", first)
    assert mirror.refresh()
    assert mirror.sync_tag_revision() == first
    git_server.git(git_repo, "tag", "--delete", "cluster-a")
    mirror.refresh()
    assert mirror.sync_tag_revision() is None

"""fluxd's faces on the test bed: push webhooks, metrics, the user's own key,
and host keys — each through the real daemon, sshd and API server."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from fluxtestbed.fluxd_host import wait_for
from fluxtestbed.git_fixtures import make_deploy_key
from fluxtestbed.scenario import Installation, seed_files

pytestmark = [pytest.mark.cluster, pytest.mark.gitserver, pytest.mark.slow]

SECRET = "webhook-test-secret"


def _metrics(inst: Installation) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{inst.daemon.port}/metrics", timeout=10) as r:
        text = r.read().decode()
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = sample.name + json.dumps(sample.labels, sort_keys=True)
            values[key] = sample.value
    return values


def _sync_count(inst: Installation) -> float:
    return sum(
        v
        for k, v in _metrics(inst).items()
        if k.startswith("flux_daemon_sync_duration_seconds_count")
    )


def _pass_report_status(inst: Installation, revision: str) -> int:
    """The HTTP status of fluxd's report on the pass that applied ``revision``."""
    try:
        inst.daemon.get_json(f"/v11/sync-errors?ref={revision}")
    except urllib.error.HTTPError as exc:
        return exc.code
    return 200


def _no_pass_pending(inst: Installation) -> None:
    """Return once every pass asked for so far has run, adding one pass.

    ``fluxctl sync`` returns after a pass that began after its request; a
    request still waiting merges into that pass, so none is left behind.
    """
    done = inst.fluxctl("sync")
    assert done.returncode == 0, done.stderr


def _github_push(inst: Installation, *, secret: str = SECRET) -> int:
    body = json.dumps(
        {"ref": "refs/heads/master", "repository": {"ssh_url": inst.git.ssh_url(inst.repo)}}
    ).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "X-GitHub-Event": "push",
        "X-Hub-Signature-256": signature,
        "Content-Type": "application/json",
    }
    try:
        return inst.daemon.post("/hook/github", body, headers)
    except urllib.error.HTTPError as exc:
        return exc.code


def _image(inst: Installation) -> str:
    return inst.kube.kubectl(
        "get",
        "deployment",
        "nginx-deployment",
        "-n",
        inst.target,
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
        check=False,
    ).stdout


def _ready_installation(factory: Callable[..., Installation]) -> Installation:
    inst = factory(
        files=seed_files("1.17.7"),
        extra_args=("--git-poll-interval=10m", "--sync-interval=10m"),
        host_args=(f"--webhook-secret={SECRET}",),
    )
    inst.authorize_deploy_key()
    wait_for("the first sync", lambda: _image(inst) == "nginx:1.17.7", timeout=90, interval=0.5)
    return inst


def test_a_signed_github_push_makes_the_change_live_and_a_bad_signature_does_not(
    installation_factory: Callable[..., Installation],
) -> None:
    inst = _ready_installation(installation_factory)

    announced = inst.git.push_files(inst.repo, seed_files("1.16.0"), "1.16.0")
    assert _github_push(inst, secret="not-the-secret") == 401
    # The next commit is pushed before a valid delivery announces it: had the
    # rejected delivery made fluxd fetch, a pass would have applied `announced`.
    inst.git.push_files(inst.repo, seed_files("1.16.1"), "1.16.1")
    assert _github_push(inst) in (200, 202)
    wait_for(
        "nginx:1.16.1 to be live", lambda: _image(inst) == "nginx:1.16.1", timeout=10, interval=0.05
    )
    # fluxd keeps the report of each recent pass by revision: none ran for it.
    assert _pass_report_status(inst, announced) == 404


def test_a_burst_of_deliveries_causes_at_most_two_sync_passes(
    installation_factory: Callable[..., Installation],
) -> None:
    inst = _ready_installation(installation_factory)
    _no_pass_pending(inst)
    before = _sync_count(inst)
    inst.git.push_files(inst.repo, seed_files("1.16.1"), "1.16.1")
    statuses = {_github_push(inst) for _ in range(100)}
    assert statuses <= {200, 202}
    wait_for("nginx:1.16.1 to be live", lambda: _image(inst) == "nginx:1.16.1", timeout=20)
    _no_pass_pending(inst)
    passes = _sync_count(inst) - before - 1  # the last one is _no_pass_pending's own
    assert 1 <= passes <= 2


def test_metrics_parse_and_move_with_a_sync(
    installation_factory: Callable[..., Installation],
) -> None:
    inst = _ready_installation(installation_factory)
    # The objects are live a moment before the pass that applied them is recorded.
    metrics = wait_for(
        "the first pass to be recorded",
        lambda: (m := _metrics(inst))['flux_daemon_sync_manifests{"success": "true"}'] and m,
        timeout=10,
    )
    assert metrics["flux_git_ready{}"] == 1.0
    assert metrics['flux_daemon_sync_manifests{"success": "true"}'] == 2.0
    assert metrics['flux_daemon_sync_manifests{"success": "false"}'] == 0.0
    before = _sync_count(inst)
    out = inst.fluxctl("sync")
    assert out.returncode == 0, out.stderr
    wait_for("one more pass", lambda: _sync_count(inst) > before, timeout=20)
    # Each pass also leaves a Kubernetes Event in fluxd's namespace.
    events = inst.kube.kubectl(
        "get", "events", "-n", inst.namespace, "--field-selector", "reason=Synced", "-o", "name"
    ).stdout.split()
    assert events


def test_the_users_own_key_replaces_the_generated_one_without_a_restart(
    installation_factory: Callable[..., Installation], tmp_path: Path
) -> None:
    inst = _ready_installation(installation_factory)
    generated = inst.fluxctl("identity").stdout.strip()
    inst.git.revoke(generated)

    own = make_deploy_key(tmp_path, "git_ssh_key")
    inst.git.authorize(own.public_line)
    ns = inst.namespace
    inst.kube.kubectl("delete", "secrets", "-n", ns, "flux-git-deploy")
    inst.kube.kubectl(
        "create",
        "secret",
        "-n",
        ns,
        "generic",
        "flux-git-deploy",
        f"--from-file=identity={own.private}",
    )
    wait_for(
        "fluxctl identity to show the user's key",
        lambda: inst.fluxctl("identity").stdout.split()[:2] == own.public_line.split()[:2],
        timeout=30,
        interval=0.5,
    )
    inst.git.push_files(inst.repo, seed_files("1.15.0"), "1.15.0")
    out = inst.fluxctl("sync")
    assert out.returncode == 0, out.stderr
    wait_for("nginx:1.15.0 to be live", lambda: _image(inst) == "nginx:1.15.0", timeout=20)


def test_an_unknown_host_key_is_named_and_adding_it_makes_the_repo_ready(
    installation_factory: Callable[..., Installation],
) -> None:
    inst = installation_factory(
        files=seed_files("1.17.7"), known_hosts=False, extra_args=("--git-poll-interval=1s",)
    )
    inst.authorize_deploy_key()

    def status() -> dict[str, object]:
        out = inst.daemon.get_json("/v6/identity.pub")
        assert out["key"]
        req = urllib.request.Request(
            f"{inst.daemon.url}/v9/git-repo-config",
            data=b"false",
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return dict(json.loads(resp.read()))

    config = wait_for("a host key error", lambda: (c := status())["errors"] and c, timeout=30)
    assert config["status"] == "new"
    assert "host key" in str(config["errors"]).lower()
    assert "127.0.0.1" in str(config["errors"])

    (inst.daemon.workdir / "known_hosts").write_text(
        "".join(line + "\n" for line in inst.git.known_hosts_lines())
    )
    wait_for(
        "the repo to be ready", lambda: status()["status"] == "ready", timeout=40, interval=0.5
    )

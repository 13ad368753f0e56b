"""``fluxctl list-workloads``: Flux v1's table, JSON, filters and namespace defaulting."""

# ruff: noqa: E501 - the expected tables are wider than 100 columns

from __future__ import annotations

import json
from pathlib import Path

import pytest

from unit.cli.fake_daemon import FakeDaemon, fixture
from unit.cli.harness import Fluxctl

TABLE = [
    "WORKLOAD                             CONTAINER  IMAGE                                     RELEASE   POLICY",
    "default:cronjob/cleanup",
    "default:daemonset/agent              agent      busybox:1.31                              updating  ignore",
    "default:deployment/nginx-deployment  nginx      nginx:1.17.7                              ready",
    "default:deployment/podinfo           podinfod   stefanprodan/podinfo:3.1.0                ready     automated,locked",
    "                                     sidecar    quay.io/prometheus/node-exporter:v0.18.1",
]  # fmt: skip


def rows(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


@pytest.fixture
def rich(daemon: FakeDaemon) -> FakeDaemon:
    """Workloads with several containers, policies, and one without containers."""
    daemon.script("GET /v6/services", fixture("cli-services-multi-container.json"))
    return daemon


def test_the_recorded_flux_v1_answer_lists_as_flux_v1_did(at_daemon: Fluxctl) -> None:
    result = at_daemon("list-workloads", "-a")

    assert result.exit_code == 0, result.output
    # Flux v1's fluxctl 1.25.4 printed exactly these rows for this answer.
    assert rows(result.stdout) == [
        "WORKLOAD                             CONTAINER  IMAGE                     RELEASE  POLICY",
        "default:daemonset/agent              agent      busybox:1.36              ready",
        "default:deployment/handmade          web        nginx:1.25                ready",
        "default:deployment/legacy            web        nginx:1.25                ready",
        "default:deployment/multi             app        ghcr.io/acme/app:1.2.0    ready    automated,locked",
        "                                     proxy      envoyproxy/envoy:v1.30.1",
        "default:deployment/nginx-deployment  nginx      nginx:1.17.7              ready",
        "default:statefulset/db               postgres   postgres:16.3             ready",
    ]


def test_table_is_sorted_by_id_with_extra_containers_on_their_own_rows(
    at_daemon: Fluxctl, rich: FakeDaemon
) -> None:
    result = at_daemon("list-workloads")

    assert result.exit_code == 0, result.output
    assert rows(result.stdout) == TABLE
    assert result.stderr == ""


def test_columns_are_padded_like_go_tabwriter(at_daemon: Fluxctl, rich: FakeDaemon) -> None:
    lines = at_daemon("list-workloads").stdout.splitlines()

    # Every cell but the last is padded to its column's width + 2, even when empty.
    assert lines[1] == "default:cronjob/cleanup" + " " * 14 + " " * 11 + " " * 42 + " " * 10
    assert lines[0].index("CONTAINER") == len("default:deployment/nginx-deployment") + 2


def test_no_headers_leaves_out_the_header_row(at_daemon: Fluxctl, rich: FakeDaemon) -> None:
    result = at_daemon("list-workloads", "--no-headers")

    # Without the header the columns are narrower ("podinfod" < "CONTAINER").
    assert [line.split() for line in rows(result.stdout)] == [r.split() for r in TABLE[1:]]
    assert rows(result.stdout)[1].startswith("default:daemonset/agent              agent     busy")


def test_container_filter_keeps_workloads_having_that_container(
    at_daemon: Fluxctl, rich: FakeDaemon
) -> None:
    result = at_daemon("list-workloads", "-c", "sidecar")

    assert [line.split()[:2] for line in rows(result.stdout)] == [
        ["WORKLOAD", "CONTAINER"],
        ["default:deployment/podinfo", "podinfod"],
        ["sidecar", "quay.io/prometheus/node-exporter:v0.18.1"],
    ]


def test_json_output_is_the_api_list_sorted_by_id(at_daemon: Fluxctl, rich: FakeDaemon) -> None:
    result = at_daemon("list-workloads", "-o", "json")

    assert result.exit_code == 0
    listed = json.loads(result.stdout)
    assert [w["ID"] for w in listed] == sorted(
        w["ID"] for w in fixture("cli-services-multi-container.json")
    )
    documented = {
        "ID", "Containers", "ReadOnly", "Status", "Rollout", "SyncError",
        "Antecedent", "Labels", "Automated", "Locked", "Ignore", "Policies",
    }  # fmt: skip
    assert all(set(w) == documented for w in listed)
    podinfo = next(w for w in listed if w["ID"] == "default:deployment/podinfo")
    assert podinfo["Containers"][1]["Current"]["ID"] == "quay.io/prometheus/node-exporter:v0.18.1"


def test_an_invalid_output_format_is_a_usage_error(at_daemon: Fluxctl) -> None:
    result = at_daemon("list-workloads", "-o", "yaml")

    assert result.exit_code == 2
    assert "Invalid value for '-o' / '--output-format'" in result.stderr


def test_list_controllers_is_an_alias(at_daemon: Fluxctl, rich: FakeDaemon) -> None:
    assert rows(at_daemon("list-controllers").stdout) == TABLE


def test_namespace_defaults_to_default_without_kubeconfig(
    at_daemon: Fluxctl, daemon: FakeDaemon
) -> None:
    at_daemon("list-workloads")

    assert daemon.calls("GET /v6/services")[0].query == {"namespace": "default"}


def test_namespace_defaults_to_the_kube_contexts_namespace(
    at_daemon: Fluxctl, daemon: FakeDaemon, tmp_path: Path
) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: work\n"
        "contexts:\n"
        "- name: work\n  context: {cluster: c, user: u, namespace: team-a}\n"
        "- name: other\n  context: {cluster: c, user: u, namespace: team-b}\n"
    )
    env: dict[str, str | None] = {"KUBECONFIG": str(kubeconfig)}

    at_daemon("list-workloads", env=env)
    at_daemon("--context", "other", "list-workloads", env=env)

    queries = [c.query["namespace"] for c in daemon.calls("GET /v6/services")]
    assert queries == ["team-a", "team-b"]


@pytest.mark.parametrize(
    ("args", "namespace"),
    [(["-n", "flux"], "flux"), (["--namespace", "kube-system"], "kube-system"), (["-a"], "")],
)
def test_namespace_flags(
    at_daemon: Fluxctl, daemon: FakeDaemon, args: list[str], namespace: str
) -> None:
    at_daemon("list-workloads", *args)

    assert daemon.calls("GET /v6/services")[0].query == {"namespace": namespace}


def test_an_empty_answer_prints_only_the_header(at_daemon: Fluxctl, daemon: FakeDaemon) -> None:
    daemon.script("GET /v6/services", None)

    result = at_daemon("list-workloads")

    assert result.exit_code == 0
    assert rows(result.stdout) == ["WORKLOAD  CONTAINER  IMAGE  RELEASE  POLICY"]

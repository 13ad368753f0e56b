"""``fluxctl list-images``: the running tag among the available ones, as Flux v1 drew it."""

# ruff: noqa: E501 - the expected tables are wider than 100 columns

from __future__ import annotations

import json

from unit.cli.fake_daemon import FakeDaemon, fixture
from unit.cli.harness import Fluxctl

RECORDED = [
    "WORKLOAD                             CONTAINER  IMAGE       CREATED",
    "default:deployment/nginx-deployment  nginx      nginx",
    "                                                |   1.17.6  23 Nov 19 01:12 UTC",
    "                                                '-> 1.17    15 Aug 19 20:45 UTC",
    "                                                    1.16    15 Aug 19 20:44 UTC",
]

TABLE = [
    "WORKLOAD                             CONTAINER  IMAGE                               CREATED",
    "default:cronjob/cleanup",
    "default:deployment/nginx-deployment  nginx      nginx",
    "                                                |   1.17.8                          21 Jan 20 10:00 UTC",
    "                                                '-> 1.17.7                          28 Dec 19 09:12 UTC",
    "                                                    1.17.6                          19 Nov 19 22:04 UTC",
    "                                                    1.17.5                          22 Oct 19 18:00 UTC",
    "                                                    1.16.1                          13 Aug 19 10:05 UTC",
    "default:deployment/private           app        registry.example.com:5000/team/app  image data not available",
    "                                                '-> v2                              ?",
]  # fmt: skip


def rows(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def test_running_tag_is_marked_newer_ones_barred_older_ones_blank(at_daemon: Fluxctl) -> None:
    result = at_daemon("list-images")

    assert result.exit_code == 0, result.output
    assert rows(result.stdout) == RECORDED


def test_without_registry_data_the_reason_and_running_tag_are_shown(
    at_daemon: Fluxctl, daemon: FakeDaemon
) -> None:
    # Recorded from Flux v1's fluxd with --registry-disable-scanning, which
    # leaves Current.ID empty; fluxd sends the running image there instead.
    recorded = fixture("images-no-data.json")
    nginx = next(i for i in recorded if i["ID"].endswith("/nginx-deployment"))
    nginx["Containers"][0]["Current"]["ID"] = "nginx:1.17.7"
    daemon.script("GET /v10/images", [nginx])

    assert rows(at_daemon("list-images", "--no-headers").stdout) == [
        "default:deployment/nginx-deployment  nginx  nginx       image data not available",
        "                                            '-> 1.17.7  ?",
    ]


def test_flux_v1s_own_answer_without_registry_data_lists_as_its_fluxctl_did(
    at_daemon: Fluxctl, daemon: FakeDaemon
) -> None:
    daemon.script("GET /v10/images", fixture("images-no-data.json"))

    # Flux v1's fluxctl 1.25.4 printed exactly these rows for this answer.
    assert rows(at_daemon("list-images", "--no-headers").stdout) == [
        "default:daemonset/agent              agent                     image data not available",
        "                                               '-> (untagged)  ?",
        "default:deployment/handmade          web                       image data not available",
        "                                               '-> (untagged)  ?",
        "default:deployment/legacy            web                       image data not available",
        "                                               '-> (untagged)  ?",
        "default:deployment/multi             app                       image data not available",
        "                                               '-> (untagged)  ?",
        "                                     proxy                     image data not available",
        "                                               '-> (untagged)  ?",
        "default:deployment/nginx-deployment  nginx                     image data not available",
        "                                               '-> (untagged)  ?",
        "default:statefulset/db               postgres                  image data not available",
        "                                               '-> (untagged)  ?",
    ]


def test_several_workloads_and_long_tag_lists(at_daemon: Fluxctl, daemon: FakeDaemon) -> None:
    daemon.script("GET /v10/images", fixture("cli-images-many-tags.json"))

    result = at_daemon("list-images")

    assert result.exit_code == 0, result.output
    assert rows(result.stdout) == TABLE


def test_all_workloads_of_the_namespace_are_asked_for(
    at_daemon: Fluxctl, daemon: FakeDaemon
) -> None:
    at_daemon("list-images", "-n", "web")

    query = daemon.calls("GET /v10/images")[0].query
    assert query == {"service": "<all>", "containerFields": "", "namespace": "web"}


def test_one_workload_is_asked_for_by_qualified_id(at_daemon: Fluxctl, daemon: FakeDaemon) -> None:
    at_daemon("list-images", "-n", "web", "-w", "Deployment/nginx")
    at_daemon("list-images", "--workload", "other:deployment/api")

    queries = [c.query for c in daemon.calls("GET /v10/images")]
    assert queries[0] == {"service": "web:deployment/nginx", "containerFields": "", "namespace": ""}
    assert queries[1]["service"] == "other:deployment/api"


def test_a_malformed_workload_id_is_a_usage_error(at_daemon: Fluxctl, daemon: FakeDaemon) -> None:
    result = at_daemon("list-images", "-w", "nginx")

    assert result.exit_code == 2
    assert "is not a workload ID" in result.stderr
    assert not daemon.requests


def test_limit_drops_rows_but_keeps_the_running_tag_with_an_omission_note(
    at_daemon: Fluxctl, daemon: FakeDaemon
) -> None:
    images = fixture("cli-images-many-tags.json")
    images[0]["Containers"][0]["Current"]["ID"] = "nginx:1.17.5"
    daemon.script("GET /v10/images", images[:1])

    result = at_daemon("list-images", "--no-headers", "-l", "1")

    assert rows(result.stdout) == [
        "default:deployment/nginx-deployment  nginx  nginx",
        "                                            |   1.17.8              21 Jan 20 10:00 UTC",
        "                                            : (2 image(s) omitted)",
        "                                            '-> 1.17.5              22 Oct 19 18:00 UTC",
    ]  # fmt: skip


def test_limit_zero_shows_every_tag(at_daemon: Fluxctl, daemon: FakeDaemon) -> None:
    daemon.script("GET /v10/images", fixture("cli-images-many-tags.json"))

    result = at_daemon("list-images", "-l", "0")

    assert rows(result.stdout) == TABLE


def test_json_output_is_the_api_list(at_daemon: Fluxctl) -> None:
    result = at_daemon("list-images", "-o", "json")

    listed = json.loads(result.stdout)
    assert [i["ID"] for i in listed] == sorted(i["ID"] for i in fixture("images.json"))
    assert all(set(i) == {"ID", "Containers"} for i in listed)

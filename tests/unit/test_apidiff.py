"""The differential test's comparison sees every difference a strict reader would."""

from __future__ import annotations

import base64

from fluxtestbed.apidiff import Answer, Side, base64_yaml, compare_answers, differences, normalise

SIDE = Side(
    "ours",
    "http://127.0.0.1:1/api/flux",
    target="apps-1a2b3c",
    namespace="flux-1a2b3c",
    repo_url="ssh://git@127.0.0.1:2222/srv/diff-ours-1a2b3c.git",
    head="5a3f1c9e8d7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f",
)


def test_null_empty_list_and_missing_key_are_three_different_things():
    assert differences({"Messages": None}, {"Messages": []}) == ["$.Messages: ours None, theirs []"]
    assert differences({"Policies": {}}, {}) == ["$.Policies: only ours ({})"]
    assert differences({}, {"Policies": None}) == ["$.Policies: only theirs (None)"]


def test_types_and_nested_values_are_compared():
    ours = [{"ID": "a", "Rollout": {"Desired": 3}, "Automated": "true"}]
    theirs = [{"ID": "a", "Rollout": {"Desired": 2}, "Automated": True}]
    assert differences(ours, theirs) == [
        "$[ID=a].Automated: ours 'true', theirs True",
        "$[ID=a].Rollout.Desired: ours 3, theirs 2",
    ]
    assert differences([1, [2]], [1, [3]]) == ["$[1][0]: ours 2, theirs 3"]


def test_status_and_content_type_are_compared_before_the_body():
    ours = Answer(405, "application/json", {"type": "user"})
    theirs = Answer(404, "text/plain", "API endpoint not found")
    assert compare_answers(ours, theirs)[:2] == [
        "status: ours 405, theirs 404",
        "content type: ours 'application/json', theirs 'text/plain'",
    ]


def test_normalise_replaces_only_installation_specific_values():
    body = [
        {"ID": "apps-1a2b3c:deployment/web", "Labels": {"app": "web"}},
        {"ID": "apps-1a2b3c:daemonset/agent", "Labels": None},
    ]
    assert normalise(body, SIDE) == [
        {"ID": "<target>:daemonset/agent", "Labels": None},
        {"ID": "<target>:deployment/web", "Labels": {"app": "web"}},
    ]
    assert normalise([SIDE.head, "0" * 40, SIDE.repo_url], SIDE) == [
        "<HEAD>",
        "<other revision>",
        "<repo url>",
    ]


def test_key_material_keeps_its_format_visible():
    key = {
        "key": "ssh-ed25519 AAAAC3Nza root@flux\n",
        "fingerprints": {
            "md5": {"hash": "57:e7:87:f3:0d:28:2a:84:28:3d:66:db:50:0c:96:e6"},
            "sha256": {"hash": "SHA256:78ei4tbbkew9K1uEv/hNddc1Do9S6naMppBp2fsTiJA"},
        },
    }
    assert normalise(key, SIDE) == {
        "key": "<ssh-ed25519 public key>\n",
        "fingerprints": {
            "md5": {"hash": "<md5 hex pairs>"},
            # A prefix the other side lacks stays visible.
            "sha256": {"hash": "SHA256:78ei4tbbkew9K1uEv/hNddc1Do9S6naMppBp2fsTiJA"},
        },
    }


def test_an_export_is_compared_as_the_objects_in_its_base64_yaml():
    text = "kind: Namespace\nmetadata: {name: apps-1a2b3c}\n---\nkind: Pod\nmetadata: {name: web}\n"
    assert base64_yaml(base64.b64encode(text.encode()).decode(), SIDE) == {
        "Namespace <target>": ["kind", "metadata"],
        "Pod web": ["kind", "metadata"],
    }
    assert base64_yaml("not base64!", SIDE) == "not base64!"


def test_workload_lists_are_matched_by_id():
    ours = [{"ID": "ns:cronjob/report"}, {"ID": "ns:deployment/web", "Status": "ready"}]
    theirs = [{"ID": "ns:deployment/web", "Status": "updating"}]
    assert differences(ours, theirs) == [
        "$[ID=ns:cronjob/report]: only ours",
        "$[ID=ns:deployment/web].Status: ours 'ready', theirs 'updating'",
    ]

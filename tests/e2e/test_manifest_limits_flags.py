"""The --manifest-max-* flags reach fluxd's git reading and parsing, end to end.

fluxd runs with a file size limit of 4Ki on a repo holding the seed's app,
an alias bomb and a 64 KiB file: `fluxctl sync` lists both bad files with
the limit and the flag, and the seed's Deployment goes live.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fluxtestbed.fluxd_host import wait_for
from fluxtestbed.scenario import Installation, deployment_image, seed_files
from unit.manifests.test_manifest_limits import alias_bomb

pytestmark = [pytest.mark.cluster, pytest.mark.gitserver, pytest.mark.slow]


def big_config_map(size: int) -> str:
    head = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  blob: "
    return head + "x" * (size - len(head) - 1) + "\n"


def test_files_over_the_limits_set_by_flags_are_listed_and_the_rest_applied(
    installation_factory: Callable[..., Installation],
) -> None:
    files = {
        **seed_files("1.17.7"),
        "bomb.yaml": alias_bomb().decode(),
        "big.yaml": big_config_map(64 * 1024),
    }
    inst = installation_factory(
        files=files,
        extra_args=("--git-poll-interval=1s", "--manifest-max-file-size=4Ki"),
    )
    inst.authorize_deploy_key()
    wait_for(
        "the seed's Deployment applied",
        lambda: deployment_image(inst.kube, inst.target) == "nginx:1.17.7",
        timeout=90,
    )
    out = inst.fluxctl("sync")
    assert out.returncode == 1
    assert "big.yaml: file too large: 64.0 KiB is over the limit of 4Ki" in out.stderr
    # The limit reached the git reader (big.yaml, refused unread) and the
    # parser (the bomb's text, 4Ki long after a few levels of aliases).
    assert (
        "bomb.yaml: file too large once its YAML aliases are expanded: more than 4Ki of text"
        " (--manifest-max-file-size)"
    ) in out.stderr

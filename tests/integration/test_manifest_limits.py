"""A repo with an alias bomb and a 30 MB file next to the seed's app, on the test bed.

Before the limits, the bomb grew fluxd past 6 GB and the pass never ended,
so the seed's nginx Deployment in the same commit never went live. Now both
files fail alone, named with their limits, and the rest is applied while
fluxd's memory stays far below what deploy/ gives its container.
"""

from __future__ import annotations

import resource
import tracemalloc
from pathlib import Path

import pytest
import yaml

from fluxd.quantities import parse_byte_size
from fluxtestbed.gitserver import GitServer
from fluxtestbed.kube import Cluster
from fluxtestbed.scenario import seed_files
from integration.test_sync_engine import make_bed
from unit.manifests.test_manifest_limits import alias_bomb

pytestmark = [pytest.mark.cluster, pytest.mark.gitserver]

MiB = 1024 * 1024
DEPLOYMENT = Path(__file__).resolve().parents[2] / "deploy" / "flux-deployment.yaml"


def memory_limit_of_fluxd() -> int:
    """Bytes: the memory limit deploy/ sets on the fluxd container."""
    spec = yaml.safe_load(DEPLOYMENT.read_text())["spec"]["template"]["spec"]
    (container,) = [c for c in spec["containers"] if c["name"] == "flux"]
    return parse_byte_size(container["resources"]["limits"]["memory"])


def data_dump(size: int) -> str:
    """A ConfigMap of ``size`` bytes, as if someone committed an export."""
    head = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dump\ndata:\n"
    line = "  row-{:08d}: 'value value value value value value value value'\n"
    rows = (size - len(head)) // len(line.format(0)) + 1
    return head + "".join(line.format(n) for n in range(rows))


def test_the_bomb_and_the_huge_file_fail_alone_and_the_seed_goes_live(
    kube: Cluster, git_server: GitServer, namespace: str
) -> None:
    files: dict[str, str | None] = {
        **seed_files("1.17.7"),
        "bomb.yaml": alias_bomb().decode(),
        "dump.yaml": data_dump(30 * MiB),
    }
    bed = make_bed(kube, git_server, namespace, gc=True, files=files)
    try:
        tracemalloc.start()
        result = bed.sync()
        pass_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    finally:
        bed.cluster.close()
    errors = {failure.source: failure.error for failure in result.failures}
    assert errors == {
        "bomb.yaml": "bomb.yaml: too many values: the file expands to more than 500000,"
        " counting each use of a YAML alias or merge key as all it stands for"
        " (--manifest-max-nodes)",
        "dump.yaml": "dump.yaml: file too large: 30.0 MiB is over the limit of 4Mi"
        " (--manifest-max-file-size)",
    }
    assert result.applied == 2
    assert result.gc_skipped  # a file failed: nothing may be deleted this pass
    image = "{.spec.template.spec.containers[0].image}"
    assert bed.get("deployment", "nginx-deployment", image) == "nginx:1.17.7"
    assert bed.get("service", "nginx-service", "{.spec.type}") == "NodePort"
    # What the pass allocated, and the whole test process at its peak (the
    # git fetch of the 30 MB file included), against the container's limit.
    assert pass_peak < 64 * MiB
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert peak_rss < memory_limit_of_fluxd()
    print(f"pass peak {pass_peak / MiB:.1f} MiB, process peak RSS {peak_rss / MiB:.1f} MiB")

"""The ``flux`` pod's container, run from the image the way a kubelet runs it:
in-cluster configuration, the Deployment's securityContext and volumes."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from fluxtestbed.scenario import Installation, seed_files

pytestmark = [pytest.mark.cluster, pytest.mark.gitserver, pytest.mark.slow]

# Runs inside the container: the ids, privileges and capabilities of every
# process but itself, the mounts' options, and where it may write.
_PROBE = """
import json, os
procs = {}
for pid in filter(str.isdigit, os.listdir("/proc")):
    if int(pid) == os.getpid():
        continue
    with open(f"/proc/{pid}/status") as f:
        status = dict(line.split(":", 1) for line in f if ":" in line)
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        cmd = f.read().replace(b"\\0", b" ").decode().strip()
    procs[cmd] = {k: status[k].split() for k in ("Uid", "Gid", "NoNewPrivs", "CapEff")}
mounts = {}
for line in open("/proc/self/mountinfo"):
    f = line.split()
    mounts[f[4]] = [f[5], f[f.index("-") + 1]]
def writes(d):
    try:
        open(os.path.join(d, ".probe"), "w").close()
        os.remove(os.path.join(d, ".probe"))
        return "yes"
    except OSError as e:
        return e.strerror
where = {d: writes(d) for d in ("/", "/opt/fluxd", "/etc/fluxd/ssh", "/tmp", "/var/fluxd/keygen")}
print(json.dumps({"procs": procs, "mounts": mounts, "writes": where, "home": os.environ["HOME"]}))
"""


def test_fluxd_runs_in_its_image_with_the_pods_identity_and_lockdown(
    installation_factory: Callable[..., Installation],
) -> None:
    inst = installation_factory(files=seed_files("1.17.7"))
    daemon = inst.daemon
    if daemon.engine is None:
        pytest.skip("fluxd runs as a host process here (the pytest header says why)")

    # The public key comes from the flux-git-deploy Secret, which fluxd created
    # through the API with the pod's ServiceAccount token: in-cluster config.
    key = inst.fluxctl("identity")
    assert key.returncode == 0, key.stderr
    assert key.stdout.startswith("ssh-ed25519 ")

    spec = json.loads(daemon.engine.run("inspect", daemon.container).stdout)[0]
    args = spec["Config"].get("Cmd") or spec["Args"]
    assert not [a for a in args if "kubeconfig" in a], args
    assert spec["HostConfig"]["ReadonlyRootfs"] is True

    probe = daemon.engine.run("exec", daemon.container, "python3", "-c", _PROBE).stdout
    seen = json.loads(probe)
    assert "ro" in seen["mounts"]["/"][0].split(",")
    assert seen["mounts"]["/var/fluxd/keygen"][1] == "tmpfs"
    assert seen["writes"] == {
        "/": "Read-only file system",
        "/opt/fluxd": "Read-only file system",
        "/etc/fluxd/ssh": "Read-only file system",
        "/tmp": "yes",
        "/var/fluxd/keygen": "yes",
    }
    fluxd = [cmd for cmd in seen["procs"] if "fluxd" in cmd and "tini" not in cmd]
    assert fluxd, seen["procs"]
    for cmd, proc in seen["procs"].items():
        assert set(proc["Uid"]) == {"10001"}, cmd
        assert set(proc["Gid"]) == {"10001"}, cmd
        assert proc["NoNewPrivs"] == ["1"], cmd
        assert int(proc["CapEff"][0], 16) == 0, cmd
    assert seen["home"] == "/tmp"

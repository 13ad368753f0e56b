"""The method section of docs/benchmarks.md: machine, how each tool was built and run."""

from __future__ import annotations

from typing import Any

from fluxtestbed.bench.ceiling import CONCURRENCIES, REPETITIONS, TOLERANCE
from fluxtestbed.bench.fluxv2 import FLAGS as FLUXV2_FLAGS
from fluxtestbed.bench.peers import FLUXV1_FLAGS
from fluxtestbed.bench.settle import TIMEOUT_S


def method_lines(meta: dict[str, Any]) -> list[str]:
    rate = meta["fluxd_rate_limit"]
    return [
        "## 6. Machine and method",
        "",
        f"- CPU: {meta['cpu']} ({meta['cores']} cores), {meta['memory_gib']} GiB RAM, "
        f"Linux {meta['kernel']}, Python {meta['python']}; "
        f"{meta['kubernetes']}; {meta['kubectl']}; {meta['etcd']}.",
        f"- Load average at start: {', '.join(str(x) for x in meta['load_avg_at_start'])}; "
        "each run's 1-minute load average is in its row. The machine is shared: other "
        "work ran beside the benchmark, so compare within one run more than across runs.",
        "- Objects: per 20, 6 ConfigMaps, 4 Secrets, 3 ServiceAccounts, 3 Services, "
        "4 Deployments (replicas 0: no pods), one file per object, over 10-50 namespaces "
        "that are in the repo too and counted as objects.",
        f"- Fresh state: {meta['fresh_state']}. Tools run one after the other "
        "(fluxd, kubectl, Flux v1, Flux v2), each alone.",
        "- Writes: the test bed's kube-apiserver keeps an audit log of every finished write "
        "(create, update, patch, delete) by clients; each tool has a user name of its own "
        "(fluxd: its ServiceAccount `flux`; the others a client certificate `bench-kubectl`, "
        "`bench-fluxv1`, `bench-fluxv2`), and its writes are counted from that log per verb, "
        "resource and name. A server-side apply is a `patch`. Nothing is subtracted, but "
        "writes to Leases are counted apart as Lease renewals: they are leader election's "
        "(fluxd renews its `fluxd-leader` Lease on a timer whether it syncs or not), "
        "not sync writes.",
        f"- Settling: every object a run creates sets kube-controller-manager to work (per "
        "Deployment a ReplicaSet and status updates, per Service Endpoints and an "
        "EndpointSlice, per namespace a ServiceAccount and a ConfigMap), on the same API "
        "server, etcd and cores, and it goes on after the run. So before each measured run "
        "(each tool's first sync, each ceiling run) the bench waits until the controllers "
        "have written nothing (their writes are in the audit log under their own "
        f"ServiceAccounts) for {meta.get('settle_quiet_s', 2.0):g} s, at most "
        f"{TIMEOUT_S:.0f} s; the wait is in each run's row (a run after the longest wait is "
        "marked not settled).",
        "- **fluxd (ours)**: deploy/'s `flux` pod served by a host process behind a kwok "
        f"port-forward, with deploy/'s args plus `{' '.join(meta['fluxd_extra_flags'])}`; "
        f"client rate limit qps={rate['qps']:g}, burst={rate['burst']}. First sync: from the "
        "webhook POST right after `git push` returned to the log time of the pass that "
        "applied it. No-op: `fluxctl --url <fluxd> sync` with nothing new; its `took=`. "
        "Push to live: the signed GitHub push webhook.",
        "- **kubectl**: `kubectl apply --server-side -R -f <dir>` of the same files, "
        "the test bed's kubectl. No-op: the same command again. No trigger of its own, "
        "so no push to live. CPU and peak RSS from wait4().",
        "- **Flux v1**: fluxd 1.25.4 built from `github.com/fluxcd/flux@v1.25.4` by "
        "tests/fluxtestbed/build-fluxv1.sh (the machine's Go), run on this host with its "
        "own kubeconfig user, git and the test bed's kubectl on PATH, over ssh to the "
        f"same git server, flags `--registry-disable-scanning {' '.join(FLUXV1_FLAGS)}` "
        "(no memcached). Trigger: the Go `fluxctl sync` 1.25.4 (`--url`, which waits "
        "until the revision is applied). No-op: Flux v1 passes only on its timer or a new "
        "commit, so its first pass after a restart (same repo, same revision) is timed by "
        "its own `flux_daemon_sync_duration_seconds`. CPU includes its kubectl and git "
        "children; peak RSS is fluxd's alone (its kubectl processes come and go). "
        f"Push to live: {meta.get('fluxv1_pushes', '?')} samples (each re-applies every "
        "object with kubectl).",
        "- **Flux v2**: kustomize-controller v1.9.6 built from its Go module by "
        "tests/fluxtestbed/build-fluxv2.sh with `GOTOOLCHAIN=go1.27.3` inside a writable "
        "copy of the module with its `api` submodule (same version) in ./api; flags "
        f"`{' '.join(FLUXV2_FLAGS)}`, everything else default (4 concurrent reconciles, "
        "4 concurrent SSA; client rate limit raised to fluxd's). source-controller "
        "cannot be built from the module proxy, so "
        "the bench plays its part: `git archive` of the pushed revision from the same git "
        "server, served over HTTP on 127.0.0.1, published in an `ExternalArtifact`'s "
        "status (CRDs from source-controller v1.9.0's config/crd/bases). One Kustomization, "
        "`prune: true`, interval 1h. First sync: from publishing the artifact to `Ready=True` "
        "at that revision. No-op: the `reconcile.fluxcd.io/requestedAt` annotation, until "
        "handled and Ready. Before the no-op and after each push the bench waits until no "
        "reconciliation has run for 2 s (publish and annotation can queue a second whole "
        "pass). Dry-run PATCHes (its diff before applying) store nothing and are counted "
        "apart from writes. Push to live: publish + that annotation; its git fetch is not "
        f"in any figure; {meta.get('fluxv2_pushes', '?')} samples. Its peak RSS is "
        "kustomize-controller's alone (no "
        "source-controller runs).",
        "- **Honest ceiling**: one more fluxd first sync, of a fresh repo of the same mix "
        f"(at most {meta.get('ceiling_limit', 1000):,} objects besides the namespaces; "
        "fluxd without drift watches, which the recorder cannot stream), is "
        "recorded through a plain-HTTP recorder on 127.0.0.1 (tests/fluxtestbed/bench/"
        "capture.py), which forwards to the API server and writes each server-side-apply "
        "PATCH (path, query, headers, body) to a file. A Go program (tests/fluxtestbed/"
        "ceiling, stdlib net/http, built by build-ceiling.sh) replays that file with the "
        "admin client certificate over HTTP/1.1 keep-alive connections, namespaces first, "
        f"at concurrency {', '.join(str(c) for c in CONCURRENCIES)}, in {REPETITIONS} rounds "
        "of one run per concurrency (interleaved, so a drift of the machine's load spreads "
        "over every concurrency; one round in `--smoke`), one process per run with the "
        "cluster settled before it, each run "
        "renaming the run tag so it creates fresh objects of the same size, in the order "
        "fluxd sent them (above that limit a run sends the namespaces and the first "
        "objects up to it: every run creates what it sends, and 21 runs of all of "
        "N = 20,000 take too long on a 2-core machine). Each run reports "
        "the client's own CPU (getrusage), the API server's and etcd's, the connections it "
        "opened and the protocol answered. The ceiling is the best "
        f"median; if fluxd's throughput is above it by more than {TOLERANCE:.0%}, the "
        "ceiling is reported invalid instead of a ratio.",
        f"- Push to live ({meta.get('pushes', '?')} samples for ours): one ConfigMap value "
        "changed and pushed; the clock starts when the "
        "push has landed (Flux v2: when its artifact is published); live when a GET of the "
        "ConfigMap (every 20 ms) shows it. p95 is nearest-rank.",
        "- Memory: VmHWM of the tool's process at the end of its run. CPU: utime+stime "
        "from /proc over the first sync, for the tool and for kube-apiserver + etcd; the "
        "rest of the machine's CPU is the busy time of all cores (/proc/stat) less those: "
        "the controllers, kwok, the bench itself and whatever else shares the machine, "
        "which is what makes runs at different moments hard to compare.",
    ]

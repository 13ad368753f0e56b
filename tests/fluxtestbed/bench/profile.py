"""Profile fluxd's first sync (and the no-op pass after it) on the test bed.

``PYTHONPATH=tests python -m fluxtestbed.bench.profile --n 1000``

Builds the daemon's ``SyncEngine`` directly (git replaced by an in-memory
source of the benchmark's files; the cluster side is the real one against a
fresh control plane) and runs passes in this thread. pyinstrument samples
this thread; the apply workers run in a thread pool, which pyinstrument does
not see, so each worker task runs under a per-thread cProfile and those are
merged. CPU seconds of fluxd (this process), kube-apiserver and etcd are
read from /proc around each pass, to tell whose CPU the pass waits for.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import os
import pstats
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from pyinstrument import Profiler

import fluxd.cluster.applying
from fluxd.cluster import Cluster as FluxCluster
from fluxd.settings import ClusterSettings, GitSettings, SyncSettings
from fluxd.sync.engine import SyncEngine
from fluxtestbed.bench.objects import generate, with_probe
from fluxtestbed.kube import Cluster, start_cluster

T = TypeVar("T")
_PROFILES: list[cProfile.Profile] = []
_LOCAL = threading.local()


def _profiled(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    prof: cProfile.Profile | None = getattr(_LOCAL, "prof", None)
    if prof is None:
        prof = cProfile.Profile()
        _LOCAL.prof = prof
        _PROFILES.append(prof)
    prof.enable()
    try:
        return fn(*args, **kwargs)
    finally:
        prof.disable()


class _ProfiledPool(ThreadPoolExecutor):
    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return super().submit(_profiled, fn, *args, **kwargs)


class MemorySource:
    """The engine's view of git, from a dict of files."""

    def __init__(self, files: dict[str, str]) -> None:
        self.blobs: dict[str, bytes] = {}
        self.files: dict[str, str] = {}
        self.revision = ""
        self.change(files)

    def change(self, files: dict[str, str]) -> None:
        """Commit ``files`` (whole or some paths) on top of what is there."""
        for path, text in files.items():
            sha = hashlib.sha1(text.encode()).hexdigest()
            self.blobs[sha] = text.encode()
            self.files[path] = sha
        self.revision = hashlib.sha1("".join(sorted(self.files.values())).encode()).hexdigest()

    def head(self) -> str:
        return self.revision

    def manifest_files(self, revision: str, *, skip_missing: bool = False) -> dict[str, str]:
        return dict(self.files)

    def missing_paths(self, revision: str) -> list[str]:
        return []

    def descends_from(self, revision: str, ancestor: str) -> bool:
        return True

    def read_blob(self, blob_sha: str) -> bytes:
        return self.blobs[blob_sha]


class MemoryMarker:
    def __init__(self) -> None:
        self.revision: str | None = None

    def get(self) -> str | None:
        return self.revision

    def set(self, revision: str) -> None:
        self.revision = revision


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def profile_pass(engine: SyncEngine, kube: Cluster, label: str, out: Path) -> str:
    pids = {p.name: p.popen.pid for p in kube.processes}
    watched = {k: v for k, v in pids.items() if k in ("kube-apiserver", "etcd")}
    _PROFILES.clear()
    before = {k: _cpu_seconds(v) for k, v in watched.items()}
    cpu0, wall0 = time.process_time(), time.perf_counter()
    profiler = Profiler(interval=0.001)
    profiler.start()
    result = engine.run_pass()
    profiler.stop()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    after = {k: _cpu_seconds(v) for k, v in watched.items()}
    report = io.StringIO()
    report.write(f"== {label}: {result.summary()}\n")
    report.write(f"wall {wall:.2f}s; fluxd CPU {cpu:.2f}s (all threads)")
    for name in watched:
        report.write(f"; {name} CPU {after[name] - before[name]:.2f}s")
    report.write("\n\n-- this thread (pyinstrument) --\n")
    report.write(profiler.output_text(unicode=False, color=False, show_all=False))
    (out / f"{label}.html").write_text(profiler.output_html())
    if _PROFILES:
        stats = pstats.Stats(_PROFILES[0], stream=report)
        for prof in _PROFILES[1:]:
            stats.add(prof)
        report.write(f"\n-- apply workers ({len(_PROFILES)} threads, cProfile) --\n")
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(30)
    return report.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fluxtestbed.bench.profile")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=SyncSettings().concurrency)
    parser.add_argument("--out", type=Path, default=Path(tempfile.mkdtemp(prefix="fluxd-prof-")))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    vars(fluxd.cluster.applying)["ThreadPoolExecutor"] = _ProfiledPool
    kube = start_cluster(Path(tempfile.mkdtemp(prefix="fluxpy-prof-")))
    try:
        kube.kubectl("create", "namespace", "flux-prof")
        repo = generate(f"prof{args.n}", args.n)
        settings = ClusterSettings(kubeconfig=str(kube.kubeconfig), namespace="flux-prof")
        sync = SyncSettings(concurrency=args.concurrency)
        cluster = FluxCluster.connect(settings, sync)
        source = MemorySource(repo.files())
        engine = SyncEngine(
            source,
            cluster,
            MemoryMarker(),
            git=GitSettings(url="ssh://git@127.0.0.1/bench.git"),
            sync=sync,
            cluster_settings=settings,
        )
        text = profile_pass(engine, kube, f"first-sync-{args.n}", args.out)
        text += "\n" + profile_pass(engine, kube, f"noop-{args.n}", args.out)
        source.change(with_probe(repo, "changed"))
        text += "\n" + profile_pass(engine, kube, f"one-change-{args.n}", args.out)
        cluster.close()
    finally:
        kube.stop()
    (args.out / f"profile-{args.n}.txt").write_text(text)
    print(text)
    print(f"profiles in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

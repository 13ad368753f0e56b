"""Figures of a full registry scan: 20 images x 200 tags by default.

Pushes the images to the test bed's registry (once per run), then times
fluxd's scanner doing a first full scan and a second scan (only new tags),
counting requests and the memory the cache holds. Not a test: a measurement.

    make bench-registry                          # 20 x 200 at --registry-rps 50
    make bench-registry BENCH_ARGS="--rps 0"     # unthrottled
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fluxd.registry import Credentials, Scanner, ScanTarget, parse_image
from fluxd.settings import RegistrySettings
from fluxtestbed.registry import PASSWORD, USER, Registry, running_registry


def push_all(registry: Registry, images: int, tags: int) -> float:
    start = time.perf_counter()

    def push(index: int) -> None:
        for tag in range(tags):
            created = f"2024-01-01T{tag // 3600 % 24:02d}:{tag // 60 % 60:02d}:{tag % 60:02d}Z"
            registry.push_image(f"bench/app{index}", f"1.0.{tag}", created=created)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(push, range(images)))
    return time.perf_counter() - start


def rss_mib() -> float:
    """The process's resident memory now (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def scan(scanner: Scanner, targets: list[ScanTarget]) -> tuple[float, int, int]:
    before = scanner.requests
    start = time.perf_counter()
    summary = scanner.scan(targets)
    return time.perf_counter() - start, scanner.requests - before, summary.new_tags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--tags", type=int, default=200)
    parser.add_argument("--rps", type=float, default=50.0, help="--registry-rps (0: no limit)")
    parser.add_argument("--burst", type=int, default=10, help="--registry-burst")
    parser.add_argument("--auth", action="store_true", help="scan the htpasswd registry")
    opts = parser.parse_args()
    with running_registry(Path(tempfile.mkdtemp(prefix="fluxpy-registry-bench-"))) as registry:
        pushed = push_all(registry, opts.images, opts.tags)
        os.environ["SSL_CERT_FILE"] = str(registry.ca)
        settings = RegistrySettings(rps=opts.rps, burst=opts.burst)
        scanner = Scanner(settings)
        # The anonymous read-only twin: the authenticated one checks a bcrypt
        # hash on every request, which would be the registry's cost, not ours.
        host, creds = (
            (registry.host, Credentials(USER, PASSWORD))
            if opts.auth
            else (registry.anon_host, None)
        )
        targets = [
            ScanTarget(parse_image(f"{host}/bench/app{i}:1.0.0").image, creds)
            for i in range(opts.images)
        ]
        rss_before = rss_mib()
        first = scan(scanner, targets)
        rss_after = rss_mib()
        for i in range(opts.images):
            registry.push_image(f"bench/app{i}", "2.0.0", created="2024-06-01T00:00:00Z")
        second = scan(scanner, targets)
        scanner.close()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"images x tags          {opts.images} x {opts.tags} (pushed in {pushed:.0f}s)")
    kind = "htpasswd" if opts.auth else "anonymous"
    print(f"registry rps / burst   {opts.rps:g} / {opts.burst} ({kind})")
    print(f"first scan             {first[0]:.1f}s, {first[1]} requests, {first[2]} tags fetched")
    print(
        f"second scan (+1 tag)   {second[0]:.2f}s, {second[1]} requests, {second[2]} tags fetched"
    )
    grown = rss_after - rss_before
    print(f"RSS growth, 1st scan   {grown:.1f} MiB ({rss_before:.0f} -> {rss_after:.0f})")
    print(f"peak RSS of process    {peak_mib:.0f} MiB (includes the pushing client)")


if __name__ == "__main__":
    main()

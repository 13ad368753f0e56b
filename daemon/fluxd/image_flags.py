"""fluxd's image scanning and automation flags: Flux v1's registry flags, plus ours."""

from __future__ import annotations

from fluxd import flag_values as v
from fluxd.flag_values import Flag

REGISTRY_FLAGS = (
    Flag(
        "--registry-disable-scanning",
        "scan no registry and automate nothing",
        ("registry.disable_scanning",),
        kind="bool",
    ),
    Flag(
        "--automation-interval",
        "how often automated workloads are checked for newer images",
        ("registry.automation_interval",),
        read=v.duration,
        show=v.show_duration,
        # Flux v1 renamed --registry-poll-interval to this one and kept the old name.
        hidden_alias="--registry-poll-interval",
    ),
    Flag(
        "--registry-scan-interval",
        "how often registries are asked for new tags",
        ("registry.scan_interval",),
        read=v.duration,
        show=v.show_duration,
    ),
    Flag(
        "--registry-rps",
        "requests per second to one registry host",
        ("registry.rps",),
        read=v.non_negative_float,
    ),
    Flag(
        "--registry-burst",
        "requests to one registry host at once (also tags fetched in parallel)",
        ("registry.burst",),
        read=v.positive_int,
    ),
    Flag(
        "--registry-exclude-image",
        "images never scanned (globs over the name; comma list or repeated)",
        ("registry.exclude_images",),
        kind="list",
        convert=v.split,
        show=v.show_list,
    ),
    Flag(
        "--registry-include-image",
        "scan only images matching these globs (comma list or repeated)",
        ("registry.include_images",),
        kind="list",
        convert=v.split,
    ),
    Flag(
        "--registry-insecure-host",
        "registry hosts reached without TLS verification, or over HTTP",
        ("registry.insecure_hosts",),
        kind="list",
        convert=v.split,
    ),
    Flag(
        "--docker-config",
        "Docker config.json with registry credentials for every workload",
        ("registry.docker_config",),
        convert=v.optional_path,
    ),
    Flag(
        "--registry-timeout",
        "limit of one request to a registry",
        ("registry.timeout",),
        read=v.duration,
        show=v.show_duration,
    ),
)

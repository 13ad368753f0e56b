"""Shared fixtures. The test bed's fixtures live in plugins, one per server:

- ``fluxtestbed.kube_fixtures``: ``kube`` (a real control plane + kwok node,
  once per session) and ``namespace`` (a fresh namespace per test).
- ``fluxtestbed.git_fixtures``: ``git_server`` (sshd + smart HTTP, once per
  session) and ``git_repo`` (a fresh bare repo per test).
- ``fluxtestbed.fluxv1_fixtures``: ``fluxv1`` (Flux v1's own fluxctl and
  fluxd, built once from the Go module).
- ``fluxtestbed.registry_fixtures``: ``registry`` (the distribution image
  registry with TLS and htpasswd, plus an anonymous read-only one).
"""

pytest_plugins = [
    "fluxtestbed.kube_fixtures",
    "fluxtestbed.git_fixtures",
    "fluxtestbed.fluxv1_fixtures",
    "fluxtestbed.registry_fixtures",
]


def pytest_report_header() -> str:
    """How end-to-end tests run fluxd: in its image, or (no engine) as a host process."""
    from fluxtestbed.container import choose_runner

    return f"end-to-end: {choose_runner()[1]}"

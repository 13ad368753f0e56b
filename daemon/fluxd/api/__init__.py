"""The HTTP API of fluxd, wire-compatible with Flux v1 (``/api/flux/...``).

``create_app(daemon, settings=..., registry=...)`` builds the app; ``DaemonPort``
is what it needs from the daemon. ``models`` is the wire contract shared
with fluxctl and is importable without FastAPI.
"""

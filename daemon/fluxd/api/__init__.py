"""The HTTP API of fluxd, wire-compatible with Flux v1 (``/api/flux/...``)."""

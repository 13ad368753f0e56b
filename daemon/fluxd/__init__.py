"""fluxd: keeps a Kubernetes cluster equal to what a git branch says."""

__version__ = "0.1.0"

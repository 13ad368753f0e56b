"""pytest fixtures for the Kubernetes test bed (filled in with the cluster)."""

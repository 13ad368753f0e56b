"""pytest fixtures for the git server (filled in with the git server)."""

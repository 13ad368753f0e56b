"""Keeping the cluster equal to git: one pass (``engine``), and the loop running passes."""

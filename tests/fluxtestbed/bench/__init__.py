"""``make bench``: fluxd against kubectl and a raw client on the local test bed.

Modules: ``objects`` (the generated repo), ``api`` (counts, metrics and the
raw-apply ceiling), ``fluxd`` (a fluxd install driven and observed),
``harness`` (the plan of runs), ``report`` (docs/benchmarks.md).
"""

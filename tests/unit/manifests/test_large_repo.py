"""A repository of thousands of objects loads completely."""

from __future__ import annotations

from fluxd.manifests import ParseCache, ScopeResolver, load

_TEMPLATE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: config-{n}
  namespace: team-{team}
  labels: {{app: app-{n}}}
data:
  key: value-{n}
"""


def test_five_thousand_documents_in_many_files_load_and_a_second_load_parses_nothing(
    scope: ScopeResolver,
) -> None:
    files: dict[str, bytes] = {}
    for file_number in range(100):
        docs = [_TEMPLATE.format(n=file_number * 50 + i, team=file_number % 7) for i in range(50)]
        files[f"team/{file_number:03}.yaml"] = "---\n".join(docs).encode()
    blobs = {path: f"blob-{path}" for path in files}
    cache = ParseCache()

    first = load(files, blobs, scope=scope, default_namespace="default", cache=cache)
    second = load(files, blobs, scope=scope, default_namespace="default", cache=cache)

    assert len(first.resources) == 5000
    assert first.complete
    assert len({str(r.ref) for r in first.resources}) == 5000
    assert cache.misses == 100
    assert cache.hits == 100
    assert len(second.resources) == 5000

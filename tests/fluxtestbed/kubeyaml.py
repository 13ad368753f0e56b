"""The test bed's ``kubeyaml``: the manifest editor Flux v1's fluxd runs for its git commits.

Flux v1's image shipped a Python program of that name; fluxd pipes a
manifest file through it (``kubeyaml annotate|image --namespace NS --kind K
--name N ...``) to change one workload and keep the rest of the file as it
was written. That program is not packaged, so the test bed brings this
stand-in, which does the two edits fluxd asks for with ruamel.yaml's
round trip:

* ``annotate ... key=value ...`` sets the workload's annotations as plain
  strings (ruamel.yaml then quotes ``'true'``, as the original did); an
  empty value removes one. New keys are added in sorted order, so the file
  does not depend on the order fluxd happened to pass them in (the original
  followed it, and fluxd passes them in a Go map's random order).
* ``image ... --container C --image REF`` sets container C's image.

A document matches by kind (any case), name and namespace (``default``
when the manifest has none). No match, or two, is an error on stderr with
exit status 1, as fluxd expects.
"""

from __future__ import annotations

import argparse
import io
import sys
from typing import Any

from ruamel.yaml import YAML


def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long line the user did not fold
    yaml.indent(mapping=2, sequence=2, offset=0)
    return yaml


def _matches(doc: Any, args: argparse.Namespace) -> bool:
    if not isinstance(doc, dict) or not isinstance(doc.get("metadata"), dict):
        return False
    meta = doc["metadata"]
    return bool(
        str(doc.get("kind", "")).lower() == args.kind.lower()
        and meta.get("name") == args.name
        and (meta.get("namespace") or "default") == args.namespace
    )


def _annotate(doc: Any, pairs: list[str]) -> None:
    meta = doc["metadata"]
    annotations = meta.get("annotations")
    if annotations is None:
        annotations = meta["annotations"] = {}
    for pair in sorted(pairs):
        key, _, value = pair.partition("=")
        if value:
            annotations[key] = value
        else:
            annotations.pop(key, None)
    if not annotations:
        del meta["annotations"]


def _pod_spec(doc: Any) -> Any:
    spec = doc.get("spec") or {}
    if str(doc.get("kind", "")).lower() == "cronjob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return ((spec.get("template") or {}).get("spec")) or {}


def _set_image(doc: Any, container: str, image: str) -> None:
    pod = _pod_spec(doc)
    for key in ("initContainers", "containers"):
        for entry in pod.get(key) or []:
            if entry.get("name") == container:
                entry["image"] = image
                return
    raise LookupError(f"container {container!r} not found")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="kubeyaml")
    parser.add_argument("command", choices=("annotate", "image", "set"))
    for flag in ("--namespace", "--kind", "--name"):
        parser.add_argument(flag, required=True)
    parser.add_argument("--container")
    parser.add_argument("--image")
    parser.add_argument("pairs", nargs="*")
    args = parser.parse_intermixed_args(argv)
    yaml = _yaml()
    docs = list(yaml.load_all(sys.stdin.read()))
    found = [doc for doc in docs if _matches(doc, args)]
    if len(found) != 1:
        what = "not found" if not found else "defined more than once"
        print(f"resource {args.namespace}:{args.kind}/{args.name} {what}", file=sys.stderr)
        return 1
    try:
        if args.command == "annotate":
            _annotate(found[0], args.pairs)
        elif args.command == "image":
            _set_image(found[0], args.container, args.image)
        else:
            print("kubeyaml set (HelmRelease values) is not supported here", file=sys.stderr)
            return 1
    except LookupError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    out = io.StringIO()
    yaml.dump_all(docs, out)
    sys.stdout.write(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

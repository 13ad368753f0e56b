"""Field-by-field comparison of two fluxd HTTP APIs answering the same requests.

Each daemon is a ``Side``: its API URL and the names that must differ
between two installations (namespaces, repo URL, revisions, key). ``ask``
sends one request the way Flux v1's fluxctl does (``Accept:
application/json``), ``normalise`` replaces exactly those names and values
by placeholders, and ``differences`` lists every remaining difference in
keys, JSON types (``null`` is not ``[]``) and values.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

import httpx
import yaml

GC_MARK = "fluxcd.io/sync-gc-mark"
_SHA = re.compile(r"^[0-9a-f]{40}$")
_JOB_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_MD5 = re.compile(r"^([0-9a-f]{2}:){15}[0-9a-f]{2}$")
_SHA256 = re.compile(r"^[A-Za-z0-9+/]{43}$")


@dataclass
class Side:
    """One daemon under comparison."""

    name: str
    api: str  #: ends in /api/flux
    target: str  #: the namespace its workloads live in
    namespace: str  #: its own namespace
    repo_url: str
    #: The branch HEAD of its repo, once known.
    head: str = ""


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: Any  #: decoded JSON, the text of a non-JSON body, or None when empty


def ask(
    client: httpx.Client,
    side: Side,
    method: str,
    path: str,
    *,
    body: Any = None,
    raw: bytes | None = None,
    accept: str | None = "application/json",
) -> Answer:
    """One request; ``{target}``, ``{HEAD}`` and ``{HEAD7}`` in ``path`` are filled in."""
    url = side.api + path.format(target=side.target, HEAD=side.head, HEAD7=side.head[:7])
    headers = {"Accept": accept} if accept else {}
    content = raw
    if body is not None:
        content = httpx.Request("POST", url, json=body).content
        headers["Content-Type"] = "application/json"
    resp = client.request(method, url, content=content, headers=headers)
    ctype = resp.headers.get("content-type", "").split(";")[0]
    decoded: Any = None
    if resp.content:
        decoded = resp.text
        if ctype == "application/json":
            try:
                decoded = resp.json()
            except ValueError:
                decoded = f"<not JSON> {resp.text}"
    return Answer(resp.status_code, ctype, decoded)


def normalise(value: Any, side: Side) -> Any:
    """``value`` with every installation-specific name or value made a placeholder."""
    if isinstance(value, dict):
        return {k: _normalise_field(k, v, side) for k, v in value.items()}
    if isinstance(value, list):
        items = [normalise(v, side) for v in value]
        if items and all(isinstance(i, dict) and "ID" in i for i in items):
            # Flux v1 lists workloads in map order, which varies between calls.
            items.sort(key=lambda i: str(i["ID"]))
        return items
    if isinstance(value, str):
        return _normalise_text(value, side)
    return value


def _normalise_field(key: str, value: Any, side: Side) -> Any:
    if key == "key" and isinstance(value, str) and value:
        kind = value.split()[0]
        return f"<{kind} public key>" + ("\n" if value.endswith("\n") else "")
    if key == "hash" and isinstance(value, str):
        if _MD5.match(value):
            return "<md5 hex pairs>"
        return "<sha256 base64>" if _SHA256.match(value) else value
    if key == GC_MARK and isinstance(value, str) and value.startswith("sha256."):
        return "sha256.<checksum of the sync set and object>"
    if key == "randomart" and isinstance(value, str) and value:
        lines = value.split("\n")
        return "\n".join([lines[0], f"<{len(lines) - 3} rows>", *lines[-2:]])
    return normalise(value, side)


def _normalise_text(text: str, side: Side) -> str:
    if side.head and text == side.head:
        return "<HEAD>"
    if _SHA.match(text):
        return "<other revision>"
    if _JOB_ID.match(text):
        return "<job id>"
    for real, placeholder in (
        (side.repo_url, "<repo url>"),
        (side.target, "<target>"),
        (side.namespace, "<namespace>"),
    ):
        if real:
            text = text.replace(real, placeholder)
    return text


def base64_yaml(value: Any, side: Side) -> Any:
    """An export body, base64 of YAML: ``{"<kind> <name>": [its top-level keys]}``.

    Anything else is returned unchanged.
    """
    if not isinstance(value, str):
        return value
    try:
        docs = [d for d in yaml.safe_load_all(base64.b64decode(value, validate=True)) if d]
    except (binascii.Error, yaml.YAMLError):
        return value
    if not docs or not all(isinstance(d, dict) for d in docs):
        return value
    return {
        f"{d.get('kind')} {_normalise_text(str(d.get('metadata', {}).get('name')), side)}": sorted(
            d
        )
        for d in docs
    }


def differences(ours: Any, theirs: Any, where: str = "$") -> list[str]:
    """Every difference a strict reader would see: keys, types and values."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        found: list[str] = []
        for key in sorted(set(ours) | set(theirs)):
            if key not in theirs:
                found.append(f"{where}.{key}: only ours ({_short(ours[key])})")
            elif key not in ours:
                found.append(f"{where}.{key}: only theirs ({_short(theirs[key])})")
            else:
                found += differences(ours[key], theirs[key], f"{where}.{key}")
        return found
    if _by_id(ours) is not None and _by_id(theirs) is not None:
        return _id_differences(_by_id(ours) or {}, _by_id(theirs) or {}, where)
    if isinstance(ours, list) and isinstance(theirs, list):
        if len(ours) != len(theirs):
            return [f"{where}: ours {len(ours)} items, theirs {len(theirs)} items"]
        return [d for i, pair in enumerate(zip(ours, theirs, strict=True))
                for d in differences(*pair, f"{where}[{i}]")]  # fmt: skip
    if type(ours) is not type(theirs) or ours != theirs:
        return [f"{where}: ours {_short(ours)}, theirs {_short(theirs)}"]
    return []


def _by_id(value: Any) -> dict[str, Any] | None:
    """A non-empty list of objects with distinct IDs (workloads), keyed by ID; else None."""
    if not isinstance(value, list) or not value:
        return None
    if not all(isinstance(item, dict) and isinstance(item.get("ID"), str) for item in value):
        return None
    keyed = {item["ID"]: item for item in value}
    return keyed if len(keyed) == len(value) else None


def _id_differences(ours: dict[str, Any], theirs: dict[str, Any], where: str) -> list[str]:
    found: list[str] = []
    for key in sorted(set(ours) | set(theirs)):
        if key not in theirs:
            found.append(f"{where}[ID={key}]: only ours")
        elif key not in ours:
            found.append(f"{where}[ID={key}]: only theirs")
        else:
            found += differences(ours[key], theirs[key], f"{where}[ID={key}]")
    return found


def compare_answers(ours: Answer, theirs: Answer) -> list[str]:
    """Status, content type and body differences of two normalised answers."""
    found = []
    if ours.status != theirs.status:
        found.append(f"status: ours {ours.status}, theirs {theirs.status}")
    if ours.content_type != theirs.content_type:
        found.append(f"content type: ours {ours.content_type!r}, theirs {theirs.content_type!r}")
    return found + differences(ours.body, theirs.body)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."

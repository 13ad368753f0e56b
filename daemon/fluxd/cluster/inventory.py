"""The record of what fluxd applied, kept in the cluster next to fluxd.

Garbage collection must know what we created without listing every object
of every kind in the cluster (what made Flux v1 slow on big clusters), and
drift detection needs the generation and resourceVersion each apply left.
Both live here, in ConfigMap ``<name>`` in fluxd's namespace, as gzipped
JSON in ``binaryData``.

A ConfigMap holds at most 1 MiB. When the compressed inventory is bigger
than one shard it is split over ``<name>`` (the head) and
``<name>-<serial>-1``, ``<name>-<serial>-2``... Each save has a new serial,
so its shards never overwrite the shards the current head points to; the
head is written last and names the serial and the shard count. A save that
stops half-way (the API server gone, fluxd killed) therefore leaves the
previous inventory whole and loadable, and only then are the shards of
older saves deleted. A head whose shards do not match (older layouts, a
hand edit) is detected by ``load`` instead of returning half an inventory.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fluxd.cluster.client import APPLY_PATCH, KubeClient
from fluxd.cluster.errors import api_error
from fluxd.cluster.objects import InventoryEntry
from fluxd.cluster.paths import api_path
from fluxd.errors import ClusterError
from fluxids import ObjectRef

log = logging.getLogger(__name__)

DATA_KEY = "inventory.json.gz"
SHARDS_ANNOTATION = "fluxd.io/inventory-shards"
SERIAL_ANNOTATION = "fluxd.io/inventory-serial"
#: On every shard: the head's name, to find the shards of older saves.
SHARD_OF_LABEL = "fluxd.io/inventory-of"
#: On a head whose shards are named by serial (without it: ``<name>-<i>``).
NAMING_ANNOTATION = "fluxd.io/inventory-shard-names"
_BY_SERIAL = "serial"
#: Compressed bytes per ConfigMap; base64 grows them by 4/3, staying under 1 MiB.
SHARD_BYTES = 700 * 1024
_FORMAT = 1
# An entry's row in the JSON: its ref spelled out, then what we recorded.
# Inventories written before refs existed have the same rows.
_REF_KEYS = ("id", "api_version", "kind", "name", "namespace")
_RECORD_KEYS = ("mark", "checksum", "generation", "resource_version")


@dataclass(frozen=True, slots=True)
class Inventory:
    """What fluxd applied, by id."""

    entries: Mapping[str, InventoryEntry] = field(default_factory=dict)

    @classmethod
    def of(cls, entries: Iterable[InventoryEntry]) -> Inventory:
        return cls({entry.id: entry for entry in entries})

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self.entries

    def merged(self, updates: Iterable[InventoryEntry], removed: Iterable[str] = ()) -> Inventory:
        """A new inventory with ``updates`` written over and ``removed`` dropped."""
        entries = dict(self.entries)
        entries.update((entry.id, entry) for entry in updates)
        for item_id in removed:
            entries.pop(item_id, None)
        return Inventory(entries)


def encode(inventory: Inventory) -> bytes:
    """Compressed JSON of the inventory (stable order, so equal ones compare equal)."""
    # A dict per entry by hand: dataclasses.asdict deep-copies every value and
    # was most of a save's time at 5,000 entries.
    rows = [_row(inventory.entries[key]) for key in sorted(inventory.entries)]
    text = json.dumps({"format": _FORMAT, "entries": rows}, separators=(",", ":"))
    return gzip.compress(text.encode(), compresslevel=6, mtime=0)


def decode(data: bytes) -> Inventory:
    try:
        document = json.loads(gzip.decompress(data))
        return Inventory.of(_entry(row) for row in document["entries"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ClusterError(
            f"the inventory is unreadable: {exc}",
            help="Delete the inventory ConfigMap; fluxd rebuilds it on the next sync, "
            "but cannot collect garbage for objects it no longer remembers.",
        ) from exc


def _row(entry: InventoryEntry) -> dict[str, Any]:
    ref = entry.ref
    row: dict[str, Any] = {
        "id": entry.id,
        "api_version": ref.api_version,
        "kind": ref.kind,
        "name": ref.name,
        "namespace": ref.namespace,
    }
    row.update((key, getattr(entry, key)) for key in _RECORD_KEYS)
    return row


def _entry(row: Mapping[str, Any]) -> InventoryEntry:
    """The entry of one row; ``KeyError``/``TypeError`` when it is not one."""
    unknown = set(row) - {*_REF_KEYS, *_RECORD_KEYS}
    if unknown:
        raise TypeError(f"unknown inventory fields {sorted(unknown)}")
    ref = ObjectRef(row.get("namespace", ""), row["kind"], row["name"], row["api_version"])
    return InventoryEntry(ref, **{key: row[key] for key in _RECORD_KEYS if key in row})


def split(data: bytes, size: int = SHARD_BYTES) -> list[bytes]:
    """Shards of at most ``size`` bytes; at least one, even when empty."""
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


class InventoryStore:
    """Loads and saves the inventory in ConfigMaps in one namespace."""

    def __init__(
        self, client: KubeClient, *, namespace: str, name: str, shard_bytes: int = SHARD_BYTES
    ) -> None:
        self._client = client
        self._namespace = namespace
        self._name = name
        self._shard_bytes = shard_bytes

    def _path(self, name: str = "") -> str:
        return api_path("v1", "configmaps", namespace=self._namespace, name=name)

    def _shard_name(self, index: int, serial: str = "") -> str:
        if index == 0:
            return self._name
        return f"{self._name}-{serial}-{index}" if serial else f"{self._name}-{index}"

    def load(self) -> Inventory:
        """The saved inventory; empty when none was saved yet."""
        head = self._read(self._name)
        if head is None:
            return Inventory()
        annotations = head.get("metadata", {}).get("annotations") or {}
        count = int(annotations.get(SHARDS_ANNOTATION, "1"))
        serial = annotations.get(SERIAL_ANNOTATION, "")
        named = serial if annotations.get(NAMING_ANNOTATION) == _BY_SERIAL else ""
        chunks = [_chunk(head)]
        for index in range(1, count):
            name = self._shard_name(index, named)
            shard = self._read(name)
            shard_annotations = (shard or {}).get("metadata", {}).get("annotations") or {}
            if shard is None or shard_annotations.get(SERIAL_ANNOTATION) != serial:
                raise ClusterError(
                    f"inventory shard {name} is missing or from another save",
                    help="Delete the inventory ConfigMaps; fluxd rebuilds the inventory on the "
                    "next sync, but cannot collect garbage for objects it no longer remembers.",
                )
            chunks.append(_chunk(shard))
        return decode(b"".join(chunks))

    def save(self, inventory: Inventory) -> None:
        """Write the inventory: new shards, then the head, then drop the old shards."""
        shards = split(encode(inventory), self._shard_bytes)
        serial = secrets.token_hex(8)
        for index in range(1, len(shards)):
            self._write(self._shard_name(index, serial), shards[index], serial, len(shards))
        self._write(self._name, shards[0], serial, len(shards))
        self._drop_stale(serial)

    def _read(self, name: str) -> dict[str, Any] | None:
        response = self._client.request("GET", self._path(name))
        if response.status == 404:
            return None
        if not response.ok:
            raise api_error(
                response.status, response.body, what=f"reading inventory ConfigMap {name}"
            )
        return response.json()

    def _write(self, name: str, data: bytes, serial: str, count: int) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": name,
                "namespace": self._namespace,
                "labels": {"app.kubernetes.io/managed-by": "fluxd", SHARD_OF_LABEL: self._name},
                "annotations": {
                    SERIAL_ANNOTATION: serial,
                    SHARDS_ANNOTATION: str(count),
                    NAMING_ANNOTATION: _BY_SERIAL,
                },
            },
            "binaryData": {DATA_KEY: base64.b64encode(data).decode()},
        }
        self._client.call(
            "PATCH",
            self._path(name),
            query=[("fieldManager", "fluxd"), ("force", "true")],
            body=body,
            content_type=APPLY_PATCH,
            what=f"saving inventory ConfigMap {name}",
        )

    def _legacy_shard_count(self) -> int:
        """How many ``<name>-<i>`` shards of the older layout exist (usually none)."""
        count = 0
        while self._read(self._shard_name(count + 1)) is not None:
            count += 1
        return count

    def _drop_stale(self, serial: str) -> None:
        """Delete the shards of older saves (a failure only leaves garbage behind)."""
        try:
            listed = self._client.call(
                "GET",
                self._path(),
                query=[("labelSelector", f"{SHARD_OF_LABEL}={self._name}")],
                what="listing inventory shards",
            )
        except ClusterError as exc:
            log.warning("could not list old inventory shards: %s", exc.message)
            return
        names = [str((item.get("metadata") or {}).get("name", "")) for item in listed["items"]]
        keep = f"{self._name}-{serial}-"
        stale = [n for n in names if n and n != self._name and not n.startswith(keep)]
        # Shards of the older layout, ``<name>-<i>``, carry no label.
        stale += [self._shard_name(i) for i in range(1, 1 + self._legacy_shard_count())]
        for name in stale:
            response = self._client.request("DELETE", self._path(name))
            if not response.ok and response.status != 404:
                log.warning("could not delete old inventory shard %s", name)


def _chunk(configmap: Mapping[str, Any]) -> bytes:
    encoded = (configmap.get("binaryData") or {}).get(DATA_KEY, "")
    return base64.b64decode(encoded)

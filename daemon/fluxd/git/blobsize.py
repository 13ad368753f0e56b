"""The size of a blob, read from its header without inflating its content.

Reading a blob through dulwich inflates all of it (and resolves its delta
chain) into memory. To refuse a huge file before that, the size is taken
from where git writes it down: the header of a packed entry (or, for a
delta, the first bytes of the delta, which state the size of the result),
or the first bytes of a loose object. Each costs one small read.
"""

from __future__ import annotations

import os
import zlib

from dulwich.object_store import BaseObjectStore, DiskObjectStore
from dulwich.objects import ObjectID, hex_to_filename
from dulwich.pack import OFS_DELTA, REF_DELTA

# Enough for any entry header (type and size, then a base offset or id) plus
# the compressed start of a delta; the two sizes it opens with fit in 20 bytes.
_WINDOW = 4096
_DELTA_HEADER = 20


def blob_size(store: BaseObjectStore, blob_id: ObjectID) -> int | None:
    """Bytes of ``blob_id``'s content, or None when it cannot be told cheaply.

    None means: not in this store's files (an in-memory store, an alternate)
    or a header that does not parse; the caller then reads the blob as usual,
    which reports a corrupt object in dulwich's words.
    """
    if not isinstance(store, DiskObjectStore):
        return None
    try:
        for pack in store.packs:
            try:
                offset = pack.index.object_offset(blob_id)
            except KeyError:
                continue
            return _packed_size(os.fspath(pack.data.path), offset, store.object_format.oid_length)
        return _loose_size(hex_to_filename(os.fspath(store.path), blob_id))
    except (OSError, ValueError, IndexError, zlib.error):
        return None


def _packed_size(path: str, offset: int, oid_length: int) -> int:
    with open(path, "rb") as pack:
        pack.seek(offset)
        window = pack.read(_WINDOW)
    type_num, size, pos = _entry_header(window)
    if type_num == OFS_DELTA:
        while window[pos] & 0x80:  # the base offset, a varint
            pos += 1
        pos += 1
    elif type_num == REF_DELTA:
        pos += oid_length
    else:
        return size
    delta = zlib.decompressobj().decompress(window[pos:], _DELTA_HEADER)
    _, at = _varint(delta, 0)  # the size of the base
    target, _ = _varint(delta, at)
    return target


def _entry_header(window: bytes) -> tuple[int, int, int]:
    """(type, size, where the rest starts) of a pack entry."""
    byte = window[0]
    type_num, size, shift, pos = (byte >> 4) & 0x07, byte & 0x0F, 4, 1
    while byte & 0x80:
        byte = window[pos]
        size |= (byte & 0x7F) << shift
        shift, pos = shift + 7, pos + 1
    return type_num, size, pos


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        shift, pos = shift + 7, pos + 1
        if not byte & 0x80:
            return value, pos


def _loose_size(path: str) -> int:
    with open(path, "rb") as loose:
        compressed = loose.read(_WINDOW)
    header = zlib.decompressobj().decompress(compressed, 64)  # b"blob <size>\0..."
    _, _, rest = header.partition(b" ")
    return int(rest.split(b"\0", 1)[0])

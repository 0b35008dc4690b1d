"""The provider's catalog snapshot format, in one place.

A snapshot is a zstd-compressed, single-file LMDB database with one keyspace:
the key is the item id as 8 bytes big-endian, the value one compact JSON
object per item. The JSON names inside a record are not public; the ones used
here (`id`, `name`, `product_type`, `price`, `subscriber_price`, `stock`,
`min_quantity`, `max_quantity`, `available`, `fields`) are assumed, and this
module is the only place that knows them as bytes. The sandbox writes
snapshots with `write_snapshot`; the gateway reads them with `read_snapshot`.
"""

from __future__ import annotations

import json
import struct
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import lmdb
import zstandard

_KEY = struct.Struct(">Q")
# An LMDB map must be sized up front; a snapshot of ~1.5 MB fits many times over.
_MAP_SIZE = 256 * 1024 * 1024


class SnapshotError(ValueError):
    """The bytes are not a readable catalog snapshot."""


def encode_key(item_id: int) -> bytes:
    return _KEY.pack(item_id)


def decode_key(key: bytes) -> int:
    if len(key) != _KEY.size:
        raise SnapshotError(f"catalog key of {len(key)} bytes; expected {_KEY.size}")
    return int(_KEY.unpack(key)[0])


def write_snapshot(records: Iterable[Mapping[str, Any]]) -> bytes:
    """Build the LMDB file in a temporary folder and return it zstd-compressed."""
    with tempfile.TemporaryDirectory(prefix="catalog-") as tmp:
        path = Path(tmp) / "catalog.lmdb"
        env = lmdb.open(str(path), subdir=False, map_size=_MAP_SIZE, lock=False)
        try:
            with env.begin(write=True) as txn:
                for record in records:
                    value = json.dumps(record, separators=(",", ":"), sort_keys=True)
                    txn.put(encode_key(int(record["id"])), value.encode())
            env.copy(str(Path(tmp) / "compact.lmdb"), compact=True)
        finally:
            env.close()
        raw = (Path(tmp) / "compact.lmdb").read_bytes()
    return zstandard.ZstdCompressor(level=19).compress(raw)


def read_snapshot(compressed: bytes) -> dict[int, dict[str, Any]]:
    """Decompress, open with a stock LMDB reader, and return the records by item id."""
    try:
        raw = zstandard.ZstdDecompressor().decompress(compressed, max_output_size=1 << 30)
    except zstandard.ZstdError as exc:
        raise SnapshotError(f"not zstd data: {exc}") from exc
    with tempfile.TemporaryDirectory(prefix="catalog-") as tmp:
        path = Path(tmp) / "catalog.lmdb"
        path.write_bytes(raw)
        try:
            env = lmdb.open(
                str(path), subdir=False, readonly=True, lock=False, map_size=max(len(raw), 1 << 20)
            )
        except lmdb.Error as exc:
            raise SnapshotError(f"not an LMDB file: {exc}") from exc
        try:
            records: dict[int, dict[str, Any]] = {}
            with env.begin() as txn:
                for key, value in txn.cursor():
                    item_id = decode_key(bytes(key))
                    try:
                        record = json.loads(bytes(value))
                    except ValueError as exc:
                        raise SnapshotError(f"item {item_id}: value is not JSON") from exc
                    if not isinstance(record, dict):
                        raise SnapshotError(f"item {item_id}: value is not a JSON object")
                    records[item_id] = record
            return records
        finally:
            env.close()

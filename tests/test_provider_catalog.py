"""The catalog snapshots: zstd-compressed single-file LMDB, global and personal."""

from __future__ import annotations

import json
import struct
from decimal import Decimal
from http import HTTPStatus
from pathlib import Path
from typing import Any

import lmdb
import zstandard

from generated.api.catalog import download_catalog, download_personal_catalog
from generated.models import CatalogItem
from generated.types import File
from tests.conftest import Provider


def open_with_stock_lmdb(data: bytes, tmp_path: Path) -> dict[int, dict[str, Any]]:
    """Read a snapshot as any consumer would: decompress, then a plain lmdb reader."""
    path = tmp_path / "catalog.lmdb"
    path.write_bytes(zstandard.ZstdDecompressor().decompress(data, max_output_size=1 << 28))
    env = lmdb.open(str(path), subdir=False, readonly=True, lock=False)
    try:
        with env.begin() as txn:
            records = {}
            for key, value in txn.cursor():
                assert len(key) == 8
                (item_id,) = struct.unpack(">Q", key)
                records[item_id] = json.loads(value)
                assert records[item_id]["id"] == item_id
            return records
    finally:
        env.close()


async def download(provider: Provider, client_id: str | None = None) -> tuple[int, bytes]:
    client = provider.anonymous()
    if client_id is None:
        answer = await download_catalog.asyncio_detailed(client=client)
    else:
        answer = await download_personal_catalog.asyncio_detailed(client_id, client=client)
    if answer.status_code == HTTPStatus.OK:
        assert isinstance(answer.parsed, File)
        return 200, answer.parsed.payload.read()
    return answer.status_code, b""


async def test_global_snapshot_opens_with_a_stock_lmdb_reader(
    provider: Provider, tmp_path: Path
) -> None:
    status, data = await download(provider)
    assert status == 200 and data[:4] == b"\x28\xb5\x2f\xfd"  # zstd frame magic
    records = open_with_stock_lmdb(data, tmp_path)
    items = {item_id: CatalogItem.from_dict(r) for item_id, r in records.items()}
    kinds = {item.product_type.value for item in items.values()}
    assert kinds == {"key", "topup", "service"}
    assert items[1001].stock is None and items[1002].stock == 3 and items[1003].stock == 0
    assert items[1004].available is False
    assert (items[2001].min_quantity, items[2001].max_quantity) == (5, 500)
    region = next(f for f in records[2001]["fields"] if f["name"] == "region")
    assert region["type"] == "choice"
    assert region["options"][0] == {"id": 1, "name": "Europe"}
    assert {f["type"] for f in records[3001]["fields"]} == {"text", "choice"}
    assert records[1001]["price"] == 9.9 and records[1001]["subscriber_price"] == 9.5


async def test_personal_snapshot_carries_the_accounts_prices(
    provider: Provider, tmp_path: Path
) -> None:
    status, data = await download(provider, "client_partner")
    assert status == 200
    records = open_with_stock_lmdb(data, tmp_path)
    assert records[1001]["price"] == 8.75
    assert records[1002]["price"] == 19.5  # no personal price: the global one


async def test_account_without_personal_prices_gets_404(provider: Provider) -> None:
    assert (await download(provider, "client_main"))[0] == 404
    assert (await download(provider, "client_nobody"))[0] == 404


async def test_snapshot_follows_stock_changes(provider: Provider, tmp_path: Path) -> None:
    provider.sandbox.update_item(1002, stock=1)
    provider.sandbox.set_personal_prices("main", {1001: Decimal("7.00")})
    _, data = await download(provider)
    assert open_with_stock_lmdb(data, tmp_path)[1002]["stock"] == 1
    status, personal = await download(provider, "client_main")
    assert status == 200
    (tmp_path / "p").mkdir()
    assert open_with_stock_lmdb(personal, tmp_path / "p")[1001]["price"] == 7

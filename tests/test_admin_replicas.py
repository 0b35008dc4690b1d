"""Two real `gateway serve` processes on one PostgreSQL database: a change made through one
is in force on the other within a second (LISTEN/NOTIFY), for create, policy, revoke and
disable."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import httpx

from gateway.testing import serve_config
from tests.conftest import PG_URL
from tests.processes import gateway_process, url_in

ADMIN = "gwt_replicas_admin_token_0000000000000000000"
LIMITS = '[plugins.limits]\nmax_order = { main = "50.00" }\n'


async def until(check: Callable[[], Awaitable[bool]], within: float = 1.0) -> float:
    """Seconds until `check()` holds; fails past `within`."""
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < within, "not seen on the other replica in time"
    return time.monotonic() - started


async def test_a_change_on_one_replica_is_in_force_on_the_other_within_a_second(
    tmp_path: Path,
) -> None:
    from tests.processes import sandbox_process

    schema = "t_" + uuid.uuid4().hex[:16]
    storage = f"{PG_URL}?schema={schema}"
    plugins = ["validation", "limits", "audit"]
    text, env = serve_config("", storage, ADMIN, role="admin", plugins=plugins, extra=LIMITS)
    try:
        with sandbox_process("--seed", "0", "--fulfilment-delay", "3600") as provider:
            paths = []
            for name in ("one", "two"):
                path = tmp_path / f"{name}.toml"
                path.write_text(text.replace('base_url = ""', f'base_url = "{provider}"'))
                paths.append(path)
            with (
                gateway_process("serve", "--config", str(paths[0]), env=env) as one,
                gateway_process("serve", "--config", str(paths[1]), env=env) as two,
            ):
                first, second = url_in(one[0]), url_in(two[0])
                admin = {"Authorization": f"Bearer {ADMIN}"}
                async with httpx.AsyncClient(headers=admin, timeout=10, trust_env=False) as http:
                    seen = await _changes(http, first, second)
    finally:
        conn = await asyncpg.connect(PG_URL)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()
    assert set(seen) == {"create", "policy", "revoke", "disable"}
    assert all(0 <= s < 1.0 for s in seen.values()), seen


async def _changes(http: httpx.AsyncClient, first: str, second: str) -> dict[str, float]:
    seen: dict[str, float] = {}
    made = await http.post(f"{first}/v1/admin/tenants", json={"name": "team", "accounts": ["main"]})
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    team = {"Authorization": f"Bearer {token['token']}"}

    async def status(method: str, path: str, headers: dict[str, str], **kw: object) -> int:
        answer = await http.request(method, second + path, headers=headers, **kw)  # type: ignore[arg-type]
        return answer.status_code

    async def lists() -> bool:
        return await status("GET", "/v1/orders", team) == 200

    seen["create"] = await until(lists)
    over = {"item_id": 1001, "quantity": 6}  # 59.40, over the 50.00 maximum
    assert await status("POST", "/v1/orders", team, json=over) == 403
    shadow = await http.put(
        f"{first}/v1/admin/tenants/team/policies/limits", json={"mode": "shadow"}
    )
    assert shadow.status_code == 200, shadow.text

    async def passes() -> bool:
        return await status("POST", "/v1/orders", team, json=over) == 201

    seen["policy"] = await until(passes)
    spare = await http.post(f"{first}/v1/admin/tenants/team/tokens", json={"label": "spare"})
    assert spare.status_code == 201
    revoked = await http.delete(f"{first}/v1/admin/tenants/team/tokens/{token['id']}")
    assert revoked.status_code == 204

    async def refused() -> bool:
        return await status("GET", "/v1/orders", team) == 401

    seen["revoke"] = await until(refused)
    spare_auth = {"Authorization": f"Bearer {spare.json()['token']}"}
    assert await status("GET", "/v1/orders", spare_auth) == 200
    off = await http.patch(f"{first}/v1/admin/tenants/team", json={"disabled": True})
    assert off.status_code == 200

    async def disabled() -> bool:
        return await status("GET", "/v1/orders", spare_auth) == 403

    seen["disable"] = await until(disabled)
    return seen

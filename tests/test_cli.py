"""The `gateway` command: config check, tenants, serve and demo as real processes."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from gateway.admin.commands import local_admin
from gateway.cli import main
from gateway.config import load
from gateway.sandbox import Faults, demo_accounts
from gateway.state import DISPATCHER, RESOLVER
from gateway.tenants import TenantDirectory
from gateway.testing import TEST_SEAL_KEY, plugin_harness
from tests.processes import GATEWAY, ROOT, gateway_process, sandbox_process, url_in

EXAMPLE = ROOT / "gateway.example.toml"
SECRETS = {
    "MAIN_API_KEY": demo_accounts(0)[0].api_keys[0],
    "MAIN_WEBHOOK_SECRET": demo_accounts(0)[0].webhook_secret,
    "PARTNER_API_KEY": demo_accounts(0)[1].api_keys[0],
    "PARTNER_WEBHOOK_SECRET": demo_accounts(0)[1].webhook_secret,
}


@pytest.fixture(autouse=True)
def _seal_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every gateway seals codes at rest; its keys come from here unless the config says."""
    monkeypatch.setenv("GATEWAY_SEAL_KEYS", TEST_SEAL_KEY)


@pytest.fixture
def example(tmp_path: Path) -> Path:
    copy = tmp_path / "gateway.toml"
    shutil.copy(EXAMPLE, copy)
    return copy


def test_config_check_accepts_the_example_and_prints_no_secret(
    example: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    assert main(["config", "check", str(example)]) == 0
    out = capsys.readouterr().out
    assert "ok" in out and "api_key from env MAIN_API_KEY" in out
    assert not any(value in out for value in SECRETS.values())


def test_config_check_names_a_missing_secret(
    example: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in SECRETS:
        monkeypatch.delenv(name, raising=False)
    assert main(["config", "check", str(example)]) == 1
    assert "accounts.main.api_key: environment variable MAIN_API_KEY is not set" in (
        capsys.readouterr().err
    )


def test_config_check_names_missing_seal_keys_and_how_to_make_one(
    example: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GATEWAY_SEAL_KEYS")
    assert main(["config", "check", str(example)]) == 1
    err = capsys.readouterr().err
    assert "storage.seal_keys: environment variable GATEWAY_SEAL_KEYS is not set" in err
    assert "gateway seal new-key" in err


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (('currency = "EUR"', 'currency = "euro"'), "accounts.main.currency"),
        (('api_key = { env = "MAIN_API_KEY" }', 'api_key = "ak_live"'), "accounts.main.api_key"),
        (('role = "tenant"', 'role = "king"'), "tenants.shop.role"),
        (('default_account = "main"', 'default_account = "other"'), "tenants.shop.default_account"),
        (("port = 8080", "port = 99999"), "server.port"),
        (('url = "sqlite:///gateway.sqlite3"', 'url = "mysql://x"'), "storage.url"),
        (("timeout_seconds = 10", "timeout_seconds = 10\nretries = 3"), "accounts.main.retries"),
        (
            ('accounts = ["main", "partner"]', 'accounts = ["main", "nope"]'),
            "tenants.shop.accounts",
        ),
        (  # a plugin's own settings: refused by check exactly as by serve
            ('balance_floor = { main = "50.00" }', 'balance_floor = { main = "lots" }'),
            "plugins.limits.balance_floor.main",
        ),
        (
            (
                'enabled = ["validation", "limits", "audit"]',
                'enabled = ["validation", "limits", "audit", "nope"]',
            ),
            "plugins.enabled",
        ),
    ],
)
def test_config_check_names_the_wrong_key(
    example: Path, capsys: pytest.CaptureFixture[str], change: tuple[str, str], key: str
) -> None:
    text = example.read_text()
    assert change[0] in text
    example.write_text(text.replace(change[0], change[1], 1))
    assert main(["config", "check", str(example)]) == 1
    err = capsys.readouterr().err
    assert f"config error: {key}:" in err
    assert "ak_live" not in err


def _directory(example: Path) -> TenantDirectory:
    """The tenants a gateway on this config's database would load now."""

    async def read() -> TenantDirectory:
        async with local_admin(load(example), seed=False) as admin:
            directory = TenantDirectory()
            directory.load((await admin.snapshot()).tenants.values())
            return directory

    return asyncio.run(read())


def test_tenants_add_rotate_and_list(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = example.read_text()
    assert main(["tenants", "add", "games", "--config", str(example), "--accounts", "main"]) == 0
    token = capsys.readouterr().out.strip()
    assert re.fullmatch(r"gwt_[\w-]{43}", token)
    assert example.read_text() == before  # the database holds tenants now, not the file
    tenant = _directory(example).authenticate(token)
    assert tenant is not None and tenant.name == "games" and tenant.accounts == ("main",)

    assert main(["tenants", "rotate-token", "games", "--config", str(example)]) == 0
    second = capsys.readouterr().out.strip()
    directory = _directory(example)
    assert directory.authenticate(token) and directory.authenticate(second)
    assert main(["tenants", "rotate-token", "games", "--config", str(example), "--drop-old"]) == 0
    third = capsys.readouterr().out.strip()
    directory = _directory(example)
    assert directory.authenticate(token) is None and directory.authenticate(second) is None
    assert directory.authenticate(third)

    assert main(["tenants", "list", "--config", str(example)]) == 0
    listing = capsys.readouterr().out
    assert "games: tenant, accounts main (default main), 1 token(s)" in listing
    assert "shop: tenant" in listing  # the file's, applied on first use
    assert third not in listing
    assert main(["tenants", "show", "games", "--config", str(example)]) == 0
    shown = capsys.readouterr().out
    assert "'rotated'" in shown and third not in shown

    assert main(["tenants", "disable", "games", "--config", str(example)]) == 0
    assert "disabled" in capsys.readouterr().out
    assert _directory(example).authenticate(third).disabled  # type: ignore[union-attr]
    policy = ["tenants", "policy", "games", "limits", "--config", str(example)]
    assert main([*policy, "--mode", "shadow"]) == 0
    assert '"mode": "shadow"' in capsys.readouterr().out
    assert main([*policy, "--mode", "enforce", "--settings", '{"max_order": 5}']) == 1
    assert "settings.max_order" in capsys.readouterr().err

    assert main(["tenants", "add", "games", "--config", str(example), "--accounts", "main"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["tenants", "add", "x", "--config", str(example), "--accounts", "zzz"]) == 1
    assert "no account named 'zzz'" in capsys.readouterr().err
    assert main(["tenants", "list", "--url", "http://127.0.0.1:9"]) == 1
    assert "GATEWAY_ADMIN_TOKEN" in capsys.readouterr().err


def test_config_diff_and_apply_sync_the_file_into_the_database(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "diff", str(example)]) == 0
    out = capsys.readouterr().out
    assert "+ tenant shop: tenant, accounts main, partner" in out and "+ token tok_" in out
    assert main(["config", "apply", str(example)]) == 0
    capsys.readouterr()
    assert main(["config", "diff", str(example)]) == 0
    assert capsys.readouterr().out == ""
    assert main(["tenants", "add", "web", "--config", str(example), "--accounts", "main"]) == 0
    capsys.readouterr()
    text = example.read_text()
    text = text.replace('accounts = ["main", "partner"]', 'accounts = ["main"]', 1)
    text += '\n[tenants.shop.policies.limits]\nmode = "shadow"\n'
    example.write_text(text)
    assert main(["config", "diff", str(example)]) == 0
    out = capsys.readouterr().out
    assert "~ tenant shop: accounts ('main', 'partner') -> ('main',)" in out
    assert "~ policy limits of shop: shadow" in out and "web" not in out  # not without --prune
    assert main(["config", "diff", str(example), "--prune"]) == 0
    assert "- tenant web" in capsys.readouterr().out
    assert main(["config", "apply", str(example), "--prune"]) == 0
    capsys.readouterr()
    directory = _directory(example)
    assert sorted(directory.names) == ["shop"]
    assert directory.by_name["shop"].accounts == ("main",)
    assert main(["config", "diff", str(example), "--prune"]) == 0
    assert capsys.readouterr().out == ""


def test_serve_runs_the_gateway_from_its_config_in_front_of_a_sandbox(
    example: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["tenants", "add", "games", "--config", str(example), "--accounts", "main"]) == 0
    token = capsys.readouterr().out.strip()
    with sandbox_process("--seed", "0", "--fulfilment-delay", "0.5") as provider:
        text = example.read_text().replace("http://127.0.0.1:8081", provider)
        example.write_text(text.replace("port = 8080", "port = 0"))
        with gateway_process("serve", "--config", str(example), env=SECRETS) as printed:
            base = url_in(printed[0])
            headers = {"Authorization": f"Bearer {token}"}
            placed = httpx.post(f"{base}/v1/orders", json={"item_id": 1001}, headers=headers)
            assert placed.status_code == 201, placed.text
            assert placed.json()["price"] == "9.90"
            listed = httpx.get(f"{base}/v1/orders", headers=headers).json()
            assert [o["id"] for o in listed["data"]] == [placed.json()["id"]]
            assert httpx.get(f"{base}/readyz").status_code == 200
            # the CLI as a tenant, through the generated SDK
            monkeypatch.setenv("GATEWAY_TOKEN", token)
            order_id = placed.json()["id"]
            assert main(["orders", "show", order_id, "--url", base]) == 0
            shown = json.loads(capsys.readouterr().out)
            assert shown["id"] == order_id and shown["price"] == "9.90"
            assert main(["orders", "decisions", order_id, "--url", base]) == 0
            trace = capsys.readouterr().out.splitlines()
            assert "validation" in trace[0] and "gateway_validate_order" in trace[0]
            assert "allowed" in trace[0] and "enforce" in trace[0]
            assert any("limits" in line and "reserved" in line for line in trace)
            assert main(["orders", "show", str(uuid.uuid4()), "--url", base]) == 1
            assert "error: not_found: no order" in capsys.readouterr().err
    assert (tmp_path / "gateway.sqlite3").exists()


def test_demo_prints_a_curl_line_that_places_an_order() -> None:
    with gateway_process("demo", "--port", "0", "--sandbox-port", "0", lines=6) as printed:
        curl = next(line for line in printed if "curl -s -X POST" in line)
        url = re.search(r"POST (\S+)", curl).group(1)  # type: ignore[union-attr]
        token = re.search(r"Bearer (\S+)'", curl).group(1)  # type: ignore[union-attr]
        body = re.search(r"-d '(.+)'", curl).group(1)  # type: ignore[union-attr]
        answer = httpx.post(
            url,
            content=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        assert answer.status_code == 201, answer.text
        assert answer.json()["status"] == "pending"


def test_plugins_lists_what_a_config_loads_in_calling_order(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = example.read_text().replace(
        'enabled = ["validation", "limits", "audit"]',
        'enabled = ["allowlist", "validation", "limits", "audit"]\n'
        '[plugins.allowlist]\nshop = [1001]\ntenants = ["shop"]',
    )
    example.write_text(text)
    assert main(["plugins", "--config", str(example)]) == 0
    out = capsys.readouterr().out
    names = re.findall(r"^\d+\. (\w+) ", out, flags=re.MULTILINE)
    assert names == ["allowlist", "validation", "limits", "audit"]
    assert "1. allowlist (gateway_allowlist:AllowlistPlugin; tenants: shop)" in out
    assert "     gateway_reserve" in out


def test_plugins_names_a_bad_settings_key(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example.write_text(example.read_text().replace('main = "500.00"', "main = 500.5"))
    assert main(["plugins", "--config", str(example)]) == 1
    assert "config error: plugins.limits.max_order.main:" in capsys.readouterr().err


async def test_deliveries_list_and_replay_for_operators(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'ops.sqlite3'}"
    async with plugin_harness({}, storage_url=storage) as gw:
        await gw.call("POST", "/v1/subscriptions", json={"url": "http://127.0.0.1:9/refused"})
        await gw.place(item_id=1001)
        await gw.app[DISPATCHER].run_due()  # connection refused: one failed attempt
    config = tmp_path / "ops.toml"
    config.write_text(
        f'[storage]\nurl = "{storage}"\n[accounts.main]\nbase_url = "http://127.0.0.1:9"\n'
        'client_id = "c"\ncurrency = "EUR"\napi_key = { env = "X" }\n'
        'webhook_secret = { env = "X" }\n'
    )

    def run(*argv: str) -> str:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(list(argv)) == 0
        return out.getvalue()

    listed = await asyncio.to_thread(run, "deliveries", "list", "--config", str(config))
    (line,) = listed.splitlines()
    assert "pending" in line and "attempts_made=1" in line and "order.accepted" in line
    assert re.search(r"next_attempt=\d{4}-\d\d-\d\dT[\d:.]+Z ", line), line
    message_id = line.split()[0]
    replayed = await asyncio.to_thread(
        run, "deliveries", "replay", "--config", str(config), message_id
    )
    assert replayed.startswith("1 message(s) queued again")
    after = await asyncio.to_thread(run, "deliveries", "list", "--config", str(config))
    assert "attempts_made=0" in after


async def test_orders_unresolved_and_resolve_for_operators(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = f"sqlite:///{tmp_path / 'ops.sqlite3'}"
    async with plugin_harness(storage_url=storage) as gw:
        await gw.call("GET", "/v1/accounts/main/balance")  # the token first
        gw.sandbox.set_faults("main", Faults(error_rate=1.0))  # every answer a 503
        unknown = (await gw.place(item_id=1001)).body
        assert unknown["status"] == "unknown"
        main_account = gw.sandbox.account("main")
        key = next(k for k, active in main_account.api_keys.items() if active)
        config = tmp_path / "ops.toml"
        config.write_text(
            f'[storage]\nurl = "{storage}"\n[accounts.main]\nbase_url = "{gw.url}"\n'
            'client_id = "c"\ncurrency = "EUR"\napi_key = { env = "OPS_KEY" }\n'
            'webhook_secret = { env = "OPS_SECRET" }\n'
        )
        monkeypatch.setenv("OPS_KEY", key)
        monkeypatch.setenv("OPS_SECRET", main_account.webhook_secret)

        def run(*argv: str, code: int = 0) -> str:
            out = io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
                assert main(list(argv)) == code
            return out.getvalue()

        listed = await asyncio.to_thread(run, "orders", "unresolved", "--config", str(config))
        (line,) = listed.splitlines()
        assert line.startswith(unknown["id"]) and "resending" in line and "reference=gw_" in line
        as_json = await asyncio.to_thread(
            run, "orders", "unresolved", "--config", str(config), "--json"
        )
        assert json.loads(as_json)["state"] == "resending"
        refused = await asyncio.to_thread(
            run, "orders", "resolve", unknown["id"], "--not-placed", "--config", str(config),
            code=1,
        )  # fmt: skip
        assert refused == ""  # still being re-sent: not the operator's yet
        gw.clock.advance(3601)  # past the re-send window
        await gw.app[RESOLVER].run_once()
        as_json = await asyncio.to_thread(
            run, "orders", "unresolved", "--config", str(config), "--json"
        )
        assert json.loads(as_json)["state"] == "operator"
        resolved = await asyncio.to_thread(
            run, "orders", "resolve", unknown["id"], "--not-placed", "--operator", "alice",
            "--config", str(config),
        )  # fmt: skip
        assert resolved.strip() == f"{unknown['id']}: failed (NOT_PLACED)"
        again = await asyncio.to_thread(
            run, "orders", "resolve", unknown["id"], "--not-placed", "--config", str(config),
            code=1,
        )  # fmt: skip
        assert again == ""
        assert await asyncio.to_thread(run, "orders", "unresolved", "--config", str(config)) == ""
        order = (await gw.call("GET", f"/v1/orders/{unknown['id']}")).body
        assert order["status"] == "failed" and order["error"] == "NOT_PLACED"
        audit = (await gw.call("GET", "/v1/audit?decision=resolved", "ops")).body["data"]
        assert sorted(r["plugin"] for r in audit) == ["gateway", "operator:alice"]  # window, alice


def test_version_and_the_environment_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and re.fullmatch(
        r"gateway \d+\.\d+\.\d+\n", capsys.readouterr().out
    )
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for variable in ("GATEWAY_CONFIG", "GATEWAY_LOG_LEVEL", "GATEWAY_PORT", "GATEWAY_SANDBOX_PORT"):
        assert variable in text
    assert "exit status" in text


def test_gateway_config_names_the_file_for_every_command(
    example: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GATEWAY_CONFIG", str(example))
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    assert main(["config", "check"]) == 0
    assert main(["tenants", "list"]) == 0
    assert "shop: tenant" in capsys.readouterr().out


def test_common_failures_are_one_line_with_the_way_out(
    tmp_path: Path,
    example: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["serve", "--config", str(tmp_path / "missing.toml")]) == 1
    err = capsys.readouterr().err.strip()
    assert "cp gateway.example.toml gateway.toml" in err and len(err.splitlines()) == 1
    for name in SECRETS:
        monkeypatch.delenv(name, raising=False)
    assert main(["serve", "--config", str(example)]) == 1
    err = capsys.readouterr().err.strip()
    assert "MAIN_API_KEY is not set" in err and "--print-env" in err
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    example.write_text(
        example.read_text().replace(
            'url = "sqlite:///gateway.sqlite3"', 'url = "postgresql://127.0.0.1:9/x"'
        )
    )
    assert main(["serve", "--config", str(example)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("storage unavailable:") and len(err.splitlines()) == 1


def test_a_busy_port_says_so_in_one_line() -> None:
    with sandbox_process() as provider:
        port = provider.rsplit(":", 1)[1]
        done = subprocess.run(
            [*GATEWAY, "sandbox", "--port", port], capture_output=True, text=True, timeout=30
        )
    assert done.returncode == 1
    assert done.stderr.strip().startswith(f"cannot listen on 127.0.0.1:{port}: it is in use")
    assert len(done.stderr.strip().splitlines()) == 1


def test_the_sandbox_prints_the_exports_and_points_webhooks_at_a_gateway(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["sandbox", "--print-env"]) == 0
    exports = capsys.readouterr().out.splitlines()
    assert exports == [f"export {name}={value}" for name, value in SECRETS.items()]
    with sandbox_process("--gateway-url", "http://127.0.0.1:9999") as provider:
        accounts = httpx.get(f"{provider}/sandbox/accounts").json()
    urls = {a["name"]: a["webhook_url"] for a in accounts["accounts"]}
    assert urls == {
        "main": "http://127.0.0.1:9999/provider-webhooks/main",
        "partner": "http://127.0.0.1:9999/provider-webhooks/partner",
    }

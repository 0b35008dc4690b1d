"""The plugin guide documents every hook with its exact signature, and the example plugin loads."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from unittest.mock import ANY

from gateway.hooks import specs as hookspecs
from gateway.hooks.docs import hooks
from gateway.hooks.host import GATING
from gateway.plugin_api import ENTRY_POINT_GROUP
from tests.conftest import GatewayFactory
from tests.processes import ROOT

GUIDE = (ROOT / "docs" / "plugins.md").read_text()


def test_every_hook_is_in_the_guide_with_its_exact_signature_and_an_example() -> None:
    for name, signature in hooks():
        section = GUIDE.split(f"### `{name}`\n", 1)
        assert len(section) == 2, f"docs/plugins.md has no section for {name}"
        body = section[1].split("\n### ", 1)[0]
        assert f"    {signature}\n" in body, f"{name}: signature differs from the hookspec"
        assert "When:" in body and "```python" in body, f"{name}: say when it runs, with an example"


def test_every_hook_has_a_docstring_and_the_gating_ones_are_named() -> None:
    names = [name for name, _ in hooks()]
    assert len(names) == 15
    for name in names:
        assert (getattr(hookspecs, name).__doc__ or "").strip(), name
    assert set(GATING) <= set(names)


def test_built_ins_and_the_example_register_through_the_entry_point_group() -> None:
    found = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    assert found["validation"] == "order_gateway_plugins.validation:ValidationPlugin"
    assert found["limits"] == "order_gateway_plugins.limits:LimitsPlugin"
    assert found["audit"] == "order_gateway_plugins.audit:AuditPlugin"
    assert found.get("allowlist") == "gateway_allowlist:AllowlistPlugin", (
        "install the example plugin: pip install -e ./examples/gateway-allowlist"
    )


async def test_the_installed_example_plugin_runs_by_its_config_name(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(
        plugins={"enabled": ["validation", "allowlist", "audit"], "allowlist": {"shop": [1001]}}
    )
    assert (await gateway.place(item_id=1001)).status == 201
    refused = await gateway.place(item_id=1002)
    assert refused.status == 403
    assert refused.body["error"]["details"] == {
        "plugin": "allowlist",
        "field": "item_id",
        "order_id": ANY,
    }


def test_importing_the_plugin_surface_does_not_load_the_provider_client() -> None:
    code = (
        "import sys, gateway.plugin_api, order_gateway_plugins.audit,"
        " order_gateway_plugins.limits, order_gateway_plugins.validation;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'generated'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_every_field_of_every_object_a_hook_receives_is_in_the_guide() -> None:
    from dataclasses import fields

    from gateway import plugin_api

    section = GUIDE.split("## What the hooks receive", 1)[1].split("\n## ", 1)[0]
    for name in (
        "OrderIntent", "PlaceRequest", "Tenant", "CatalogItem", "Settlement", "Rejection",
        "Resolution", "OrderRecord", "ProviderOrder", "PluginContext", "AdminChange",
    ):  # fmt: skip
        assert f"`{name}`" in section, name
        for field in fields(getattr(plugin_api, name)):
            assert f"`{field.name}`" in section or f"`{field.name}(" in section, (name, field.name)

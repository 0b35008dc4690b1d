"""sdk/python/gateway_client/ is exactly what the pinned generator makes from the gateway's own
document, less its operator operations: never edited by hand (`gateway codegen --target sdk`
regenerates it)."""

from __future__ import annotations

import copy
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway import codegen

REGENERATE = "regenerate it: gateway codegen --target sdk"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    into = tmp_path_factory.mktemp("codegen-sdk") / "gateway_client"
    codegen.generate_sdk(into)
    return into


def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(codegen.SDK_SPEC.read_text())
    return loaded


def operations(doc: dict[str, Any]) -> dict[str, tuple[str, str, list[str]]]:
    """operationId: (method, path, tags)."""
    return {
        op["operationId"]: (method, path, op.get("tags", []))
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in codegen.METHODS
    }


def test_committed_sdk_matches_a_fresh_generation(fresh: Path) -> None:
    assert codegen.differences(fresh, codegen.SDK_TARGET) == [], REGENERATE


def test_the_sdk_has_every_tenant_operation_and_no_operator_one(fresh: Path) -> None:
    ops = operations(document())
    tenant = {
        (tags[0], op_id)
        for op_id, (_, _, tags) in ops.items()
        if not codegen.OPERATOR_TAGS & set(tags)
    }
    generated = {
        (module.parent.name, module.stem)
        for module in (fresh / "api").glob("*/*.py")
        if module.name != "__init__.py"
    }
    assert generated == tenant
    assert {tag for tag, _ in generated} == {"orders", "subscriptions", "catalog", "accounts"}
    urls = {
        url
        for module in (fresh / "api").rglob("*.py")
        for url in re.findall(r'"url": "([^"]+)"', module.read_text())
    }
    assert urls and all(url.startswith("/v1/") for url in urls)
    assert not [u for u in urls if u.startswith(("/v1/admin/", "/v1/audit"))]


def test_every_operation_has_one_declared_tag() -> None:
    doc = document()
    declared = {tag["name"] for tag in doc["tags"]}
    assert codegen.OPERATOR_TAGS <= declared
    untagged = {
        op_id: tags
        for op_id, (_, _, tags) in operations(doc).items()
        if len(tags) != 1 or tags[0] not in declared
    }
    assert untagged == {}


def test_operator_routes_are_tagged_so(fresh: Path) -> None:
    """The operator's routes the README names are left out by their tags."""
    for op_id, (_, path, tags) in operations(document()).items():
        operator = path.startswith(("/v1/admin/", "/v1/audit", "/provider-webhooks/")) or path in (
            "/healthz", "/readyz", "/metrics", "/openapi.json",
        )  # fmt: skip
        if operator:
            assert codegen.OPERATOR_TAGS & set(tags), op_id


def test_a_new_admin_path_is_left_out_by_its_tag(tmp_path: Path) -> None:
    """A future operator route tagged `admin`, with a schema of its own, changes nothing."""
    doc = document()
    doc["paths"]["/v1/admin/widgets"] = {
        "get": {
            "operationId": "list_widgets",
            "tags": ["admin"],
            "responses": {
                "200": {
                    "description": "Widgets.",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Widget"}}
                    },
                }
            },
        }
    }
    doc["components"]["schemas"]["Widget"] = {
        "type": "object",
        "properties": {"order": {"$ref": "#/components/schemas/Order"}},
    }
    filtered = codegen.tenant_document(doc)
    assert "/v1/admin/widgets" not in filtered["paths"]
    assert "Widget" not in filtered["components"]["schemas"]
    assert "Order" in filtered["components"]["schemas"]  # still used by tenant operations
    assert filtered == codegen.tenant_document(document())

    spec = tmp_path / "tenant-api.json"  # JSON is YAML, and keeps the order of keys
    spec.write_text(json.dumps(doc))
    into = tmp_path / "gateway_client"
    codegen.generate_sdk(into, spec)
    assert codegen.differences(into, codegen.SDK_TARGET) == []


@pytest.mark.parametrize("tags", [None, [], ["admn"]])
def test_an_untagged_or_misspelt_operation_stops_the_generation(tags: list[str] | None) -> None:
    """It would otherwise land in the SDK, whatever it is."""
    doc = copy.deepcopy(document())
    operation = doc["paths"]["/v1/admin/orders/unresolved"]["get"]
    if tags is None:
        del operation["tags"]
    else:
        operation["tags"] = tags
    with pytest.raises(codegen.CodegenError, match="list_unresolved_orders"):
        codegen.tenant_document(doc)


def test_a_document_change_without_regeneration_is_drift(tmp_path: Path) -> None:
    spec = tmp_path / "tenant-api.yaml"
    original = codegen.SDK_SPEC.read_text()
    changed = original.replace(
        '        merchant_order_id: {type: [string, "null"]}\n        created_at:',
        '        merchant_order_id: {type: [string, "null"]}\n'
        '        note: {type: [string, "null"]}\n        created_at:',
        1,
    )
    assert changed != original
    spec.write_text(changed)
    into = tmp_path / "gateway_client"
    codegen.generate_sdk(into, spec)
    assert codegen.differences(into, codegen.SDK_TARGET) == ["differs: models/order.py"]


def test_every_sdk_package_is_installed_with_the_gateway() -> None:
    """pyproject.toml lists packages by name: a new tag is a new package under api/."""
    pyproject = tomllib.loads((codegen.ROOT / "pyproject.toml").read_text())
    setuptools = pyproject["tool"]["setuptools"]
    root = codegen.SDK_TARGET
    assert setuptools["package-dir"]["gateway_client"] == str(root.relative_to(codegen.ROOT))
    folders = {
        ".".join(("gateway_client", *init.parent.relative_to(root).parts))
        for init in root.rglob("__init__.py")
    }
    listed = {name for name in setuptools["packages"] if name.split(".")[0] == "gateway_client"}
    assert listed == folders

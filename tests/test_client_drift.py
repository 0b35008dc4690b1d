"""generated/ is exactly what the pinned generator makes from openapi.yaml: never edited by hand."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gateway import codegen


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    into = tmp_path_factory.mktemp("codegen") / "generated"
    codegen.generate(into)
    return into


def test_committed_client_matches_a_fresh_generation(fresh: Path) -> None:
    assert codegen.differences(fresh, codegen.TARGET) == []


def test_a_hand_edit_or_stray_file_is_drift(fresh: Path, tmp_path: Path) -> None:
    copy = tmp_path / "generated"
    shutil.copytree(codegen.TARGET, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "models" / "order.py").write_text(
        (copy / "models" / "order.py").read_text() + "\n# edited by hand\n"
    )
    (copy / "api" / "extra.py").write_text("")
    (copy / "types.py").unlink()
    assert codegen.differences(fresh, copy) == [
        "differs: models/order.py",
        "missing: types.py",
        "stray: api/extra.py",
    ]


def test_a_spec_change_without_regeneration_is_drift(tmp_path: Path) -> None:
    spec = tmp_path / "openapi.yaml"
    original = codegen.SPEC.read_text()
    changed = original.replace(
        "        item_name:\n          type: string\n        item_product_type:",
        "        item_name:\n          type: string\n        item_note:\n          type: string\n"
        "        item_product_type:",
        1,
    )
    assert changed != original
    spec.write_text(changed)
    into = tmp_path / "generated"
    codegen.generate(into, spec)
    assert "differs: models/order.py" in codegen.differences(into, codegen.TARGET)

"""What `pip install` installs: every package folder, the built-in plugins under their own name."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from tests.processes import ROOT


def test_every_package_folder_is_installed() -> None:
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    folders = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("gateway", "generated")
        for init in (ROOT / top).rglob("__init__.py")
    }
    sdk = ROOT / "sdk" / "python"  # the tenant SDK ships in the same distribution
    folders |= {
        ".".join(init.parent.relative_to(sdk).parts)
        for init in (sdk / "gateway_client").rglob("__init__.py")
    }
    assert listed == folders | {"order_gateway_plugins"}


def test_the_built_in_plugins_import_under_their_own_name_from_anywhere(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import order_gateway_plugins.limits as m; print(m.__name__)"],
        cwd=str(tmp_path),  # not the repository: the installed name, not the folder
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "order_gateway_plugins.limits"

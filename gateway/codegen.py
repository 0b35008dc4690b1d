"""Regenerating `generated/` from `openapi.yaml`, and checking that it has not drifted.

The client is produced by the pinned openapi-python-client (with the pinned
ruff as its formatter), configured by `openapi-client.yaml` and the custom
templates in `codegen-templates/`. `check()` builds a
fresh copy in a temporary folder and compares it with the committed one file
by file, so that a hand edit or a forgotten regeneration fails the tests.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi.yaml"
CONFIG = ROOT / "openapi-client.yaml"
# Three of the generator's templates, changed so that a client can send its async requests
# through any `AsyncSender` (the gateway's is aiohttp): see codegen-templates/README.md.
TEMPLATES = ROOT / "codegen-templates"
TARGET = ROOT / "generated"


class CodegenError(RuntimeError):
    pass


def generate(into: Path, spec: Path = SPEC) -> None:
    """Write a fresh client to `into` (which must not exist yet)."""
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    generator = shutil.which("openapi-python-client", path=env["PATH"])
    if generator is None:
        raise CodegenError("openapi-python-client is not installed: pip install -e '.[codegen]'")
    result = subprocess.run(
        [
            generator,
            "generate",
            "--path", str(spec),
            "--config", str(CONFIG),
            "--custom-template-path", str(TEMPLATES),
            "--meta", "none",
            "--output-path", str(into),
            "--fail-on-warning",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    if result.returncode != 0 or not into.is_dir():
        raise CodegenError(f"generation failed:\n{result.stdout}\n{result.stderr}")


def differences(expected: Path, actual: Path) -> list[str]:
    """Every file that differs, is missing or is stray, relative to the two roots."""
    found: list[str] = []

    def walk(cmp: filecmp.dircmp[str], prefix: str) -> None:
        found.extend(f"missing: {prefix}{name}" for name in cmp.left_only)
        found.extend(f"stray: {prefix}{name}" for name in cmp.right_only)
        found.extend(f"differs: {prefix}{name}" for name in cmp.diff_files + cmp.funny_files)
        for name, sub in cmp.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(expected, actual, ignore=["__pycache__"]), "")
    # dircmp compares by stat signature first; confirm byte for byte.
    for path in expected.rglob("*"):
        if "__pycache__" in path.parts or not path.is_file():
            continue
        twin = actual / path.relative_to(expected)
        rel = str(path.relative_to(expected))
        if twin.is_file() and path.read_bytes() != twin.read_bytes():
            entry = f"differs: {rel}"
            if entry not in found:
                found.append(entry)
    return sorted(found)


def check(target: Path = TARGET) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="codegen-") as tmp:
        fresh = Path(tmp) / "generated"
        generate(fresh)
        return differences(fresh, target)


def regenerate(target: Path = TARGET) -> None:
    with tempfile.TemporaryDirectory(prefix="codegen-") as tmp:
        fresh = Path(tmp) / "generated"
        generate(fresh)
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(fresh, target)

"""Regenerating the two generated clients, and checking that they have not drifted.

- `generated/`, the provider client the gateway calls through, from `openapi.yaml`,
  configured by `openapi-client.yaml` and the custom templates in `codegen-templates/`;
- `sdk/python/gateway_client/`, the tenants' SDK, from the gateway's own document
  (`gateway/api/tenant-api.yaml`, served at /openapi.json) less its operator operations
  (those tagged `admin`, `audit` or `operations`), configured by `sdk/openapi-client.yaml`,
  with the generator's own templates (tenants send with httpx).

Both are produced by the pinned openapi-python-client (with the pinned ruff as its
formatter). `check()` builds a fresh copy in a temporary folder and compares it with the
committed one file by file, so that a hand edit or a forgotten regeneration fails the tests.
"""

from __future__ import annotations

import filecmp
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi.yaml"
CONFIG = ROOT / "openapi-client.yaml"
# Three of the generator's templates, changed so that a client can send its async requests
# through any `AsyncSender` (the gateway's is aiohttp): see codegen-templates/README.md.
TEMPLATES = ROOT / "codegen-templates"
TARGET = ROOT / "generated"


# The tenant SDK: the gateway's own document, less what is not for tenants.
SDK_SPEC = ROOT / "gateway" / "api" / "tenant-api.yaml"
SDK_CONFIG = ROOT / "sdk" / "openapi-client.yaml"
SDK_TARGET = ROOT / "sdk" / "python" / "gateway_client"
# Operations with one of these tags are left out of the SDK, whatever their path.
OPERATOR_TAGS = frozenset({"admin", "audit", "operations"})
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class CodegenError(RuntimeError):
    pass


def generate(into: Path, spec: Path = SPEC) -> None:
    """Write a fresh provider client to `into` (which must not exist yet)."""
    _run(spec, CONFIG, into, TEMPLATES)


def generate_sdk(into: Path, spec: Path = SDK_SPEC) -> None:
    """Write a fresh tenant SDK to `into` (which must not exist yet), from `spec` less the
    operations tagged with one of `OPERATOR_TAGS`."""
    document = tenant_document(yaml.safe_load(spec.read_text()))
    with tempfile.TemporaryDirectory(prefix="codegen-sdk-") as tmp:
        filtered = Path(tmp) / "tenant-sdk.json"
        filtered.write_text(json.dumps(document, indent=1))
        _run(filtered, SDK_CONFIG, into, None)
    # typed (PEP 561), so that tenants' type checkers read its annotations
    (into / "py.typed").write_text("# Marker file for PEP 561\n")


def tenant_document(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of the gateway's document without its operator operations, and without the
    components and tags that only they used. Every operation must carry a tag the
    document declares: an untagged or misspelt one would otherwise slip into the SDK."""
    declared = {tag["name"] for tag in document.get("tags", [])}
    paths: dict[str, Any] = {}
    for path, item in document["paths"].items():
        kept = dict(item)
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            tags = operation.get("tags") or []
            name = operation.get("operationId", f"{method.upper()} {path}")
            if not tags or not set(tags) <= declared:
                raise CodegenError(
                    f"{name}: tags {tags} must be one or more of the document's tags "
                    f"({', '.join(sorted(declared))}); operations tagged "
                    f"{', '.join(sorted(OPERATOR_TAGS))} are left out of the tenant SDK"
                )
            if OPERATOR_TAGS & set(tags):
                del kept[method]
        if any(method in kept for method in METHODS):
            paths[path] = kept
    used = _referenced(paths, document.get("components", {}))
    components = {
        kind: {name: value for name, value in entries.items() if (kind, name) in used}
        for kind, entries in document.get("components", {}).items()
        if kind != "securitySchemes"
    }
    components["securitySchemes"] = document.get("components", {}).get("securitySchemes", {})
    tags_used = {tag for item in paths.values() for op in _operations(item) for tag in op["tags"]}
    return {
        **document,
        "tags": [tag for tag in document.get("tags", []) if tag["name"] in tags_used],
        "paths": paths,
        "components": {kind: entries for kind, entries in components.items() if entries},
    }


def _operations(item: dict[str, Any]) -> list[dict[str, Any]]:
    return [item[method] for method in METHODS if method in item]


_REF = re.compile(r"^#/components/([^/]+)/([^/]+)$")


def _referenced(root: Any, components: dict[str, Any]) -> set[tuple[str, str]]:
    """Every (kind, name) of `components` that `root` refers to, directly or through others."""
    found: set[tuple[str, str]] = set()
    pending = [root]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, dict):
            ref = node.get("$ref")
            match = _REF.match(ref) if isinstance(ref, str) else None
            if match and (match[1], match[2]) not in found:
                found.add((match[1], match[2]))
                pending.append(components.get(match[1], {}).get(match[2]))
            pending.extend(value for key, value in node.items() if key != "$ref")
    return found


def _run(spec: Path, config: Path, into: Path, templates: Path | None) -> None:
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
            "--config", str(config),
            *(["--custom-template-path", str(templates)] if templates else []),
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


def check(target: Path = TARGET, make: Callable[[Path], None] = generate) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="codegen-") as tmp:
        fresh = Path(tmp) / target.name
        make(fresh)
        return differences(fresh, target)


def regenerate(target: Path = TARGET, make: Callable[[Path], None] = generate) -> None:
    with tempfile.TemporaryDirectory(prefix="codegen-") as tmp:
        fresh = Path(tmp) / target.name
        make(fresh)
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(fresh, target)


@dataclass(frozen=True)
class Target:
    """One generated folder and how it is made: what `gateway codegen --target` names."""

    folder: Path
    make: Callable[[Path], None]

    def check(self) -> list[str]:
        return check(self.folder, self.make)

    def regenerate(self) -> None:
        regenerate(self.folder, self.make)


TARGETS = {"client": Target(TARGET, generate), "sdk": Target(SDK_TARGET, generate_sdk)}

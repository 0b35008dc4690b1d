"""The pieces a config file is read with: the error that names the wrong key, where a
secret lives, and one reader per kind of value, each naming the key it refuses."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

NAME = re.compile(r"[a-z][a-z0-9_-]{0,62}")  # whole names only: fullmatch


class ConfigError(ValueError):
    """A config mistake: `key` is the dotted path of what is wrong, `reason` what to do."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


@dataclass(frozen=True)
class SecretRef:
    """Where a secret lives; `describe()` names the place, never the value."""

    env: str | None = None
    file: str | None = None

    def resolve(self, key: str) -> str:
        if self.env is not None:
            value = os.environ.get(self.env)
            if not value:
                raise ConfigError(
                    key,
                    f"environment variable {self.env} is not set; export it (against the "
                    'sandbox: eval "$(gateway sandbox --print-env)")',
                )
            return value
        assert self.file is not None
        try:
            value = Path(self.file).read_text().strip()
        except OSError as exc:
            raise ConfigError(key, f"cannot read secret file {self.file}: {exc.strerror}") from None
        if not value:
            raise ConfigError(key, f"secret file {self.file} is empty")
        return value

    def describe(self) -> str:
        return f"env {self.env}" if self.env is not None else f"file {self.file}"


def _only(raw: dict[str, Any], where: str, allowed: set[str]) -> None:
    for key in raw:
        if key not in allowed:
            path = f"{where}.{key}" if where else key
            raise ConfigError(path, f"unknown key; expected one of {', '.join(sorted(allowed))}")


def _table(raw: dict[str, Any], key: str, where: str = "") -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}.{key}" if where else key, "must be a table")
    return value


def _name(name: str, where: str) -> None:
    if not NAME.fullmatch(name):
        raise ConfigError(
            where, "names are lower-case letters, digits, - and _, starting with a letter"
        )


_MISSING: Any = object()


def _str(raw: dict[str, Any], where: str, key: str, default: Any = _MISSING) -> str:
    value = raw.get(key, default)
    if value is _MISSING:
        raise ConfigError(f"{where}.{key}", "required")
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}.{key}", "must be a non-empty string")
    return value


def _int(raw: dict[str, Any], where: str, key: str, default: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}.{key}", "must be an integer")
    return value


def _number(raw: dict[str, Any], where: str, key: str, default: float) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}.{key}", "must be a number")
    return float(value)


def _str_list(raw: dict[str, Any], where: str, key: str) -> list[str]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}.{key}", "must be a list of strings")
    return value


def _url(raw: dict[str, Any], where: str, key: str) -> str:
    value = _str(raw, where, key)
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"{where}.{key}", "an http:// or https:// URL")
    return value.rstrip("/")


def _secret(raw: dict[str, Any], where: str, key: str) -> SecretRef:
    value = raw.get(key, _MISSING)
    path = f"{where}.{key}"
    if value is _MISSING:
        raise ConfigError(path, 'required: { env = "VAR" } or { file = "path" }')
    if isinstance(value, str):
        raise ConfigError(
            path,
            'secrets are never written in the config; use { env = "VAR" } or { file = "path" }',
        )
    if not isinstance(value, dict) or len(value) != 1 or not set(value) <= {"env", "file"}:
        raise ConfigError(path, 'exactly one of { env = "VAR" } or { file = "path" }')
    ref = SecretRef(env=value.get("env"), file=value.get("file"))
    if not all(isinstance(v, str) and v for v in (ref.env, ref.file) if v is not None):
        raise ConfigError(path, "the variable name or file path must be a non-empty string")
    return ref

"""The gateway's one TOML config file: parsed, checked, and every mistake named by its key.

Secrets never stand in the file: each is a reference, `{ env = "VAR" }` or
`{ file = "path" }`, resolved when the gateway starts. Tenant tokens are kept
only as hashes (`sha256:<hex>`), several per tenant so that a token can be
rotated without downtime.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from gateway.config_alerts import AlertsConfig as AlertsConfig
from gateway.config_alerts import alerts_config
from gateway.config_fields import ConfigError as ConfigError  # everyone's error, named here
from gateway.config_fields import SecretRef as SecretRef
from gateway.config_fields import (
    _int,
    _name,
    _number,
    _only,
    _secret,
    _str,
    _str_list,
    _table,
    _url,
)
from gateway.config_server import ServerConfig as ServerConfig
from gateway.config_server import server_config
from gateway.config_webhooks import DestinationsConfig as DestinationsConfig
from gateway.config_webhooks import WebhooksConfig as WebhooksConfig
from gateway.config_webhooks import webhooks_config

TOKEN_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")
# Enabled when the config does not say otherwise, in this calling order.
BUILT_IN_PLUGINS = ("validation", "limits", "audit")


class Role(StrEnum):
    TENANT = "tenant"  # places and reads its own orders
    OBSERVER = "observer"  # reads every order of its accounts, places none
    ADMIN = "admin"  # reads everything, places, reads the audit trail


@dataclass(frozen=True)
class AccountConfig:
    name: str
    base_url: str
    catalog_url: str
    client_id: str
    currency: str
    api_key: SecretRef
    webhook_secret: SecretRef
    timeout_seconds: float = 10.0
    catalog_refresh_seconds: float = 300.0


@dataclass(frozen=True)
class TenantConfig:
    name: str
    token_hashes: tuple[str, ...]
    accounts: tuple[str, ...]
    default_account: str
    role: Role = Role.TENANT
    # [tenants.NAME.policies.PLUGIN]: mode ("enforce", "shadow", "off") and settings.
    policies: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)


@dataclass(frozen=True)
class PluginsConfig:
    """Which plugins run, and each one's own settings block (checked by the plugin itself)."""

    enabled: tuple[str, ...] = BUILT_IN_PLUGINS
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class TelemetryConfig:
    """Tracing (gateway/tracing.py): spans go over OTLP/HTTP to `otlp_endpoint` (the
    collector's traces URL, e.g. http://127.0.0.1:4318/v1/traces); none: no tracing."""

    otlp_endpoint: str | None = None
    service_name: str = "order-gateway"
    sample_ratio: float = 1.0  # of the traces the gateway starts; a tenant's sampled one is kept


@dataclass(frozen=True)
class Config:
    accounts: dict[str, AccountConfig]
    tenants: dict[str, TenantConfig]
    storage_url: str = "sqlite:///gateway.sqlite3"
    # Bounds every storage statement, pool acquisition and hand-off; past it, a 503.
    storage_timeout_seconds: float = 5.0
    # The keys gift-card codes are sealed with at rest, newest first (docs/security.md).
    seal_keys: SecretRef = field(default_factory=lambda: SecretRef(env="GATEWAY_SEAL_KEYS"))
    server: ServerConfig = field(default_factory=ServerConfig)
    plugins: PluginsConfig = PluginsConfig()
    webhooks: WebhooksConfig = field(default_factory=WebhooksConfig)
    telemetry: TelemetryConfig = TelemetryConfig()
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    idempotency_ttl_hours: float = 24.0
    # Provider webhooks are kept only to answer the provider's retries as repeats.
    provider_event_retention_hours: float = 720.0
    # Rows deleted per statement past retention: short transactions beside the orders.
    retention_batch_rows: int = 500
    decision_retention_days: float = 90.0
    token_renew_margin_seconds: float = 300.0
    # How long after it was asked for an order whose outcome is unknown may still be placed
    # by re-sending it; past this it waits for an operator (docs/operations.md).
    resend_window_seconds: float = 3600.0
    path: Path | None = None


SECTIONS = (
    "server", "storage", "gateway", "accounts", "tenants", "plugins", "webhooks", "telemetry",
    "alerts",
)  # fmt: skip


def load(path: Path) -> Config:
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(
            str(path),
            "no such file; start from the example: cp gateway.example.toml gateway.toml",
        ) from None
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(str(path), "not UTF-8 text; save the file as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML: {exc}") from None
    config = parse(raw, base=path.parent)
    return Config(**{**config.__dict__, "path": path})


def parse(raw: dict[str, Any], base: Path | None = None) -> Config:
    _only(raw, "", set(SECTIONS))
    server = server_config(_table(raw, "server"))
    storage = _table(raw, "storage")
    _only(storage, "storage", {"url", "timeout_seconds", "seal_keys"})
    seal_keys = (
        _secret(storage, "storage", "seal_keys")
        if "seal_keys" in storage
        else SecretRef(env="GATEWAY_SEAL_KEYS")
    )
    storage_url = _str(storage, "storage", "url", "sqlite:///gateway.sqlite3")
    storage_timeout = _number(storage, "storage", "timeout_seconds", 5.0)
    if not 0 < storage_timeout <= 60:
        raise ConfigError("storage.timeout_seconds", "a number of seconds above 0, at most 60")
    if not storage_url.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise ConfigError(
            "storage.url", "use sqlite:///path/to/file.sqlite3 or postgresql://user@host/db"
        )
    if storage_url.startswith("sqlite:///") and base is not None:
        file = storage_url.removeprefix("sqlite:///")
        if not Path(file).is_absolute():
            storage_url = "sqlite:///" + str((base / file).resolve())
    gateway = _table(raw, "gateway")
    _only(
        gateway,
        "gateway",
        {
            "idempotency_ttl_hours", "token_renew_margin_seconds", "resend_window_seconds",
            "provider_event_retention_hours", "retention_batch_rows", "decision_retention_days",
        },
    )  # fmt: skip
    ttl = _number(gateway, "gateway", "idempotency_ttl_hours", 24.0)
    if ttl < 24:
        raise ConfigError("gateway.idempotency_ttl_hours", "keep idempotency keys at least 24 h")
    events = _number(gateway, "gateway", "provider_event_retention_hours", 720.0)
    if events < 24:
        raise ConfigError(
            "gateway.provider_event_retention_hours",
            "at least 24: a provider webhook is kept to recognise the provider's retries of it",
        )
    batch = _int(gateway, "gateway", "retention_batch_rows", 500)
    if not 1 <= batch <= 10_000:
        raise ConfigError(
            "gateway.retention_batch_rows",
            "between 1 and 10000 rows: each batch is one short transaction",
        )
    decisions = _number(gateway, "gateway", "decision_retention_days", 90.0)
    if decisions < 1:
        raise ConfigError(
            "gateway.decision_retention_days",
            "at least 1: a refused order's tenant reads why in its trace",
        )
    margin = _number(gateway, "gateway", "token_renew_margin_seconds", 300.0)
    window = _number(gateway, "gateway", "resend_window_seconds", 3600.0)
    if window < 0:
        raise ConfigError("gateway.resend_window_seconds", "a number of seconds, 0 or more")

    accounts_raw = _table(raw, "accounts")
    if not accounts_raw:
        raise ConfigError("accounts", "name at least one provider account: [accounts.NAME]")
    accounts = {
        name: _account(name, _table(accounts_raw, name, "accounts")) for name in accounts_raw
    }
    tenants_raw = _table(raw, "tenants")
    tenants = {
        name: _tenant(name, _table(tenants_raw, name, "tenants"), accounts) for name in tenants_raw
    }
    seen: dict[str, str] = {}
    for tenant in tenants.values():
        for digest in tenant.token_hashes:
            if digest in seen:
                raise ConfigError(
                    f"tenants.{tenant.name}.token_hashes",
                    f"the same token hash is also tenant {seen[digest]}'s; tokens are per tenant",
                )
            seen[digest] = tenant.name
    return Config(
        accounts=accounts,
        tenants=tenants,
        storage_url=storage_url,
        storage_timeout_seconds=storage_timeout,
        seal_keys=seal_keys,
        server=server,
        plugins=_plugins(_table(raw, "plugins")),
        webhooks=webhooks_config(_table(raw, "webhooks")),
        telemetry=_telemetry(_table(raw, "telemetry")),
        alerts=alerts_config(_table(raw, "alerts"), set(accounts)),
        idempotency_ttl_hours=ttl,
        provider_event_retention_hours=events,
        retention_batch_rows=batch,
        decision_retention_days=decisions,
        token_renew_margin_seconds=margin,
        resend_window_seconds=window,
    )


def _telemetry(raw: dict[str, Any]) -> TelemetryConfig:
    _only(raw, "telemetry", set(TelemetryConfig.__dataclass_fields__))
    ratio = _number(raw, "telemetry", "sample_ratio", 1.0)
    if not 0 <= ratio <= 1:
        raise ConfigError("telemetry.sample_ratio", "a number from 0 (none) to 1 (every trace)")
    return TelemetryConfig(
        _url(raw, "telemetry", "otlp_endpoint") if "otlp_endpoint" in raw else None,
        _str(raw, "telemetry", "service_name", "order-gateway"),
        ratio,
    )


def _account(name: str, raw: dict[str, Any]) -> AccountConfig:
    where = f"accounts.{name}"
    _name(name, where)
    _only(
        raw,
        where,
        {
            "base_url", "catalog_url", "client_id", "currency", "api_key", "webhook_secret",
            "timeout_seconds", "catalog_refresh_seconds",
        },
    )  # fmt: skip
    base_url = _url(raw, where, "base_url")
    currency = _str(raw, where, "currency")
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise ConfigError(f"{where}.currency", "an ISO 4217 code such as EUR or USD")
    timeout = _number(raw, where, "timeout_seconds", 10.0)
    refresh = _number(raw, where, "catalog_refresh_seconds", 300.0)
    if timeout <= 0 or refresh <= 0:
        raise ConfigError(where, "timeout_seconds and catalog_refresh_seconds must be positive")
    return AccountConfig(
        name=name,
        base_url=base_url,
        catalog_url=_url(raw, where, "catalog_url") if "catalog_url" in raw else base_url,
        client_id=_str(raw, where, "client_id"),
        currency=currency,
        api_key=_secret(raw, where, "api_key"),
        webhook_secret=_secret(raw, where, "webhook_secret"),
        timeout_seconds=timeout,
        catalog_refresh_seconds=refresh,
    )


def _tenant(name: str, raw: dict[str, Any], accounts: dict[str, AccountConfig]) -> TenantConfig:
    where = f"tenants.{name}"
    _name(name, where)
    _only(raw, where, {"token_hashes", "accounts", "default_account", "role", "policies"})
    hashes = _str_list(raw, where, "token_hashes")
    for digest in hashes:
        if not TOKEN_HASH.match(digest):
            raise ConfigError(
                f"{where}.token_hashes",
                "each entry is sha256:<64 hex digits>; make one with `gateway tenants add`",
            )
    allowed = _str_list(raw, where, "accounts")
    if not allowed:
        raise ConfigError(f"{where}.accounts", "list at least one account this tenant may use")
    for account in allowed:
        if account not in accounts:
            raise ConfigError(f"{where}.accounts", f"no account named {account!r} in [accounts]")
    default = _str(raw, where, "default_account", allowed[0])
    if default not in allowed:
        raise ConfigError(
            f"{where}.default_account", f"{default!r} is not in this tenant's accounts"
        )
    role_raw = _str(raw, where, "role", "tenant")
    try:
        role = Role(role_raw)
    except ValueError:
        raise ConfigError(f"{where}.role", "one of tenant, observer, admin") from None
    policies = {}
    for plugin, policy in _table(raw, "policies", where).items():
        at = f"{where}.policies.{plugin}"
        if not isinstance(policy, dict):
            raise ConfigError(at, 'a table: mode = "enforce" | "shadow" | "off", and settings')
        _only(policy, at, {"mode", "settings"})
        mode = _str(policy, at, "mode", "enforce")
        if mode not in ("enforce", "shadow", "off"):
            raise ConfigError(f"{at}.mode", "one of enforce, shadow, off")
        policies[plugin] = (mode, dict(_table(policy, "settings", at)))
    return TenantConfig(name, tuple(hashes), tuple(allowed), default, role, policies)


def _plugins(raw: dict[str, Any]) -> PluginsConfig:
    enabled = _str_list(raw, "plugins", "enabled") if "enabled" in raw else list(BUILT_IN_PLUGINS)
    if len(set(enabled)) != len(enabled):
        raise ConfigError("plugins.enabled", "a plugin is named twice")
    settings: dict[str, dict[str, Any]] = {}
    for key, value in raw.items():
        if key == "enabled":
            continue
        if not isinstance(value, dict):
            raise ConfigError(f"plugins.{key}", "a plugin's settings are a table: [plugins.NAME]")
        settings[key] = value
    return PluginsConfig(tuple(enabled), settings)


# --- small typed readers, each naming the key it reads -------------------------


def check_secrets(config: Config) -> None:
    """Resolve every secret once (values are discarded) so that a missing one fails at start."""
    seal_keys(config)
    for account in config.accounts.values():
        account.api_key.resolve(f"accounts.{account.name}.api_key")
        account.webhook_secret.resolve(f"accounts.{account.name}.webhook_secret")


def seal_keys(config: Config) -> list[str]:
    """The keys codes are sealed with, newest first; each is checked to be a key."""
    from gateway.sealing import Sealer, SealError, parse_keys

    where = "storage.seal_keys"
    try:
        keys = parse_keys(config.seal_keys.resolve(where))
        Sealer(keys)
    except SealError as exc:
        raise ConfigError(where, str(exc)) from None
    except ConfigError as exc:
        raise ConfigError(
            exc.key,
            exc.reason.split(";")[0] + "; codes are sealed at rest with it "
            "(docs/security.md): make a key with `gateway seal new-key`",
        ) from None
    return keys

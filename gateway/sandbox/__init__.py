"""A faithful stand-in for the provider, runnable alone or inside tests."""

from gateway.sandbox.app import create_sandbox_app
from gateway.sandbox.demo import demo_accounts, demo_items
from gateway.sandbox.model import Faults, Outcome, Status
from gateway.sandbox.provider import AccountSpec, Sandbox, SandboxSettings
from gateway.sandbox.web import SANDBOX
from gateway.sandbox.webhooks import sign

__all__ = [
    "SANDBOX",
    "AccountSpec",
    "Faults",
    "Outcome",
    "Sandbox",
    "SandboxSettings",
    "Status",
    "create_sandbox_app",
    "demo_accounts",
    "demo_items",
    "sign",
]

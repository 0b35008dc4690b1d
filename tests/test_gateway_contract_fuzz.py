"""The gateway fuzzed against its own /openapi.json: no input produces a 500, every answer
conforms, the document accepts nothing the server refuses and refuses nothing it accepts.

The sandbox provider and `gateway serve` run as their own processes; schemathesis sends
valid (positive) and invalid (negative) requests generated from the document, seeded, with
a tenant token. The gateway runs with the tests' destination rules: loopback only, public
addresses refused, so no generated subscription can make it send outside this machine.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from gateway.api.ops import tenant_openapi
from gateway.testing import serve_config
from tests.processes import gateway_process, sandbox_process, url_in

TOKEN = "gwt_fuzz_token_for_tests_only"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    folder = tmp_path_factory.mktemp("fuzz")
    with sandbox_process("--seed", "0") as provider:
        text, env = serve_config(
            provider,
            f"sqlite:///{folder / 'gateway.sqlite3'}",
            TOKEN,
            # not the subject here (tests/test_webhooks_destinations.py is): high enough
            # that generated cases reach the handlers instead of the limit
            webhooks={"test_sends_per_minute": 100000, "replays_per_minute": 100000},
            server={"tenant_reads_per_second": 0},
        )
        config = folder / "gateway.toml"
        config.write_text(text)
        with gateway_process("serve", "--config", str(config), env=env) as printed:
            yield url_in(printed[0]), TOKEN


# The document the gateway serves at /openapi.json (a test of its own checks they are one).
# Positive and negative cases both. A schema-valid request may still be refused for the state
# or the rules it meets (402 balance, 422 an unknown item or a destination the rules refuse);
# 400 and 415 are what the document should have prevented, so they count as mismatches.
# NUL is left out of generated strings: the document says no string may hold one, and
# tests/test_gateway_hostile_input.py sends them on purpose.
CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {"mode": "all", "allow-x00": False},
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "401", "402", "403", "404", "409", "422", "429"]
            }
        },
    }
)
schema = schemathesis.openapi.from_dict(json.loads(tenant_openapi()), config=CONFIG).exclude(
    path_regex="^/provider-webhooks"  # signed by the provider: the intake tests cover it
)


@schema.parametrize()
@settings(
    max_examples=25,
    derandomize=True,  # the same cases every run: CI must not flake
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_gateway_conforms_to_its_own_document(
    case: schemathesis.Case, demo: tuple[str, str]
) -> None:
    base, token = demo
    # A cursor is opaque: only the ones the server hands out are valid, which no schema can
    # say, so a generated one may be refused; every other check still holds for such a case.
    excluded = (
        [schemathesis.checks.positive_data_acceptance]
        if case.query and "cursor" in case.query
        else []
    )
    case.call_and_validate(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, excluded_checks=excluded
    )

"""The sandbox fuzzed against openapi.yaml: every response conforms to the contract, none is a 5xx.

The sandbox runs as its own process (real HTTP between processes) and
schemathesis generates requests from the contract, both valid and invalid.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from gateway.codegen import SPEC
from gateway.sandbox import demo_accounts
from tests.processes import sandbox_process

schema = schemathesis.openapi.from_path(SPEC)


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    with sandbox_process("--seed", "0", "--fulfilment-delay", "0.2") as url:
        yield url


@pytest.fixture(scope="module")
def bearer(sandbox_url: str) -> str:
    key = demo_accounts(0)[0].api_keys[0]
    answer = httpx.post(f"{sandbox_url}/api/v1/auth/token/client", json={"api_key": key})
    answer.raise_for_status()
    return str(answer.json()["access_token"])


@schema.parametrize()
@settings(
    max_examples=40,
    derandomize=True,  # the same cases every run: CI must not flake
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_sandbox_conforms_to_the_contract(
    case: schemathesis.Case, sandbox_url: str, bearer: str
) -> None:
    case.call_and_validate(
        base_url=sandbox_url,
        headers={"Authorization": f"Bearer {bearer}"},
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )

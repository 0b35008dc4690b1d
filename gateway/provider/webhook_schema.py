"""The provider's webhook body checked against `openapi.yaml`, after its signature.

A signed body comes from the provider, but the provider can still send a shape
its contract does not allow (`codes` as a string would be read as a list of
characters). The contract's own JSON Schema (OpenAPI 3.1 is JSON Schema 2020-12)
decides, so the gateway and the provider's documentation cannot disagree.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

import yaml
from jsonschema import Draft202012Validator


@functools.cache
def _validator() -> Draft202012Validator:
    # openapi.yaml in this package is a link to the repository's, so both are one file
    spec = yaml.safe_load(resources.files("gateway.provider").joinpath("openapi.yaml").read_text())
    schema = {"$ref": "#/components/schemas/WebhookPayload", "components": spec["components"]}
    return Draft202012Validator(schema)


def check_webhook(body: Any) -> None:
    """Raises ValueError naming the first place where the body breaks the contract."""
    error = next(iter(_validator().iter_errors(body)), None)
    if error is not None:
        # the rule broken, never the value: a value may be a code
        where = "/".join(str(p) for p in error.absolute_path) or "body"
        rule = json.dumps(error.validator_value, default=str)[:100]
        raise ValueError(f"{where}: breaks the contract's {error.validator!r} rule ({rule})")

"""The hook signatures as the plugin guide prints them (and its test checks)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

from gateway.hooks import specs as hookspecs


def hooks() -> Iterator[tuple[str, str]]:
    """(name, signature) of every hook specification, in the order the module defines them."""
    for name, function in vars(hookspecs).items():
        if name.startswith("gateway_") and inspect.isfunction(function):
            yield name, signature(function)


def signature(function: object) -> str:
    sig = inspect.signature(function)  # type: ignore[arg-type]
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"{function.__name__}({params}) -> {sig.return_annotation}"  # type: ignore[attr-defined]

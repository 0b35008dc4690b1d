"""Payload filters on subscriptions: which events an endpoint hears, by what they carry.

A filter is a JSON object over the event as it is sent (`{"type", "timestamp", "data"}`),
in the spirit of Convoy's and Outpost's:

    {"data.account": "main"}                                  equality
    {"data.item_id": {"$in": [1001, 1002]}}                   one of
    {"data.price": {"$gte": 10, "$lt": 100}}                  numbers (and decimal strings)
    {"$or": [{"data.product_type": "key"}, {"data.quantity": {"$gt": 5}}]}
    {"$not": {"data.status": "failed"}}

Keys are dotted paths into the event; several keys, or several operators on one key,
must all hold. Operators: `$eq`, `$ne`, `$in`, `$nin`, `$gt`, `$gte`, `$lt`, `$lte`,
`$exists`; combinators `$and` and `$or` (a non-empty list of filters) and `$not` (one
filter). Money travels as decimal strings ("19.80"): a numeric comparison reads them as
decimals, exactly; a value of another type never matches a numeric comparison. A missing
field matches only `$exists: false`, `$ne` and `$nin`.

Checked when the subscription is made or changed (each mistake names its place, such as
`filter.data.price.$gte`), and evaluated when an event is enqueued: a message that the
filter refuses is never written.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from gateway.errors import InvalidFilter as InvalidField  # a 422 naming the part

COMPARISONS = ("$gt", "$gte", "$lt", "$lte")
OPERATORS = ("$eq", "$ne", "$in", "$nin", "$exists", *COMPARISONS)
MAX_DEPTH = 8
MAX_SIZE = 4096  # bytes of JSON: a filter is a rule, not a list of every order
_MISSING = object()


def check(value: Any, where: str = "filter") -> dict[str, Any]:
    """The filter, or InvalidField naming the bad part."""
    if not isinstance(value, dict) or not value:
        raise InvalidField(where, 'a non-empty JSON object, such as {"data.account": "main"}')
    if len(json.dumps(value)) > MAX_SIZE:
        raise InvalidField(where, f"at most {MAX_SIZE} bytes of JSON; a filter is a rule")
    _check(value, where, 1)
    return value


def _check(node: Any, where: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise InvalidField(where, f"nested more than {MAX_DEPTH} levels deep; simplify it")
    if not isinstance(node, dict) or not node:
        raise InvalidField(where, "a non-empty object of fields and operators")
    for key, rule in node.items():
        here = f"{where}.{key}"
        if key in ("$and", "$or"):
            if not isinstance(rule, list) or not rule:
                raise InvalidField(here, "a non-empty list of filters")
            for n, part in enumerate(rule):
                _check(part, f"{here}[{n}]", depth + 1)
        elif key == "$not":
            _check(rule, here, depth + 1)
        elif key.startswith("$"):
            raise InvalidField(here, "not an operator here; use $and, $or, $not or a field path")
        elif not all(key.split(".")):
            raise InvalidField(here, "a dotted path to a field, such as data.account")
        elif isinstance(rule, dict):
            _check_operators(rule, here)
        else:
            _scalar(rule, here)


def _check_operators(rule: dict[str, Any], where: str) -> None:
    if not rule:
        raise InvalidField(where, 'an operator object needs an operator, such as {"$eq": 1}')
    for op, operand in rule.items():
        here = f"{where}.{op}"
        if op not in OPERATORS:
            raise InvalidField(here, f"unknown operator; one of {', '.join(OPERATORS)}")
        if op in ("$in", "$nin"):
            if not isinstance(operand, list) or not operand:
                raise InvalidField(here, "a non-empty list of values")
            for n, item in enumerate(operand):
                _scalar(item, f"{here}[{n}]")
        elif op == "$exists":
            if not isinstance(operand, bool):
                raise InvalidField(here, "true or false")
        elif op in COMPARISONS:
            if _number(operand) is None:
                raise InvalidField(here, 'a number, or a decimal string such as "10.00"')
        else:
            _scalar(operand, here)


def _scalar(value: Any, where: str) -> None:
    if not (value is None or isinstance(value, str | int | float | bool)):
        raise InvalidField(where, "a string, a number, true, false or null")


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | str):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def _field(event: dict[str, Any], path: str) -> Any:
    node: Any = event
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    left, right = _number(a), _number(b)
    if left is not None and right is not None and not (isinstance(a, str) and isinstance(b, str)):
        return left == right  # 19.8 equals "19.80"; two strings compare as text
    return bool(a == b)


def matches(rule: dict[str, Any], event: dict[str, Any]) -> bool:
    """Whether `event` passes a checked filter."""
    for key, part in rule.items():
        if key == "$and":
            if not all(matches(p, event) for p in part):
                return False
        elif key == "$or":
            if not any(matches(p, event) for p in part):
                return False
        elif key == "$not":
            if matches(part, event):
                return False
        elif not _holds(_field(event, key), part):
            return False
    return True


def _holds(value: Any, rule: Any) -> bool:
    if not isinstance(rule, dict):
        return value is not _MISSING and _equal(value, rule)
    for op, operand in rule.items():
        present = value is not _MISSING
        if op == "$exists":
            ok = present is operand
        elif op == "$eq":
            ok = present and _equal(value, operand)
        elif op == "$ne":
            ok = not present or not _equal(value, operand)
        elif op == "$in":
            ok = present and any(_equal(value, o) for o in operand)
        elif op == "$nin":
            ok = not present or not any(_equal(value, o) for o in operand)
        else:
            left, right = _number(value) if present else None, _number(operand)
            ok = left is not None and right is not None and _compare(op, left, right)
        if not ok:
            return False
    return True


def _compare(op: str, left: Decimal, right: Decimal) -> bool:
    if op == "$gt":
        return left > right
    if op == "$gte":
        return left >= right
    if op == "$lt":
        return left < right
    return left <= right

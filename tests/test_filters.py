"""Payload filters on subscriptions: the language's laws (property tests), its refusals
(each naming the bad part, a 422), and filters applied when events are enqueued."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.errors import InvalidFilter
from gateway.outbox import filters
from gateway.state import DATABASE
from tests.conftest import Gateway
from tests.test_webhooks_delivery import subscribe

FIELDS = ("data.account", "data.item_id", "data.product_type", "data.price", "data.quantity")
values = st.one_of(
    st.sampled_from(["main", "partner", "key", "topup", "service"]),
    st.integers(min_value=-5, max_value=2000),
    st.decimals(min_value=-100, max_value=100, places=2, allow_nan=False).map(str),
    st.booleans(),
    st.none(),
)
numbers = st.one_of(
    st.integers(min_value=-100, max_value=2000),
    st.decimals(min_value=-100, max_value=100, places=2, allow_nan=False).map(str),
)


def leaf() -> st.SearchStrategy[dict[str, Any]]:
    field = st.sampled_from(FIELDS)
    operator = st.one_of(
        values,
        st.builds(lambda v: {"$eq": v}, values),
        st.builds(lambda v: {"$ne": v}, values),
        st.builds(lambda v: {"$in": v}, st.lists(values, min_size=1, max_size=3)),
        st.builds(lambda v: {"$nin": v}, st.lists(values, min_size=1, max_size=3)),
        st.builds(lambda v: {"$exists": v}, st.booleans()),
        st.builds(lambda op, n: {op: n}, st.sampled_from(filters.COMPARISONS), numbers),
    )
    return st.dictionaries(field, operator, min_size=1, max_size=2)


rules = st.recursive(
    leaf(),
    lambda inner: st.one_of(
        st.builds(lambda parts: {"$and": parts}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda parts: {"$or": parts}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda part: {"$not": part}, inner),
    ),
    max_leaves=6,
)
events = st.fixed_dictionaries(
    {"type": st.just("order.completed")},
    optional={
        "data": st.dictionaries(
            st.sampled_from([f.removeprefix("data.") for f in FIELDS]), values, max_size=5
        )
    },
)


@settings(max_examples=300, deadline=None)
@given(rules, events)
def test_every_generated_filter_is_accepted_and_not_inverts_it(
    rule: dict[str, Any], event: dict[str, Any]
) -> None:
    assert filters.check(rule) is rule
    assert filters.matches({"$not": rule}, event) is (not filters.matches(rule, event))


@settings(max_examples=300, deadline=None)
@given(rules, rules, events)
def test_and_or_are_the_logical_ones(
    first: dict[str, Any], second: dict[str, Any], event: dict[str, Any]
) -> None:
    a, b = filters.matches(first, event), filters.matches(second, event)
    assert filters.matches({"$and": [first, second]}, event) is (a and b)
    assert filters.matches({"$or": [first, second]}, event) is (a or b)
    # several keys of one object must all hold, as $and
    if not set(first) & set(second):
        assert filters.matches({**first, **second}, event) is (a and b)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(FIELDS), values, values)
def test_a_field_equals_its_own_value_and_is_in_a_list_holding_it(
    field: str, value: Any, other: Any
) -> None:
    event = {"type": "order.completed", "data": {field.removeprefix("data."): value}}
    assert filters.matches({field: value}, event)
    assert filters.matches({field: {"$in": [other, value]}}, event)
    assert not filters.matches({field: {"$nin": [value]}}, event)
    assert filters.matches({field: {"$exists": True}}, event)


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.text(max_size=5) | st.integers(),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=6), inner, max_size=3)))  # fmt: skip
def test_anything_else_is_refused_with_a_path_or_accepted_never_a_crash(junk: Any) -> None:
    try:
        filters.check(junk)
    except InvalidFilter as refusal:
        assert refusal.details["field"].startswith("filter")
        assert refusal.status == 422


def test_money_compares_as_decimals_and_types_do_not_mix() -> None:
    event = {"type": "order.completed", "data": {"price": "19.80", "item_id": 1001}}
    assert filters.matches({"data.price": {"$gte": 19.8, "$lt": "20"}}, event)
    assert filters.matches({"data.price": 19.8}, event)  # a number and a decimal string
    assert not filters.matches({"data.price": {"$gt": "19.80"}}, event)
    assert not filters.matches({"data.item_id": {"$gt": True}}, {"data": {"item_id": 1}})
    assert filters.matches({"data.missing": {"$ne": 1}}, event)
    assert not filters.matches({"data.missing": {"$gt": 0}}, event)


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({}, "filter"),
        ({"data.price": {"$gte": "ten"}}, "filter.data.price.$gte"),
        ({"data.price": {"$between": [1, 2]}}, "filter.data.price.$between"),
        ({"$or": []}, "filter.$or"),
        ({"$or": [{"data.account": "main"}, {"data.item_id": {"$in": []}}]},
         "filter.$or[1].data.item_id.$in"),
        ({"$where": "1"}, "filter.$where"),
        ({"data..x": 1}, "filter.data..x"),
        ({"data.account": ["main"]}, "filter.data.account"),
        ({"data.account": {"$exists": "yes"}}, "filter.data.account.$exists"),
    ],
)  # fmt: skip
def test_a_bad_filter_names_the_bad_part(rule: Any, field: str) -> None:
    with pytest.raises(InvalidFilter) as refused:
        filters.check(rule)
    assert refused.value.details["field"] == field


async def test_subscribing_with_a_bad_filter_is_a_422_that_points_at_it(gateway: Gateway) -> None:
    answer = await gateway.call(
        "POST",
        "/v1/subscriptions",
        json={"url": "http://127.0.0.1:9/h", "filter": {"data.price": {"$gte": "ten"}}},
    )
    assert answer.status == 422
    assert answer.body["error"]["code"] == "invalid_filter"
    assert answer.body["error"]["details"]["field"] == "filter.data.price.$gte"


async def test_events_a_filter_refuses_are_never_enqueued(gateway: Gateway) -> None:
    cheap = {"data.price": {"$lt": "10.00"}, "data.account": "main"}
    made = await subscribe(gateway, url="http://127.0.0.1:9/cheap", filter=cheap)
    assert made["filter"] == cheap
    everything = await subscribe(gateway, url="http://127.0.0.1:9/all")
    await gateway.place(item_id=1001, quantity=1)  # 9.90: passes
    await gateway.place(item_id=1001, quantity=2)  # 19.80: refused by the filter
    rows = await gateway.app[DATABASE].fetch("SELECT subscription_id FROM messages")
    counts = {
        s: [r["subscription_id"] for r in rows].count(s) for s in (made["id"], everything["id"])
    }
    assert counts == {made["id"]: 1, everything["id"]: 2}
    # changed at run time, and an empty object removes it
    changed = await gateway.call(
        "PATCH", f"/v1/subscriptions/{made['id']}", json={"filter": {"data.quantity": "2"}}
    )
    assert changed.status == 200 and changed.body["filter"] == {"data.quantity": "2"}
    await gateway.place(item_id=1001, quantity=2)
    cleared = await gateway.call("PATCH", f"/v1/subscriptions/{made['id']}", json={"filter": {}})
    assert cleared.body["filter"] is None
    await gateway.place(item_id=1001, quantity=1)
    rows = await gateway.app[DATABASE].fetch(
        "SELECT count(*) AS n FROM messages WHERE subscription_id = $1", made["id"]
    )
    assert rows[0]["n"] == 3

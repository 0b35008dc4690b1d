"""Built-in plugin `validation`: the provider's order rules, checked before any provider call.

Each refusal names the field: the item must exist in the account's catalog and
be available; key items take a whole quantity and no fields; top-ups a
decimal quantity and their fields; services no quantity and their fields;
quantities within the item's min/max; required text fields present; choice
fields one of the item's choice ids; no unknown fields.

Settings: none (an empty block, or none at all).
"""

from __future__ import annotations

from typing import Any

from gateway.plugin_api import OrderIntent, Reject, SettingsError, hookimpl


def _invalid(field: str, message: str) -> Reject:
    return Reject("invalid_order", f"{field}: {message}", field=field)


class ValidationPlugin:
    def __init__(self, settings: dict[str, Any]) -> None:
        for key in settings:
            raise SettingsError(key, "the validation plugin takes no settings")

    @hookimpl
    def gateway_validate_order(self, intent: OrderIntent) -> None:
        request, item = intent.request, intent.item
        if item is None:
            if not intent.catalog_loaded:
                raise Reject(
                    "catalog_unavailable",
                    f"the catalog of account {intent.account!r} cannot be loaded right now; "
                    "retry shortly",
                    field="item_id",
                    status=409,
                )
            raise _invalid(
                "item_id",
                f"account {intent.account!r} has no item {request.item_id} in its catalog",
            )
        if not item.available:
            raise _invalid("item_id", f"item {item.id} ({item.name}) is not available")
        if item.stock == 0:
            raise _invalid("item_id", f"item {item.id} ({item.name}) is out of stock")

        quantity = request.quantity
        if item.product_type == "service":
            if quantity is not None:
                raise _invalid("quantity", "service items take no quantity; leave it out")
        elif item.product_type == "topup" and quantity is None:
            raise _invalid("quantity", "top-up items need the amount to top up")
        elif (
            item.product_type == "key"
            and quantity is not None
            and quantity != quantity.to_integral_value()
        ):
            raise _invalid("quantity", "key items take a whole number of keys")
        if item.product_type != "service":
            units = quantity if quantity is not None else 1
            if not item.min_quantity <= units <= item.max_quantity:
                raise _invalid(
                    "quantity",
                    f"must be between {item.min_quantity} and {item.max_quantity}"
                    f" for item {item.id}",
                )

        fields = request.fields
        if item.product_type == "key":
            if fields:
                raise _invalid("fields", "key items take no fields; leave them out")
            return
        known = {f.name: f for f in item.fields}
        for name in fields:
            if name not in known:
                allowed = ", ".join(known) or "none"
                raise _invalid(f"fields.{name}", f"unknown field; item {item.id} takes: {allowed}")
        for spec in item.fields:
            value = fields.get(spec.name)
            if value is None or value == "":
                if spec.required:
                    raise _invalid(f"fields.{spec.name}", f"required ({spec.label})")
                continue
            if spec.type == "choice":
                ids = [o.id for o in spec.options]
                if isinstance(value, bool) or not isinstance(value, int) or value not in ids:
                    choices = ", ".join(f"{o.id} ({o.name})" for o in spec.options)
                    raise _invalid(f"fields.{spec.name}", f"one of the choice ids {choices}")
            elif not isinstance(value, str):
                raise _invalid(f"fields.{spec.name}", "a text field takes a string")

"""The subscriber card of the admin form: the subscriber's fields, its three
addresses and its groups saved together in one transaction, so that a
refusal anywhere leaves nothing half-saved (DESIGN §9).

The rules stay where they are: billing.subscribers (fields, class, groups,
stale forms) and billing.addresses (directory, addresses)."""

from __future__ import annotations

from lanbill.customers import addresses, subscribers
from lanbill.db import transaction
from lanbill.errors import NotFound, ValidationError
from lanbill.models import Address, Subscriber

ADDRESS_FIELDS = {"main": "main_address", "postal": "postal_address", "delivery": "delivery_address"}


def _save_addresses(subscriber: Subscriber | None, values: dict, *, actor) -> dict:
    """values: {"main": {"building_id", "flat", "text"}, ...} → field ids."""
    out = {}
    for kind, field in ADDRESS_FIELDS.items():
        if kind not in values:
            continue
        current = None
        if subscriber is not None and getattr(subscriber, field + "_id"):
            current = Address.get_or_none(Address.id == getattr(subscriber, field + "_id"))
        value = values[kind] or {}
        try:
            address = addresses.save_address(current, building_id=value.get("building_id"),
                                             flat=value.get("flat", ""), text=value.get("text", ""),
                                             actor=actor)
        except ValidationError as exc:
            exc.fields = {f"{kind}_{k}": v for k, v in exc.fields.items()}
            raise
        except NotFound as exc:
            raise ValidationError(exc.message, fields={f"{kind}_building": exc.message}) from None
        out[field] = address.id if address is not None else None
    return out


def create_card(data: dict, *, actor, groups=(), address_values: dict | None = None) -> Subscriber:
    """create_subscriber + addresses, all or nothing."""
    with transaction():
        subscriber = subscribers.create_subscriber(data, actor=actor, groups=groups)
        ids = _save_addresses(None, address_values or {}, actor=actor)
        if any(ids.values()):
            subscriber = subscribers.update_subscriber(subscriber, ids, actor=actor)
    return subscriber


def update_card(subscriber: Subscriber, data: dict, *, actor, version: int | None = None,
                address_values: dict | None = None) -> Subscriber:
    """update_subscriber (refusing a stale form) + addresses, all or nothing."""
    with transaction():
        updated = subscribers.update_subscriber(subscriber, data, actor=actor, version=version)
        ids = _save_addresses(updated, address_values or {}, actor=actor)
        changed = {k: v for k, v in ids.items() if getattr(updated, k + "_id") != v}
        if changed:
            updated = subscribers.update_subscriber(updated, changed, actor=actor)
    return updated

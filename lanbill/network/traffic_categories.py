"""Traffic categories of a tariff: the remote networks each matches and its
prices per MB; the NetFlow matcher and volume charging read them."""

from __future__ import annotations

import ipaddress

from lanbill.db import transaction
from lanbill.errors import N_, Conflict
from lanbill.models import Tariff, TrafficCategory, TrafficHourly
from lanbill.money import MoneyError, parse_money
from lanbill.records import bump_version, clean_text, get_record, raise_if_any
from lanbill.staff import audit


def clean_category(data: dict) -> dict:
    """A traffic category: a name, the remote networks it matches (CIDRs
    separated by commas; empty = everything), prices per MB in and out."""
    errors: dict = {}
    out = {"name": clean_text(data, "name", errors, required=True, limit=128), "prepaid": bool(data.get("prepaid"))}
    networks = []
    for part in str(data.get("networks") or "").replace("\n", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            errors["networks"] = N_("Networks are written like 10.0.0.0/8, separated by commas.")
            break
    out["networks"] = ", ".join(networks)
    for key in ("price_in_mb", "price_out_mb"):
        try:
            out[key] = parse_money(data.get(key) or "0", allow_negative=False)
        except MoneyError as exc:
            errors[key] = exc.message
    raise_if_any(errors)
    return out


def create_category(tariff_id, data: dict, *, actor) -> TrafficCategory:
    fields = clean_category(data)
    with transaction():
        tariff = get_record(Tariff, tariff_id)
        category = TrafficCategory.create(tariff=tariff.id, **fields)
        bump_version(Tariff, tariff.id)
        audit.record(actor, "tariff.category_create", "tariff", tariff.id, after={"id": category.id, **fields})
    return category


def update_category(category_id, data: dict, *, actor) -> TrafficCategory:
    fields = clean_category(data)
    with transaction():
        category = get_record(TrafficCategory, category_id)
        old, new = audit.diff({k: getattr(category, k) for k in fields}, fields)
        TrafficCategory.update(**fields).where(TrafficCategory.id == category.id).execute()
        bump_version(Tariff, category.tariff_id)
        audit.record(actor, "tariff.category_update", "tariff", category.tariff_id,
                     before={"id": category.id, **old}, after={"id": category.id, **new})
    return TrafficCategory.get_by_id(category.id)


def delete_category(category_id, *, actor) -> None:
    """A category with counted traffic stays: statistics refer to it."""
    with transaction():
        category = get_record(TrafficCategory, category_id)
        if TrafficHourly.select().where(TrafficHourly.category_id == category.id).exists():
            raise Conflict(N_("Traffic was counted in this category; it cannot be deleted."))
        audit.record(actor, "tariff.category_delete", "tariff", category.tariff_id,
                     before={"id": category.id, "name": category.name})
        category.delete_instance()
        bump_version(Tariff, category.tariff_id)

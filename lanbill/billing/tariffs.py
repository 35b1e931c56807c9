"""Tariffs: create, update, copy, archive (DESIGN §6 names their fields)."""

from __future__ import annotations

from lanbill.billing.currency import default_currency
from lanbill.db import transaction
from lanbill.errors import N_, Conflict, ValidationError
from lanbill.models import Currency, Tariff
from lanbill.models.tariffs import SCHEMES, VOLUME_SOURCES
from lanbill.money import MoneyError, parse_money
from lanbill.staff import audit

TARIFF_MONEY = ("rent", "rent_blocked", "rent_admin_blocked", "rent_user_blocked", "price_per_minute")
TARIFF_INTS = ("prepaid_mb", "traffic_limit_mb", "speed_in_kbit", "speed_out_kbit", "prepaid_minutes")


def clean_tariff(data: dict, *, partial: bool = False) -> dict:
    """Check tariff fields (DESIGN §6 names them); money as decimal strings."""
    out, errors = {}, {}
    if "name" in data or not partial:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            errors["name"] = N_("Required.")
        else:
            out["name"] = name.strip()
    if "currency" in data:
        code = data["currency"]
        currency = Currency.get_or_none(Currency.code == str(code).upper()) if isinstance(code, str) else None
        if currency is None:
            errors["currency"] = N_("Unknown currency.")
        else:
            out["currency"] = currency
    if "scheme" in data:
        if data["scheme"] not in SCHEMES:
            errors["scheme"] = N_("One of monthly, daily, dynamic.")
        else:
            out["scheme"] = data["scheme"]
    if "volume_source" in data:
        if data["volume_source"] not in VOLUME_SOURCES:
            errors["volume_source"] = N_("One of netflow, radius.")
        else:
            out["volume_source"] = data["volume_source"]
    for key in TARIFF_MONEY:
        if key in data:
            if data[key] is None and key in ("rent_admin_blocked", "rent_user_blocked"):
                out[key] = None
                continue
            try:
                out[key] = parse_money(data[key], allow_negative=False)
            except MoneyError as exc:
                errors[key] = exc.message
    for key in TARIFF_INTS:
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                errors[key] = N_("A whole number, zero or more.")
                continue
            try:
                value = int(value)
                if value < 0:
                    raise ValueError
                out[key] = value
            except ValueError:
                errors[key] = N_("A whole number, zero or more.")
    for key in ("description", "framed_pool"):
        if key in data:
            out[key] = str(data[key] or "").strip()
    if errors:
        raise ValidationError(N_("Check the highlighted fields."), fields=errors)
    return out


def create_tariff(data: dict, *, actor) -> Tariff:
    fields = clean_tariff(data)
    if "currency" not in fields:
        fields["currency"] = default_currency()
    with transaction():
        tariff = Tariff.create(**fields)
        audit.record(actor, "tariff.create", "tariff", tariff.id, after=_plain(fields))
    return tariff


def update_tariff(tariff: Tariff, data: dict, *, actor, version: int | None = None) -> Tariff:
    fields = clean_tariff(data, partial=True)
    with transaction():
        current = Tariff.get_by_id(tariff.id)
        if version is not None and current.version != version:
            raise Conflict(N_("Someone else changed this record meanwhile; reload and try again."))
        before = {k: getattr(current, k) for k in fields}
        for key, value in fields.items():
            setattr(current, key, value)
        current.version += 1
        current.save()
        old, new = audit.diff(_plain(before), _plain(fields))
        audit.record(actor, "tariff.update", "tariff", current.id, before=old, after=new)
    return current


def copy_tariff(tariff: Tariff, *, actor, name: str | None = None) -> Tariff:
    """A copy with its traffic categories, named "<name> (copy)"."""
    with transaction():
        data = {f: getattr(tariff, f) for f in tariff._meta.fields if f not in ("id", "created_at", "version")}
        data["name"] = name or f"{tariff.name} (copy)"
        data["archived"] = False
        copy = Tariff.create(**data)
        for category in tariff.categories:
            values = {f: getattr(category, f) for f in category._meta.fields if f not in ("id", "tariff")}
            type(category).create(tariff=copy, **values)
        audit.record(actor, "tariff.copy", "tariff", copy.id, after={"from": tariff.id})
    return copy


def archive_tariff(tariff: Tariff, *, actor, archived: bool = True) -> Tariff:
    """Archived tariffs are not offered to new accounts; a tariff is never
    deleted while in use."""
    with transaction():
        Tariff.update(archived=archived).where(Tariff.id == tariff.id).execute()
        audit.record(actor, "tariff.archive" if archived else "tariff.unarchive", "tariff", tariff.id)
    return Tariff.get_by_id(tariff.id)


def _plain(fields: dict) -> dict:
    return {k: (v.code if isinstance(v, Currency) else v) for k, v in fields.items()}

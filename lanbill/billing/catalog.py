"""Tariffs, agents and NAS: create, update, copy, archive."""

from __future__ import annotations

import ipaddress

from lanbill.billing import audit
from lanbill.billing.errors import N_, Conflict, NotFound, ValidationError
from lanbill.db import transaction
from lanbill.models import Account, Agent, Currency, Nas, Tariff
from lanbill.models.agents import AGENT_TYPES, NAS_VENDORS
from lanbill.models.tariffs import SCHEMES, VOLUME_SOURCES
from lanbill.money import MoneyError, parse_money

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
        from lanbill.billing.agreements import default_currency

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


def delete_tariff(tariff: Tariff, *, actor) -> None:
    if Account.select().where(Account.tariff == tariff.id).exists():
        raise Conflict(N_("The tariff is in use; archive it instead."))
    with transaction():
        audit.record(actor, "tariff.delete", "tariff", tariff.id, before={"name": tariff.name})
        tariff.delete_instance(recursive=True)


def create_agent(data: dict, *, actor) -> Agent:
    errors = {}
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        errors["name"] = N_("Required.")
    if data.get("type") not in AGENT_TYPES:
        errors["type"] = N_("One of radius, netflow, usbox.")
    options = data.get("options", {})
    if options is None:
        options = {}
    if not isinstance(options, dict):
        errors["options"] = N_("Must be an object.")
    if errors:
        raise ValidationError(N_("Check the highlighted fields."), fields=errors)
    with transaction():
        if Agent.select().where(Agent.name == name.strip()).exists():
            raise Conflict(N_("An agent with this name exists."), fields={"name": N_("Taken.")})
        agent = Agent.create(name=name.strip(), type=data["type"], options=options,
                             listen_address=data.get("listen_address") or "0.0.0.0")
        audit.record(actor, "agent.create", "agent", agent.id, after={"name": agent.name, "type": agent.type})
    return agent


def update_agent(agent: Agent, data: dict, *, actor) -> Agent:
    with transaction():
        before = {"name": agent.name, "options": agent.options, "enabled": agent.enabled}
        if "name" in data:
            if not isinstance(data["name"], str) or not data["name"].strip():
                raise ValidationError(N_("Check the highlighted fields."), fields={"name": N_("Required.")})
            agent.name = data["name"].strip()
        if "options" in data:
            if not isinstance(data["options"], dict):
                raise ValidationError(N_("Check the highlighted fields."), fields={"options": N_("Must be an object.")})
            agent.options = data["options"]
        if "enabled" in data:
            agent.enabled = bool(data["enabled"])
        agent.save()
        audit.record(actor, "agent.update", "agent", agent.id, before=before,
                     after={"name": agent.name, "options": agent.options, "enabled": agent.enabled})
    return agent


def clean_nas(data: dict, *, partial: bool = False) -> dict:
    out, errors = {}, {}
    if "name" in data or not partial:
        if not isinstance(data.get("name"), str) or not data["name"].strip():
            errors["name"] = N_("Required.")
        else:
            out["name"] = data["name"].strip()
    if "ip" in data or not partial:
        try:
            out["ip"] = str(ipaddress.ip_address(str(data.get("ip", "")).strip()))
        except ValueError:
            errors["ip"] = N_("Not an IP address.")
    if "secret" in data or not partial:
        secret = data.get("secret")
        if not isinstance(secret, str) or not secret:
            errors["secret"] = N_("Required.")
        elif len(secret) > 128:
            errors["secret"] = N_("At most 128 characters.")
        else:
            out["secret"] = secret
    if "vendor" in data:
        if data["vendor"] not in NAS_VENDORS:
            errors["vendor"] = N_("One of mikrotik, accel-ppp, cisco, generic.")
        else:
            out["vendor"] = data["vendor"]
    if "coa_port" in data:
        port = data["coa_port"]
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            errors["coa_port"] = N_("A port number, 1 to 65535.")
        else:
            out["coa_port"] = port
    if "agent_id" in data and data["agent_id"] is not None:
        if Agent.get_or_none(Agent.id == data["agent_id"]) is None:
            errors["agent_id"] = N_("No such agent.")
        else:
            out["agent"] = data["agent_id"]
    if "require_message_authenticator" in data:
        out["require_message_authenticator"] = bool(data["require_message_authenticator"])
    if errors:
        raise ValidationError(N_("Check the highlighted fields."), fields=errors)
    return out


def create_nas(data: dict, *, actor) -> Nas:
    fields = clean_nas(data)
    with transaction():
        if Nas.select().where(Nas.ip == fields["ip"]).exists():
            raise Conflict(N_("A NAS with this IP exists."), fields={"ip": N_("Taken.")})
        nas = Nas.create(**fields)
        audit.record(actor, "nas.create", "nas", nas.id, after={"name": nas.name, "ip": nas.ip})
    return nas


def update_nas(nas: Nas, data: dict, *, actor) -> Nas:
    fields = clean_nas(data, partial=True)
    with transaction():
        if "ip" in fields and Nas.select().where((Nas.ip == fields["ip"]) & (Nas.id != nas.id)).exists():
            raise Conflict(N_("A NAS with this IP exists."), fields={"ip": N_("Taken.")})
        for key, value in fields.items():
            setattr(nas, key, value)
        nas.save()
        audit.record(actor, "nas.update", "nas", nas.id,
                     after={k: v for k, v in fields.items() if k != "secret"})
    return nas


def get_or_404(model, object_id):
    found = model.get_or_none(model.id == object_id)
    if found is None:
        raise NotFound(N_("Not found."))
    return found


def _plain(fields: dict) -> dict:
    return {k: (v.code if isinstance(v, Currency) else v) for k, v in fields.items()}

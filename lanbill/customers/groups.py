"""Subscriber groups and their promised-payment settings (seed 002
«Обещанный платеж»); the system group "All subscribers" stays."""

from __future__ import annotations

from lanbill.db import transaction
from lanbill.errors import N_, Conflict
from lanbill.models import Group
from lanbill.money import MoneyError, parse_money
from lanbill.records import check_version, clean_int, clean_text, get_record, raise_if_any
from lanbill.staff import audit


def clean_group(data: dict) -> dict:
    """A group and its promised-payment settings (seed 002 «Обещанный
    платеж»: allowed or not, the largest amount, the term in days, the
    least number of days between two promises)."""
    errors: dict = {}
    out = {
        "name": clean_text(data, "name", errors, required=True, limit=128),
        "description": clean_text(data, "description", errors, limit=4000),
        "promise_allowed": bool(data.get("promise_allowed")),
        "promise_days": clean_int(data, "promise_days", errors, 1, 365, default=3),
        "promise_interval_days": clean_int(data, "promise_interval_days", errors, 0, 365, default=30),
    }
    try:
        out["promise_max_amount"] = parse_money(data.get("promise_max_amount") or "0", allow_negative=False)
    except MoneyError as exc:
        errors["promise_max_amount"] = exc.message
    if out["promise_allowed"] and not errors.get("promise_max_amount") and out["promise_max_amount"] <= 0:
        errors["promise_max_amount"] = N_("Give the largest amount of a promised payment.")
    raise_if_any(errors)
    return out


def _group_name_free(name: str, exclude_id=None) -> None:
    query = Group.select().where(Group.name == name)
    if exclude_id is not None:
        query = query.where(Group.id != exclude_id)
    if query.exists():
        raise Conflict(N_("A group with this name exists."), fields={"name": N_("Taken.")})


def create_group(data: dict, *, actor) -> Group:
    fields = clean_group(data)
    with transaction():
        _group_name_free(fields["name"])
        group = Group.create(**fields)
        audit.record(actor, "group.create", "group", group.id, after=fields)
    return group


def update_group(group_id, data: dict, *, actor, version=None) -> Group:
    fields = clean_group(data)
    with transaction():
        current = get_record(Group, group_id)
        check_version(current, version)
        _group_name_free(fields["name"], current.id)
        before = {k: getattr(current, k) for k in fields}
        old, new = audit.diff(before, fields)
        Group.update(version=Group.version + 1, **fields).where(Group.id == current.id).execute()
        audit.record(actor, "group.update", "group", current.id, before=old, after=new)
    return Group.get_by_id(current.id)


def delete_group(group_id, *, actor) -> None:
    """The system group "All subscribers" cannot be deleted (seed 002: every
    subscriber is in it).  Deleting another group drops its memberships
    and its links to roles; subscribers themselves stay."""
    with transaction():
        group = get_record(Group, group_id)
        if group.is_system:
            raise Conflict(N_("The system group cannot be deleted."))
        audit.record(actor, "group.delete", "group", group.id, before={"name": group.name})
        group.delete_instance(recursive=True)


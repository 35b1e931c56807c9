"""Ticket classes («класс запроса», seed 002 «Поддержка»): a list staff
keep.  A class is never deleted — tickets keep theirs — it is archived:
then it is no longer offered for new tickets."""

from __future__ import annotations

from lanbill.db import transaction
from lanbill.errors import N_, Conflict
from lanbill.models.helpdesk import TicketClass
from lanbill.records import clean_text, get_record, raise_if_any
from lanbill.staff import audit


def active_classes() -> list[TicketClass]:
    """The classes offered for a new ticket, by name."""
    return list(TicketClass.select().where(TicketClass.archived == False).order_by(TicketClass.name))  # noqa: E712


def all_classes() -> list[TicketClass]:
    return list(TicketClass.select().order_by(TicketClass.archived, TicketClass.name))


def active_class(class_id) -> TicketClass | None:
    """The class by id if it exists and is not archived."""
    try:
        class_id = int(class_id)
    except (TypeError, ValueError):
        return None
    return TicketClass.get_or_none((TicketClass.id == class_id) & (TicketClass.archived == False))  # noqa: E712


def class_names() -> dict[int, str]:
    return {c.id: c.name for c in TicketClass.select()}


def _clean(data: dict) -> dict:
    errors: dict = {}
    out = {"name": clean_text(data, "name", errors, required=True, limit=128),
           "archived": bool(data.get("archived"))}
    raise_if_any(errors)
    return out


def _name_free(name: str, exclude_id=None) -> None:
    query = TicketClass.select().where(TicketClass.name == name)
    if exclude_id is not None:
        query = query.where(TicketClass.id != exclude_id)
    if query.exists():
        raise Conflict(N_("A ticket class with this name exists."), fields={"name": N_("Taken.")})


def create_class(data: dict, *, actor) -> TicketClass:
    """A new class: a name, unique among the classes."""
    fields = _clean(data)
    with transaction():
        _name_free(fields["name"])
        found = TicketClass.create(**fields)
        audit.record(actor, "ticket_class.create", "ticket_class", found.id, after=fields)
    return found


def update_class(class_id, data: dict, *, actor) -> TicketClass:
    """Rename a class or archive it (or bring it back)."""
    fields = _clean(data)
    with transaction():
        current = get_record(TicketClass, class_id)
        _name_free(fields["name"], current.id)
        old, new = audit.diff({"name": current.name, "archived": current.archived}, fields)
        if new:
            TicketClass.update(**fields).where(TicketClass.id == current.id).execute()
            audit.record(actor, "ticket_class.update", "ticket_class", current.id, before=old, after=new)
    return TicketClass.get_by_id(current.id)

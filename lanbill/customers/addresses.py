"""The address directory (region → city → street → building) and the
concrete addresses subscribers point at.

Seed 002 «Работа со справочником адресов»: an address is picked from the
directory; a missing entry is added in place; a postal index may sit on a
street or on a building, and the building's wins.
"""

from __future__ import annotations

import re

from peewee import JOIN

from lanbill.db import is_sqlite, transaction
from lanbill.errors import N_, Conflict, NotFound, ValidationError
from lanbill.models import Address, Building, City, Region, Street
from lanbill.staff import audit

LEVELS = ("region", "city", "street", "building")
MODELS = {"region": Region, "city": City, "street": Street, "building": Building}
# The field that names an entry and the field that points at its parent.
NAME_FIELD = {"region": "name", "city": "name", "street": "name", "building": "number"}
PARENT_FIELD = {"city": "region", "street": "city", "building": "street"}
PARENT_LEVEL = {"city": "region", "street": "city", "building": "street"}
CHILD_LEVEL = {"region": "city", "city": "street", "street": "building"}
HAS_INDEX = ("street", "building")
_INDEX = re.compile(r"^\d{6}$")


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise NotFound(N_("Not found."))


def _clean_name(level: str, name) -> str:
    name = (name or "").strip() if isinstance(name, str) else ""
    field = NAME_FIELD[level]
    if not name:
        raise ValidationError(N_("Check the highlighted fields."), fields={field: N_("Required.")})
    limit = 32 if level == "building" else 128
    if len(name) > limit:
        message = N_("At most 32 characters.") if limit == 32 else N_("At most 128 characters.")
        raise ValidationError(N_("Check the highlighted fields."), fields={field: message})
    return name


def clean_postal_index(value) -> str:
    """A Russian postal index: six digits, or empty."""
    value = (value or "").strip() if isinstance(value, str) else ""
    if value and not _INDEX.match(value):
        raise ValidationError(N_("Check the highlighted fields."),
                              fields={"postal_index": N_("Six digits, or leave it empty.")})
    return value


def get_entry(level: str, entry_id):
    _check_level(level)
    model = MODELS[level]
    try:
        entry = model.get_or_none(model.id == int(entry_id))
    except (TypeError, ValueError):
        entry = None
    if entry is None:
        raise NotFound(N_("Not found."))
    return entry


def children_query(level: str, parent_id=None, *, q: str = ""):
    """A query (not yet ordered) of the entries of `level` under
    `parent_id` (regions have no parent) whose name contains `q`,
    case-insensitive; None when the parent is missing or malformed."""
    _check_level(level)
    model = MODELS[level]
    name_col = getattr(model, NAME_FIELD[level])
    query = model.select()
    if level in PARENT_FIELD:
        try:
            parent_id = int(parent_id)
        except (TypeError, ValueError):
            return None
        query = query.where(getattr(model, PARENT_FIELD[level]) == parent_id)
    q = (q or "").strip()
    if q and not is_sqlite():
        query = query.where(name_col.contains(q))
    elif q:
        # SQLite's LIKE folds only ASCII case; the entries under one parent
        # are few, so Cyrillic "contains" is checked here instead.
        ids = [e.id for e in query.select(model.id, name_col) if q.lower() in getattr(e, NAME_FIELD[level]).lower()]
        query = model.select().where(model.id.in_(ids))
    return query


def children(level: str, parent_id=None, *, q: str = "", limit: int = 200) -> list[dict]:
    """Entries of `level` under `parent_id` whose name contains `q`, by
    name, as plain dicts for the picker: {id, name, postal_index}."""
    query = children_query(level, parent_id, q=q)
    if query is None:
        return []
    model = MODELS[level]
    name_col = getattr(model, NAME_FIELD[level])
    return [
        {"id": entry.id, "name": getattr(entry, NAME_FIELD[level]), "postal_index": getattr(entry, "postal_index", "")}
        for entry in query.order_by(name_col, model.id).limit(limit)
    ]


def add_entry(level: str, parent_id, name, *, actor, postal_index="") -> object:
    """Add a directory entry ("Добавить новую запись"): a region, a city of
    a region, a street of a city or a building of a street.  Names are
    unique under their parent; a duplicate is refused, not merged."""
    _check_level(level)
    model = MODELS[level]
    name = _clean_name(level, name)
    index = clean_postal_index(postal_index) if level in HAS_INDEX else ""
    values = {NAME_FIELD[level]: name}
    if level in HAS_INDEX:
        values["postal_index"] = index
    with transaction():
        if level in PARENT_FIELD:
            parent = get_entry(PARENT_LEVEL[level], parent_id)
            values[PARENT_FIELD[level]] = parent.id
        taken = model.select().where(
            *[getattr(model, k) == v for k, v in values.items() if k != "postal_index"]
        ).exists()
        if taken:
            raise Conflict(N_("Such an entry already exists."), fields={NAME_FIELD[level]: N_("Taken.")})
        entry = model.create(**values)
        audit.record(actor, f"address.{level}.create", f"address_{level}", entry.id, after=values)
    return entry


def update_entry(level: str, entry_id, *, actor, name=None, postal_index=None) -> object:
    """Rename an entry or change its postal index."""
    entry = get_entry(level, entry_id)
    model = MODELS[level]
    changes = {}
    if name is not None:
        changes[NAME_FIELD[level]] = _clean_name(level, name)
    if postal_index is not None and level in HAS_INDEX:
        changes["postal_index"] = clean_postal_index(postal_index)
    with transaction():
        entry = get_entry(level, entry_id)
        field = NAME_FIELD[level]
        if field in changes and changes[field] != getattr(entry, field):
            query = model.select().where((getattr(model, field) == changes[field]) & (model.id != entry.id))
            if level in PARENT_FIELD:
                parent_col = getattr(model, PARENT_FIELD[level])
                query = query.where(parent_col == getattr(entry, PARENT_FIELD[level] + "_id"))
            if query.exists():
                raise Conflict(N_("Such an entry already exists."), fields={field: N_("Taken.")})
        before = {k: getattr(entry, k) for k in changes}
        old, new = audit.diff(before, changes)
        if new:
            model.update(**changes).where(model.id == entry.id).execute()
            audit.record(actor, f"address.{level}.update", f"address_{level}", entry.id, before=old, after=new)
    return get_entry(level, entry_id)


def delete_entry(level: str, entry_id, *, actor) -> None:
    """Delete an entry that has no children and that no address uses."""
    entry = get_entry(level, entry_id)
    with transaction():
        if level in CHILD_LEVEL:
            child = MODELS[CHILD_LEVEL[level]]
            if child.select().where(getattr(child, PARENT_FIELD[CHILD_LEVEL[level]]) == entry.id).exists():
                raise Conflict(N_("The entry has entries under it; delete them first."))
        else:
            if Address.select().where(Address.building == entry.id).exists():
                raise Conflict(N_("The building is used in addresses."))
        audit.record(actor, f"address.{level}.delete", f"address_{level}", entry.id,
                     before={NAME_FIELD[level]: getattr(entry, NAME_FIELD[level])})
        entry.delete_instance()


def building_info(building_id) -> dict:
    """The whole path of a building with its effective postal index (the
    building's wins over the street's) and the one-line text.  One query."""
    row = (
        Building.select(Building, Street, City, Region)
        .join(Street).join(City).join(Region)
        .where(Building.id == building_id)
        .first()
    ) if str(building_id).isdigit() else None
    if row is None:
        raise NotFound(N_("Not found."))
    street = row.street
    city = street.city
    region = city.region
    index = row.postal_index or street.postal_index
    return {
        "building_id": row.id,
        "region": {"id": region.id, "name": region.name},
        "city": {"id": city.id, "name": city.name},
        "street": {"id": street.id, "name": street.name, "postal_index": street.postal_index},
        "building": {"id": row.id, "number": row.number, "postal_index": row.postal_index},
        "postal_index": index,
        "text": _line(index, region.name, city.name, street.name, row.number, ""),
    }


def _line(index, region, city, street, number, flat) -> str:
    """The address on one line; a flat given as a number reads «кв. 12», an
    office or anything else typed in words («офис 3») as typed."""
    line = ", ".join(p for p in (index, region, city, street, number) if p)
    if not flat:
        return line
    return f"{line}, кв. {flat}" if flat[:1].isdigit() else f"{line}, {flat}"


def save_address(current: Address | None, *, building_id=None, flat: str = "", text: str = "",
                 actor=None) -> Address | None:
    """Create or change a concrete address: a directory building plus a
    flat, or free text when the directory has no entry.  Returns None when
    everything is empty (the address is cleared).  Runs in the caller's
    transaction when there is one."""
    flat = (flat or "").strip()
    text = (text or "").strip()
    if len(flat) > 32:
        raise ValidationError(N_("Check the highlighted fields."), fields={"flat": N_("At most 32 characters.")})
    if building_id in ("", None):
        building_id = None
    else:
        building_id = get_entry("building", building_id).id
    if building_id is None and not text:
        return None
    with transaction():
        if current is None:
            address = Address.create(building=building_id, flat=flat, text=text)
            audit.record(actor, "address.create", "address", address.id,
                         after={"building": building_id, "flat": flat, "text": text})
        else:
            before = {"building": current.building_id, "flat": current.flat, "text": current.text}
            after = {"building": building_id, "flat": flat, "text": text}
            old, new = audit.diff(before, after)
            if new:
                Address.update(**after).where(Address.id == current.id).execute()
                audit.record(actor, "address.update", "address", current.id, before=old, after=new)
            address = Address.get_by_id(current.id)
    return address


def address_texts(address_ids) -> dict[int, str]:
    """One-line texts of many addresses in one query (for lists: no query
    per row)."""
    ids = [int(i) for i in address_ids if i]
    if not ids:
        return {}
    query = (
        Address.select(Address.id, Address.flat, Address.text, Building.number, Building.postal_index,
                       Street.name, Street.postal_index.alias("street_index"), City.name.alias("city"),
                       Region.name.alias("region"))
        .join(Building, join_type=JOIN.LEFT_OUTER, on=(Address.building == Building.id))
        .join(Street, join_type=JOIN.LEFT_OUTER, on=(Building.street == Street.id))
        .join(City, join_type=JOIN.LEFT_OUTER, on=(Street.city == City.id))
        .join(Region, join_type=JOIN.LEFT_OUTER, on=(City.region == Region.id))
        .where(Address.id.in_(ids))
        .dicts()
    )
    out = {}
    for row in query:
        if row["number"] is None:
            out[row["id"]] = row["text"]
        else:
            index = row["postal_index"] or row["street_index"]
            out[row["id"]] = _line(index, row["region"], row["city"], row["name"], row["number"], row["flat"])
    return out


def address_text(address: Address | None) -> str:
    if address is None:
        return ""
    return address_texts([address.id]).get(address.id, "")

"""Subscribers: create, update, delete, groups, templates, similar names.

Seed 002 «Работа с формой свойств объекта „Пользователь“»: category and
class are fixed at creation; the class decides the field set; every
subscriber is in the system group "All subscribers" and cannot leave it; a
subscriber with accounts cannot be deleted.
"""

from __future__ import annotations

import datetime as dt
import re

from lanbill.clock import today
from lanbill.db import transaction
from lanbill.errors import N_, Conflict, NotFound, ValidationError
from lanbill.models import Account, Group, Subscriber, SubscriberGroup
from lanbill.models.base import utcnow
from lanbill.models.subscribers import (
    CATEGORIES,
    COMMON_FIELDS,
    INDIVIDUAL_FIELDS,
    KINDS,
    LEGAL_FIELDS,
)
from lanbill.staff import audit

SYSTEM_GROUP_NAME = "All subscribers"

_VOWELS = set("аеёиоуыэюяйьъaeiouyw")
# Voiced/voiceless pairs sound alike at the end of Russian words; folding
# them makes «Дубов» and «Дупоф» one skeleton.
_FOLD = str.maketrans({"б": "п", "в": "ф", "г": "к", "д": "т", "ж": "ш", "з": "с",
                       "b": "p", "v": "f", "g": "k", "d": "t", "z": "s"})
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def name_skeleton(name: str) -> str:
    """The consonant skeleton of a name («созвучие», seed 002): lower case,
    vowels dropped, voiced consonants folded to voiceless, doubles merged.
    Words are kept in order, separated by one space."""
    words = []
    for word in re.findall(r"\w+", (name or "").lower()):
        letters = [c for c in word.translate(_FOLD) if c.isalpha() and c not in _VOWELS]
        merged = [c for i, c in enumerate(letters) if i == 0 or c != letters[i - 1]]
        if merged:
            words.append("".join(merged))
    return " ".join(words)


def similar_subscribers(name: str, *, exclude_id: int | None = None, limit: int = 10):
    """Subscribers whose skeleton shares every word skeleton of `name`."""
    skeleton = name_skeleton(name)
    if not skeleton:
        return []
    query = Subscriber.select().where(Subscriber.is_template == False)  # noqa: E712
    for word in skeleton.split():
        query = query.where(Subscriber.name_skeleton.contains(word))
    if exclude_id:
        query = query.where(Subscriber.id != exclude_id)
    return list(query.order_by(Subscriber.name).limit(limit))


_DIVISION_CODE = re.compile(r"\d{3}-\d{3}")


def parse_person_date(text: str) -> dt.date | None:
    """A passport issue date or a birth date as staff type it or a date
    input sends it: 25.03.1990 or 1990-03-25; stored as ISO so the form's
    date input shows it.  None if it is not a date between 1900 and today."""
    text = (text or "").strip()
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            day = dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
        return day if dt.date(1900, 1, 1) <= day <= today() else None
    return None


def system_group() -> Group:
    return Group.get(Group.is_system == True)  # noqa: E712


def _clean(data: dict, kind: str) -> dict:
    """Keep the common fields and those of the class; check the few rules."""
    allowed = set(COMMON_FIELDS) | set(INDIVIDUAL_FIELDS if kind == "individual" else LEGAL_FIELDS)
    allowed |= {"main_address", "postal_address", "delivery_address", "is_template"}
    clean = {k: v for k, v in data.items() if k in allowed}
    errors = {}
    for key, value in list(clean.items()):
        if isinstance(value, str):
            clean[key] = value.strip()
    if "name" in clean and not clean["name"]:
        errors["name"] = N_("Required.")
    if clean.get("email") and not _EMAIL.match(clean["email"]):
        errors["email"] = N_("Not an e-mail address.")
    for key, length in (("inn", (10, 12)), ("kpp", (9,)), ("ogrn", (13, 15)), ("bik", (9,)),
                        ("corr_account", (20,)), ("settlement_account", (20,))):
        value = clean.get(key)
        if value and (not value.isdigit() or len(value) not in length):
            errors[key] = N_("Digits only, of the right length.")
    if clean.get("passport_division_code") and not _DIVISION_CODE.fullmatch(clean["passport_division_code"]):
        errors["passport_division_code"] = N_("Six digits as 123-456.")
    for key in ("passport_issued_on", "birth_date"):
        if clean.get(key):
            day = parse_person_date(clean[key])
            if day is None:
                errors[key] = N_("A date such as 25.03.1990.")
            else:
                clean[key] = day.isoformat()
    if clean.get("login") == "":
        clean["login"] = None
    if errors:
        raise ValidationError(N_("Check the highlighted fields."), fields=errors)
    return clean


def create_subscriber(data: dict, *, actor, groups=()) -> Subscriber:
    """Create a subscriber; `data` holds `kind`, `category` and the fields.
    The other class's fields are dropped, not kept (seed 002)."""
    kind = data.get("kind", "individual")
    category = data.get("category", "subscriber")
    errors = {}
    if kind not in KINDS:
        errors["kind"] = N_("One of individual, legal.")
    if category not in CATEGORIES:
        errors["category"] = N_("One of subscriber, operator, dealer.")
    if not (data.get("name") or "").strip():
        errors["name"] = N_("Required.")
    if errors:
        raise ValidationError(N_("Check the highlighted fields."), fields=errors)
    fields = _clean(data, kind)
    with transaction():
        _check_login_free(fields.get("login"), None)
        subscriber = Subscriber.create(
            kind=kind, category=category, name_skeleton=name_skeleton(fields["name"]), **fields
        )
        group_ids = {system_group().id} | {g if isinstance(g, int) else g.id for g in groups}
        for group_id in sorted(group_ids):
            SubscriberGroup.create(subscriber=subscriber, group=group_id)
        audit.record(actor, "subscriber.create", "subscriber", subscriber.id, after=fields)
    return subscriber


def update_subscriber(subscriber: Subscriber, data: dict, *, actor, version: int | None = None) -> Subscriber:
    """Update fields; `kind` and `category` cannot change.  With `version`,
    a form edited meanwhile by someone else is refused (stale form)."""
    for fixed in ("kind", "category"):
        if fixed in data and data[fixed] != getattr(subscriber, fixed):
            raise ValidationError(
                N_("Category and class are fixed after creation."),
                fields={fixed: N_("Cannot be changed.")},
            )
    fields = _clean(data, subscriber.kind)
    with transaction():
        current = Subscriber.get_by_id(subscriber.id)
        if version is not None and current.version != version:
            raise Conflict(N_("Someone else changed this record meanwhile; reload and try again."))
        if "login" in fields:
            _check_login_free(fields["login"], subscriber.id)
        before = {k: getattr(current, k) for k in fields}
        for key, value in fields.items():
            setattr(current, key, value)
        if "name" in fields:
            current.name_skeleton = name_skeleton(current.name)
        current.version += 1
        current.updated_at = utcnow()
        current.save()
        old, new = audit.diff(before, fields)
        audit.record(actor, "subscriber.update", "subscriber", current.id, before=old, after=new)
    return current


def _check_login_free(login, subscriber_id):
    if not login:
        return
    query = Subscriber.select().where(Subscriber.login == login)
    if subscriber_id:
        query = query.where(Subscriber.id != subscriber_id)
    if query.exists():
        raise Conflict(N_("This cabinet login is taken."), fields={"login": N_("Taken.")})


def delete_subscriber(subscriber: Subscriber, *, actor) -> None:
    """Delete a subscriber without accounts or agreements; refuse otherwise
    (seed 002: hand the accounts over or delete them first)."""
    with transaction():
        if Account.select().where(Account.subscriber == subscriber.id).exists():
            raise Conflict(N_("The subscriber has accounts; delete them or move them to another subscriber first."))
        if subscriber.agreements.exists():
            raise Conflict(N_("The subscriber has agreements with a ledger; it cannot be deleted."))
        audit.record(actor, "subscriber.delete", "subscriber", subscriber.id,
                     before={"name": subscriber.name})
        SubscriberGroup.delete().where(SubscriberGroup.subscriber == subscriber.id).execute()
        subscriber.delete_instance()


def add_to_group(subscriber: Subscriber, group: Group, *, actor) -> None:
    with transaction():
        _, created = SubscriberGroup.get_or_create(subscriber=subscriber.id, group=group.id)
        if created:
            audit.record(actor, "subscriber.group_add", "subscriber", subscriber.id,
                         after={"group": group.name})


def remove_from_group(subscriber: Subscriber, group: Group, *, actor) -> None:
    """The system group cannot be left (seed 002)."""
    if group.is_system:
        raise Conflict(N_("Nobody can leave the group \"All subscribers\"."))
    with transaction():
        deleted = (
            SubscriberGroup.delete()
            .where((SubscriberGroup.subscriber == subscriber.id) & (SubscriberGroup.group == group.id))
            .execute()
        )
        if deleted:
            audit.record(actor, "subscriber.group_remove", "subscriber", subscriber.id,
                         before={"group": group.name})


def get_subscriber(subscriber_id) -> Subscriber:
    found = Subscriber.get_or_none(Subscriber.id == subscriber_id)
    if found is None:
        raise NotFound(N_("Subscriber not found."))
    return found

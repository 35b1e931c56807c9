"""Helpers every domain room shares for editing a record: fetch it or refuse
with NotFound, refuse a stale write, clean plain form/JSON fields.

Stale check (DESIGN §9, no silent overwrite): a screen or API client sends
back the `version` it showed; a different current version means someone
changed the record meanwhile, and the write is refused with `STALE`.
"""

from __future__ import annotations

import re

from lanbill.errors import N_, Conflict, NotFound, ValidationError

STALE = N_("Someone else changed this record meanwhile; reload and try again.")
CHECK = N_("Check the highlighted fields.")
# Field messages are msgids translated by the screen, so each is a literal.
RANGE_MESSAGES = {
    (0, 100): N_("From 0 to 100."),
    (1, 365): N_("From 1 to 365."),
    (0, 365): N_("From 0 to 365."),
}
DIGIT_MESSAGES = {
    (10, 12): N_("10 or 12 digits."),
    (9,): N_("Exactly 9 digits."),
    (13, 15): N_("13 or 15 digits."),
    (20,): N_("Exactly 20 digits."),
}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DIGITS = re.compile(r"^\d+$")


def get_record(model, object_id):
    try:
        found = model.get_or_none(model.id == int(object_id))
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise NotFound(N_("Not found."))
    return found


def check_version(current, version) -> None:
    if version is not None and int(current.version) != int(version):
        raise Conflict(STALE)


def clean_text(data: dict, key: str, errors: dict, *, required: bool = False, limit: int = 255) -> str:
    value = data.get(key)
    value = value.strip() if isinstance(value, str) else ("" if value is None else str(value).strip())
    if required and not value:
        errors[key] = N_("Required.")
    elif len(value) > limit:
        errors[key] = N_("Too long.")
    return value


def clean_int(data: dict, key: str, errors: dict, low: int, high: int, default: int = 0) -> int:
    value = data.get(key, default)
    if value in (None, ""):
        value = default
    try:
        if isinstance(value, bool):
            raise ValueError
        number = int(value)
    except (TypeError, ValueError):
        errors[key] = N_("A whole number.")
        return default
    if not low <= number <= high:
        errors[key] = RANGE_MESSAGES.get((low, high), N_("Out of range."))
    return number


def clean_digits(value: str, key: str, lengths: tuple, errors: dict) -> None:
    """Russian requisites are fixed-length digit strings (INN 10/12, KPP 9,
    OGRN 13/15, BIK 9, bank accounts 20); empty is allowed."""
    if value and (not _DIGITS.match(value) or len(value) not in lengths):
        errors[key] = DIGIT_MESSAGES[lengths]


def raise_if_any(errors: dict) -> None:
    """Refuse with every field's message at once (nothing is saved)."""
    if errors:
        raise ValidationError(CHECK, fields=errors)


def bump_version(model, object_id) -> None:
    """Mark a record changed (its `version` + 1) so open forms showing the
    old version are refused on save."""
    model.update(version=model.version + 1).where(model.id == object_id).execute()

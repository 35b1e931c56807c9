"""Helpers every API resource shares: the API's own refusal (ApiError),
checking JSON field types before a domain function sees them, paging, the
token's visible subscribers, and the ISO 8601 forms of dates and times.

Type checks live here, not in billing/: a JSON body can carry a number
where text belongs, a float where money belongs, a list where an id
belongs.  Such a request is refused with 422 and the field named, before
anything is written; the domain functions then check the values' rules.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import peewee
from flask import g, request

from lanbill.errors import N_
from lanbill.models import Currency
from lanbill.staff.access import can_see_subscriber, scope


class ApiError(Exception):
    """A refusal decided by the API layer itself (types, permissions)."""

    def __init__(self, status: int, message: str, fields: dict | None = None, **params):
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields or {}
        self.params = params


# --- field types -------------------------------------------------------------

# Ids and counters are 32-bit integer columns on PostgreSQL; a larger value
# can name nothing and would fail in the database instead of here.
MAX_INT = 2**31 - 1


# Every text field has a length limit: a column's own, or this one for
# free text (comments, descriptions, reasons), so that a large body cannot
# become a megabyte comment.  A field that carries a whole file (CSV) says
# so with FILE_TEXT_MAX_LENGTH.
TEXT_MAX_LENGTH = 4000
FILE_TEXT_MAX_LENGTH = 5_000_000
# A money value longer than this is no amount (the largest, 1 000 000 000.00,
# has 13 characters); refused before it is parsed.
MONEY_MAX_LENGTH = 32


@dataclass(frozen=True)
class Field:
    """One accepted JSON field: its type, whether null is allowed and, for
    text, the longest value accepted (TEXT_MAX_LENGTH unless given)."""

    kind: str  # text | integer | id | boolean | object | text_list | id_list | money | date | datetime
    nullable: bool = False
    max_length: int | None = None

    @property
    def text_limit(self) -> int:
        return self.max_length if self.max_length is not None else TEXT_MAX_LENGTH


TOO_LONG = N_("Too long: at most %(limit)s characters.")

TYPE_MESSAGES = {
    "text": N_("Must be text."),
    "integer": N_("Must be a whole number."),
    "id": N_("Must be the id of an object, a whole number."),
    "boolean": N_("Must be true or false."),
    "object": N_("Must be an object."),
    "text_list": N_("Must be a list of text values."),
    "id_list": N_("Must be a list of ids, whole numbers."),
    "money": N_("Amount must be given as a string or an integer, not a float."),
    "date": N_("Must be a date, for example 2026-11-23."),
    "datetime": N_("Must be a date or a date and time, for example 2026-11-23T10:00:00+03:00."),
}


def _type_problem(field: Field, value) -> str | None:
    if value is None:
        return None if field.nullable else N_("Must not be null.")
    kind = field.kind
    if kind in ("text", "date", "datetime"):
        if not isinstance(value, str):
            return TYPE_MESSAGES[kind]
        if len(value) > field.text_limit:
            return (TOO_LONG, {"limit": field.text_limit})
        if kind == "date" and value.strip():
            try:
                dt.date.fromisoformat(value.strip())
            except ValueError:
                return TYPE_MESSAGES[kind]
        if kind == "datetime" and value.strip():
            try:
                dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                return TYPE_MESSAGES[kind]
        return None
    if kind in ("integer", "id"):
        if isinstance(value, bool) or not isinstance(value, int):
            return TYPE_MESSAGES[kind]
        if kind == "id" and not 0 < value <= MAX_INT:
            return TYPE_MESSAGES[kind]
        if kind == "integer" and not -MAX_INT <= value <= MAX_INT:
            return N_("Too large.")
        return None
    if kind == "boolean":
        return None if isinstance(value, bool) else TYPE_MESSAGES[kind]
    if kind == "object":
        return None if isinstance(value, dict) else TYPE_MESSAGES[kind]
    if kind == "text_list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return TYPE_MESSAGES[kind]
        if any(len(v) > field.text_limit for v in value):
            return (TOO_LONG, {"limit": field.text_limit})
        return None
    if kind == "id_list":
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) and 0 < v <= MAX_INT for v in value
        ):
            return TYPE_MESSAGES[kind]
        return None
    if kind == "money":
        # The value rules (two decimals, sign) are parse_money's; here only
        # the JSON type: a float has already lost the exact amount.
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            return TYPE_MESSAGES[kind]
        too_long = (len(value) > MONEY_MAX_LENGTH if isinstance(value, str)
                    else abs(value) >= 10**MONEY_MAX_LENGTH)
        if too_long:
            return N_("Amount is too large.")
        return None
    raise ValueError(f"unknown field kind {kind!r}")


def check_fields(data: dict, spec: dict[str, Field], *, required=(), unknown_message=None) -> dict:
    """Refuse (422, every bad field named) unknown fields, missing required
    ones and values of the wrong JSON type; return the data unchanged."""
    errors = {}
    for key in data:
        if key not in spec:
            errors[key] = unknown_message or N_("Unknown field.")
    for key in required:
        if data.get(key) is None or (isinstance(data.get(key), str) and not data[key].strip()):
            if key not in errors:
                errors[key] = N_("Required.")
    for key, value in data.items():
        if key in spec and key not in errors:
            problem = _type_problem(spec[key], value)
            if problem:
                errors[key] = problem
    if errors:
        raise ApiError(422, N_("Check the highlighted fields."), errors)
    return data


def unknown_reference(field: str, message: str) -> ApiError:
    """A body that names an object that does not exist (or that the token
    may not see: the same answer) is unprocessable, 422 — 404 is for URLs."""
    return ApiError(422, N_("Check the highlighted fields."), {field: message})


def text_fields(model, names, *, nullable=()) -> dict[str, Field]:
    """Field("text") for each name, with the column's max_length."""
    out = {}
    for name in names:
        column = model._meta.fields[name]
        if isinstance(column, peewee.BooleanField):
            out[name] = Field("boolean")
        else:
            out[name] = Field("text", nullable=name in nullable, max_length=getattr(column, "max_length", None))
    return out


# --- query arguments -----------------------------------------------------------


def int_arg(name: str, default: int, *, low: int = 1, high: int = MAX_INT) -> int:
    """A whole-number query parameter within [low, high], else 400."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < low or value > high:
        raise ApiError(400, N_("Query parameter %(name)s must be a whole number from %(low)s to %(high)s."),
                       {name: N_("Not a valid number.")}, name=name, low=low, high=high)
    return value


def date_arg(name: str) -> dt.date | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, N_("Query parameter %(name)s must be a date, for example 2026-11-23."),
                       {name: N_("Not a date.")}, name=name) from None


DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500


def paged(query, serialise, *, order_by, prepare=None) -> dict:
    """One page of `query` as {"items", "page", "per_page", "total"}
    (?page=1-based, ?per_page= up to 500).  `prepare(rows)`, if given,
    loads what the rows need in a few queries (instead of a few per row)
    and returns the serialise function to use."""
    page = int_arg("page", 1)
    per_page = int_arg("per_page", DEFAULT_PER_PAGE, high=MAX_PER_PAGE)
    total = query.count()
    rows = list(query.order_by(*order_by).paginate(page, per_page))
    if prepare is not None:
        serialise = prepare(rows)
    return {"items": [serialise(row) for row in rows], "page": page, "per_page": per_page, "total": total}


def currency_code(currency_id: int) -> str:
    """The ISO code of a currency, looked up once per request."""
    codes = g.setdefault("api_currency_codes", {})
    if currency_id not in codes:
        codes[currency_id] = Currency.get_by_id(currency_id).code
    return codes[currency_id]


# --- who sees what -------------------------------------------------------------


def visible(query, subscriber_field):
    """Restrict a query to the subscribers the token's role may see
    (lanbill.staff.access, the same rule as the admin screens)."""
    return scope(query, g.api_manager, subscriber_field)


def can_see(subscriber_id) -> bool:
    """Whether the token's role may see this subscriber (lanbill.staff.access)."""
    return can_see_subscriber(g.api_manager, subscriber_id)


# --- ISO 8601 ------------------------------------------------------------------


def iso_datetime(value: dt.datetime | None) -> str | None:
    """Timestamps are stored as naive UTC; the API says so with a "Z"."""
    if value is None:
        return None
    return value.replace(microsecond=0).isoformat() + "Z"


def iso_date(value) -> str | None:
    if value is None or value == "":
        return None
    return value.isoformat() if isinstance(value, dt.date) else str(value)

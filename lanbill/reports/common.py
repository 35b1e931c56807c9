"""What every report shares: the result shape (columns, rows, totals,
chart series), filter cleaning, local months and days as UTC bounds, the
ledger's kind classes and the manager's group scope as query conditions.

Reports read only; every figure comes from one set-based query per
breakdown (never a query per table row) and is exact money (minor units
summed by the database, Decimal in Python).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal

from peewee import Case, fn

from lanbill.clock import local_date_of, midnight_utc, today
from lanbill.db import from_minor, is_sqlite
from lanbill.errors import N_, ValidationError
from lanbill.models import Agreement, Group, Operator, SubscriberGroup, Tariff
from lanbill.money import MoneyError, parse_money
from lanbill.staff import access

# Ledger kinds by what an accountant calls them (DESIGN §4).  Charges are
# shown as positive amounts (the ledger stores them negative); a staff
# correction may go either way and is shown the same way: a correction
# that credits the balance is a negative charge.
RENT_KINDS = ("rent", "rent_correction")
SERVICE_KINDS = ("service", "one_off")
TRAFFIC_KINDS = ("volume", "time")
CORRECTION_KINDS = ("correction",)
PAYMENT_KINDS = ("payment", "payment_reversal")
# What counts as revenue (ARPU, tariffs): what the subscriber is charged
# for service; staff corrections are not revenue.
REVENUE_KINDS = RENT_KINDS + SERVICE_KINDS + TRAFFIC_KINDS

MAX_MONTHS = 36
MAX_DAYS = 400
ZERO = Decimal("0.00")
CENT = Decimal("0.01")


@dataclass
class Column:
    """A column of a report: `kind` is text, int, money, percent, date,
    datetime or month; `label` an English msgid the audience translates."""

    key: str
    label: str
    kind: str = "text"


@dataclass
class Series:
    label: str
    values: list
    css: str = ""


@dataclass
class Chart:
    """Data for an SVG chart: `kind` bars or line, categories along x,
    one or more series, the unit of the y axis ("₽", "" for counts) and
    indexes of x points to mark (deviating months)."""

    kind: str
    x: list[str]
    series: list[Series]
    unit: str = ""
    title: str = ""
    marks: list[int] = field(default_factory=list)


@dataclass
class Report:
    name: str
    columns: list[Column]
    rows: list[dict]
    totals: dict
    filters: dict
    chart: Chart | None = None
    notes: list[str] = field(default_factory=list)
    # msgid shown for a row whose `name` is None (no group, no manager)
    none_label: str = "—"


@dataclass
class Filter:
    """A filter of a report: `kind` date, month, int, money, choice, group,
    operator, tariff; `default` a value or a callable giving one."""

    name: str
    label: str
    kind: str
    default: object = None
    choices: tuple = ()
    low: int = 0
    high: int = 100000


# --- months and days ----------------------------------------------------------------


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def month_list(first: dt.date, last: dt.date) -> list[dt.date]:
    out, current = [], month_start(first)
    while current <= last:
        out.append(current)
        current = add_months(current, 1)
    return out


def month_bounds(months: list[dt.date]) -> list[dt.datetime]:
    """UTC instants of 00:00 local of each month's first day, and of the
    day after the last month: n + 1 bounds for n months."""
    return [midnight_utc(m) for m in months] + [midnight_utc(add_months(months[-1], 1))]


def bucket_of(column, bounds: list[dt.datetime]):
    """A SQL expression: the index i with bounds[i] <= column < bounds[i+1]
    (the caller keeps column >= bounds[0]); len(bounds) - 1 past the last."""
    return Case(None, [(column < bound, i) for i, bound in enumerate(bounds[1:])], len(bounds) - 1)


def hour_bucket(column):
    """The UTC hour of a timestamp as text ("2026-03-18 09"), the same on
    both databases; the caller puts hours into the operator's local days
    (exact for every zone with whole-hour offsets).  SQLite keeps
    timestamps as ISO text, so the hour is its first 13 characters."""
    if is_sqlite():
        return fn.substr(column, 1, 13).coerce(False)
    return fn.to_char(column, "YYYY-MM-DD HH24").coerce(False)


def local_day_of_hour(hour) -> dt.date | None:
    if hour is None:
        return None
    if not isinstance(hour, dt.datetime):
        hour = dt.datetime.strptime(hour, "%Y-%m-%d %H")
    return local_date_of(hour)


def month_label(month: dt.date) -> str:
    return month.strftime("%Y-%m")


def minor(value) -> Decimal:
    return from_minor(int(value or 0))


def percent(part: Decimal, whole: Decimal) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


# --- filters ---------------------------------------------------------------------

MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


def _parse_date(text: str):
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _parse_month(text: str):
    match = MONTH_RE.match(text)
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1900:
        return None
    return dt.date(int(match.group(1)), int(match.group(2)), 1)


def clean_filters(specs: list[Filter], args, manager) -> dict:
    """The report's filters from query-string arguments (a dict-like), each
    checked; a bad one is refused with a message naming it (ValidationError
    with `fields`).  A group outside the manager's groups is refused as
    unknown, exactly like a group that does not exist."""
    out, errors = {}, {}
    for spec in specs:
        raw = (args.get(spec.name) or "").strip() if hasattr(args, "get") else ""
        default = spec.default() if callable(spec.default) else spec.default
        if not raw:
            out[spec.name] = default
            continue
        value = None
        if spec.kind == "date":
            value = _parse_date(raw)
            if value is None:
                errors[spec.name] = N_("Give a date as YYYY-MM-DD.")
        elif spec.kind == "month":
            value = _parse_month(raw)
            if value is None:
                errors[spec.name] = N_("Give a month as YYYY-MM.")
        elif spec.kind in ("int", "percent"):
            try:
                value = int(raw)
                if not spec.low <= value <= spec.high:
                    raise ValueError
            except ValueError:
                errors[spec.name] = N_("Give a whole number in the allowed range.")
        elif spec.kind == "money":
            try:
                value = parse_money(raw, allow_negative=False)
            except MoneyError:
                errors[spec.name] = N_("Give an amount such as 650.50.")
        elif spec.kind == "choice":
            if raw in spec.choices:
                value = raw
            else:
                errors[spec.name] = N_("Choose one of the offered values.")
        elif spec.kind in ("group", "operator", "tariff"):
            value = _clean_reference(spec.kind, raw, manager)
            if value is None:
                errors[spec.name] = N_("Choose one of the offered values.")
        out[spec.name] = value
    if errors:
        raise ValidationError(N_("Check the report's filters."), fields=errors)
    return out


def _clean_reference(kind: str, raw: str, manager):
    try:
        object_id = int(raw)
    except ValueError:
        return None
    if not 0 < object_id < 2**31:
        return None
    if kind == "group":
        query = access.scope_groups(Group.select(Group.id).where(Group.id == object_id), manager)
    elif kind == "operator":
        query = Operator.select(Operator.id).where(Operator.id == object_id)
    else:
        query = Tariff.select(Tariff.id).where(Tariff.id == object_id)
    return object_id if query.exists() else None


def check_period(first: dt.date, last: dt.date, *, months: bool) -> None:
    if first > last:
        raise ValidationError(N_("The period ends before it starts."),
                              fields={"to": N_("The period ends before it starts.")})
    if months and len(month_list(first, last)) > MAX_MONTHS:
        raise ValidationError(N_("A period of at most 36 months."), fields={"to": N_("A period of at most 36 months.")})
    if not months and (last - first).days + 1 > MAX_DAYS:
        raise ValidationError(N_("A period of at most 400 days."), fields={"to": N_("A period of at most 400 days.")})


def this_month() -> dt.date:
    return month_start(today())


def year_ago_month() -> dt.date:
    return add_months(this_month(), -11)


def filter_choices(kind: str, manager) -> list[tuple[int, str]]:
    """(id, name) of the groups the manager may see, of the operators or
    of the tariffs, for a filter's drop-down."""
    if kind == "group":
        query = access.scope_groups(Group.select(Group.id, Group.name), manager).order_by(Group.name)
        return [(g.id, g.name) for g in query]
    if kind == "operator":
        return [(o.id, o.name) for o in Operator.select(Operator.id, Operator.name).order_by(Operator.name)]
    return [(t.id, t.name) for t in Tariff.select(Tariff.id, Tariff.name).order_by(Tariff.name)]


# --- scope ------------------------------------------------------------------------


def agreement_conditions(manager, group_id=None, operator_id=None) -> list:
    """Conditions on Agreement (joined in the query) that keep the
    agreements the manager may see (access.agreement_scope), of one
    group and one operator when asked."""
    conditions = []
    visible = access.agreement_scope(manager)
    if visible is not None:
        conditions.append(visible)
    if group_id:
        members = SubscriberGroup.select(SubscriberGroup.subscriber).where(SubscriberGroup.group == group_id)
        conditions.append(Agreement.subscriber.in_(members))
    if operator_id:
        conditions.append(Agreement.operator == operator_id)
    return conditions


def where_all(query, conditions):
    for condition in conditions:
        query = query.where(condition)
    return query


def breakdown_groups(manager) -> dict[int, str]:
    """The groups a breakdown by group shows: the manager's visible groups
    except the system group "All subscribers" (its row would only repeat
    the total)."""
    query = access.scope_groups(Group.select(Group.id, Group.name).where(Group.is_system == False), manager)  # noqa: E712
    return {g.id: g.name for g in query}


def sort_rows(rows: list[dict], key: str, descending: bool) -> list[dict]:
    """Rows ordered by one column; empty values last whichever the direction."""
    present = [r for r in rows if r.get(key) is not None]
    missing = [r for r in rows if r.get(key) is None]
    try:
        present.sort(key=lambda r: r[key], reverse=descending)
    except TypeError:
        present.sort(key=lambda r: str(r[key]), reverse=descending)
    return present + missing

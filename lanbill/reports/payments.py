"""Payments for a period (seed 004 «отчёты (платежи…)»): count and sum by
day, payment system, manager, group or operator, with cancelled payments
counted apart.

Rules: a payment belongs to the local day of its pay date (`paid_at`, which
may be back-dated), not of its booking; a cancelled payment stays in its
day and is counted only in the "cancelled" columns, so the booked columns
are what actually reached the agreements.  The payment system is the
configured system that booked it, else its gateway, else its method (cash,
bank, card).
"""

from __future__ import annotations

import datetime as dt

from peewee import JOIN, SQL, Case, Value, fn

from lanbill.clock import midnight_utc, today
from lanbill.errors import N_
from lanbill.models import Agreement, Manager, Operator, Payment, SubscriberGroup
from lanbill.models.paysys import PaymentSystem
from lanbill.reports.common import (
    Chart,
    Column,
    Filter,
    Report,
    Series,
    agreement_conditions,
    breakdown_groups,
    check_period,
    hour_bucket,
    local_day_of_hour,
    minor,
    where_all,
)

NAME = "payments"
TITLE = N_("Payments")
DESCRIPTION = N_("Payments for a period by day, payment system, manager, group or operator; cancelled ones apart.")
BY_CHOICES = ("day", "system", "manager", "group", "operator")
FILTERS = [
    Filter("from", N_("From"), "date", lambda: today().replace(day=1)),
    Filter("to", N_("To"), "date", today),
    Filter("by", N_("Breakdown"), "choice", "day", BY_CHOICES),
    Filter("group", N_("Group"), "group"),
    Filter("operator", N_("Operator"), "operator"),
]
COLUMNS = [
    Column("name", N_("Breakdown"), "text"),
    Column("count", N_("Payments"), "int"),
    Column("amount", N_("Amount"), "money"),
    Column("cancelled_count", N_("Cancelled"), "int"),
    Column("cancelled_amount", N_("Cancelled amount"), "money"),
]
DAY_COLUMNS = [Column("day", N_("Day"), "date")] + COLUMNS[1:]
DEFAULT_SORT = "day"
# method → label msgid, for payments no system or gateway booked
METHOD_LABELS = {"cash": N_("Cash"), "bank": N_("Bank transfer"), "card": N_("Card"), "gateway": N_("Gateway")}

_live = Payment.cancelled_at.is_null()
# literals, not bound parameters: SQLite compares them much faster over a year of payments
AGGREGATES = [
    fn.SUM(Case(None, [(_live, SQL("1"))], SQL("0"))).alias("count"),
    fn.SUM(Case(None, [(_live, Payment.amount)], SQL("0"))).alias("amount"),
    fn.SUM(Case(None, [(_live, SQL("0"))], SQL("1"))).alias("cancelled_count"),
    fn.SUM(Case(None, [(_live, SQL("0"))], Payment.amount)).alias("cancelled_amount"),
]


def _base(start, end, conditions, *, join: bool = False):
    """Payments paid in [start, end); joined to their agreements only
    when a filter or the breakdown needs them (the plain report reads the
    payments' own index)."""
    query = Payment.select()
    if conditions or join:
        query = query.join(Agreement, on=(Payment.agreement == Agreement.id))
    query = query.where((Payment.paid_at >= start) & (Payment.paid_at < end))
    return where_all(query, conditions)


def _keys(by: str, manager):
    """(key expressions, extra join) of a breakdown."""
    if by == "day":
        return [hour_bucket(Payment.paid_at)], None
    if by == "system":
        return [Payment.payment_system_id, Payment.gateway, Payment.method], None
    if by == "manager":
        return [Payment.manager_id], None
    if by == "operator":
        return [Agreement.operator], None
    member = SubscriberGroup.alias("member")
    ids = list(breakdown_groups(manager)) or [0]
    return [member.group], (member, (member.subscriber == Agreement.subscriber) & member.group.in_(ids))


def _grouped(start, end, conditions, by, manager) -> list[tuple]:
    keys, join = _keys(by, manager)
    query = _base(start, end, conditions, join=by in ("operator", "group"))
    if join is not None:
        query = query.join(join[0], JOIN.LEFT_OUTER, on=join[1])
    query = query.select(*[k.alias(f"k{i}") for i, k in enumerate(keys)], *AGGREGATES).group_by(*keys)
    return list(query.tuples())


def _labels(by: str, keys: set, manager) -> dict:
    if by == "system":
        ids = {k[0] for k in keys if k[0] is not None}
        names = {s.id: s.name for s in PaymentSystem.select(PaymentSystem.id, PaymentSystem.name)
                 .where(PaymentSystem.id.in_(ids))} if ids else {}
        out = {}
        for key in keys:
            system_id, gateway, method = key
            out[key] = names.get(system_id) or gateway or METHOD_LABELS.get(method, method)
        return out
    if by == "manager":
        ids = {k[0] for k in keys if k[0] is not None}
        found = {m.id: (m.name or m.login) for m in Manager.select(Manager.id, Manager.name, Manager.login)
                 .where(Manager.id.in_(ids))} if ids else {}
        return {k: found.get(k[0], f"#{k[0]}") if k[0] is not None else None for k in keys}
    if by == "operator":
        ids = {k[0] for k in keys}
        found = {o.id: o.name for o in Operator.select(Operator.id, Operator.name).where(Operator.id.in_(ids))}
        return {k: found.get(k[0], "") for k in keys}
    groups = breakdown_groups(manager)
    return {k: groups.get(k[0]) for k in keys}


def _add(target: dict, values) -> None:
    for name, value in zip(("count", "amount", "cancelled_count", "cancelled_amount"), values, strict=True):
        target[name] = target.get(name, 0) + int(value or 0)


def run(filters: dict, manager) -> Report:
    """The report for `filters` (see FILTERS) as `manager` may see it."""
    first, last, by = filters["from"], filters["to"], filters.get("by") or "day"
    check_period(first, last, months=False)
    start, end = midnight_utc(first), midnight_utc(last + dt.timedelta(days=1))
    conditions = agreement_conditions(manager, filters.get("group"), filters.get("operator"))
    rows: list[dict] = []
    totals: dict = {}
    chart = None
    if by == "day":
        per_day: dict = {}
        for hour, *values in _grouped(start, end, conditions, by, manager):
            day = local_day_of_hour(hour)
            _add(per_day.setdefault(day, {"day": day}), values)
            _add(totals, values)
        days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
        rows = [per_day[d] for d in days if d in per_day]
        chart = Chart(kind="bars", x=[d.strftime("%d.%m") for d in days], unit="₽",
                      title=N_("Payments per day"),
                      series=[Series(N_("Paid"), [minor(per_day.get(d, {}).get("amount", 0)) for d in days],
                                     "payment")])
        columns = DAY_COLUMNS
    else:
        grouped = _grouped(start, end, conditions, by, manager)
        width = len(_keys(by, manager)[0])
        labels = _labels(by, {tuple(r[:width]) for r in grouped}, manager)
        merged: dict = {}
        for row in grouped:
            key, values = tuple(row[:width]), row[width:]
            if by == "group" and key[0] is not None and labels.get(key) is None:
                continue
            name = labels.get(key)
            _add(merged.setdefault(name, {"name": name}), values)
            if by != "group":
                _add(totals, values)
        rows = list(merged.values())
        if by == "group":
            query = _base(start, end, conditions).select(Value(1), *AGGREGATES)
            for _one, *values in query.tuples():
                _add(totals, values)
        columns = COLUMNS
    for row in rows:
        row["amount"], row["cancelled_amount"] = minor(row["amount"]), minor(row["cancelled_amount"])
    totals = {"count": totals.get("count", 0), "amount": minor(totals.get("amount")),
              "cancelled_count": totals.get("cancelled_count", 0),
              "cancelled_amount": minor(totals.get("cancelled_amount"))}
    notes = [N_("A subscriber in several groups is counted in each of them; the total counts it once.")] \
        if by == "group" else []
    none_label = {"group": N_("No group"), "manager": N_("No manager (automatic)")}.get(by, "—")
    return Report(NAME, columns, rows, totals, filters, chart, notes, none_label)

"""Payments for a period (seed 004 «отчёты (платежи…)»): count and sum by
day, payment system, manager, group or operator, with cancelled payments
counted apart.

Rules: a payment belongs to the local day of its pay date (`paid_at`, which
may be back-dated), not of its booking; a cancelled payment stays in its
day and is counted only in the "cancelled" columns, so the booked columns
are what actually reached the agreements.  The payment system is the
configured system that booked it, else its gateway, else its method (cash,
bank, card).  The figures come from the aggregated payments
(lanbill.reports.totals), which equal the payment rows'.
"""

from __future__ import annotations

import datetime as dt

from lanbill.clock import today
from lanbill.errors import N_
from lanbill.models import Manager, Operator
from lanbill.models.paysys import PaymentSystem
from lanbill.reports.cell_scope import CellScope
from lanbill.reports.common import (
    Chart,
    Column,
    Filter,
    Report,
    Series,
    breakdown_groups,
    check_period,
    minor,
)
from lanbill.reports.totals import payment_figures

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


def _grouped_totals(first, last, by: str, scope: CellScope) -> dict:
    """{breakdown key: [count, amount, cancelled count, cancelled amount]}
    of the aggregated payments (lanbill.reports.totals) as `scope` keeps
    them; keys: the local day, (system id, gateway, method), manager id,
    group id or operator id; "total" holds the total (each payment once)."""
    dims = {"day": ("day",), "system": ("system",), "manager": ("manager",)}.get(by, ())
    out: dict = {}

    def add(key, vector):
        target = out.setdefault(key, [0, 0, 0, 0])
        for i, value in enumerate(vector):
            target[i] += value

    for (day, cell, system_id, gateway, method, manager_id), vector in payment_figures(first, last, dims).items():
        if not scope.keeps(cell):
            continue
        add("total", vector)
        if by == "day":
            add(day, vector)
        elif by == "system":
            add((system_id or None, gateway, method), vector)
        elif by == "manager":
            add((manager_id or None,), vector)
        else:
            for key in scope.keys(cell):
                add((key,), vector)
    return out


def run(filters: dict, manager) -> Report:
    """The report for `filters` (see FILTERS) as `manager` may see it."""
    first, last, by = filters["from"], filters["to"], filters.get("by") or "day"
    check_period(first, last, months=False)
    scope = CellScope(manager, filters.get("group"), filters.get("operator"),
                      by if by in ("group", "operator") else "none")
    grouped = _grouped_totals(first, last, by, scope)
    totals_vector = grouped.pop("total", [0, 0, 0, 0])
    rows: list[dict] = []
    chart = None
    names = ("count", "amount", "cancelled_count", "cancelled_amount")
    if by == "day":
        days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
        rows = [dict(zip(names, grouped[d], strict=True), day=d) for d in days if d in grouped]
        chart = Chart(kind="bars", x=[d.strftime("%d.%m") for d in days], unit="₽",
                      title=N_("Payments per day"),
                      series=[Series(N_("Paid"), [minor(grouped.get(d, [0, 0])[1]) for d in days], "payment")])
        columns = DAY_COLUMNS
    else:
        labels = _labels(by, set(grouped), manager)
        merged: dict = {}
        for key, values in grouped.items():
            if by == "group" and key[0] is not None and labels.get(key) is None:
                continue
            name = labels.get(key)
            _add(merged.setdefault(name, {"name": name}), values)
        rows = list(merged.values())
        columns = COLUMNS
    for row in rows:
        row["amount"], row["cancelled_amount"] = minor(row["amount"]), minor(row["cancelled_amount"])
    totals = {"count": totals_vector[0], "amount": minor(totals_vector[1]),
              "cancelled_count": totals_vector[2], "cancelled_amount": minor(totals_vector[3])}
    notes = [N_("A subscriber in several groups is counted in each of them; the total counts it once.")] \
        if by == "group" else []
    none_label = {"group": N_("No group"), "manager": N_("No manager (automatic)")}.get(by, "—")
    return Report(NAME, columns, rows, totals, filters, chart, notes, none_label)

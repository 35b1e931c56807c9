"""Charges against payments by month (the reconciliation, «сверка
начислений и оплат», seed 000): for each local month of a period the
opening balance, the charges by kind, the payments and the closing
balance, in total or by group, tariff or operator.

Rule: a row reconciles to the kopeck — closing = opening + payments −
charges — because every figure is a sum of ledger entries by the month
they were posted in (DESIGN §4, §13).  Charges are shown positive: rent
(with its corrections), services (periodic and one-off), traffic (volume
and time) and staff corrections; payments are net of cancellations.  The
opening balance of the first month is the sum of every entry posted
before it (balance = Σ ledger, DESIGN §4).  The sums come from the
aggregated figures (lanbill.reports.totals), which equal the ledger's.
"""

from __future__ import annotations

from lanbill.errors import N_
from lanbill.reports.breakdown import BY_CHOICES, Breakdown
from lanbill.reports.cell_scope import CellScope
from lanbill.reports.common import (
    CORRECTION_KINDS,
    PAYMENT_KINDS,
    RENT_KINDS,
    SERVICE_KINDS,
    TRAFFIC_KINDS,
    Chart,
    Column,
    Filter,
    Report,
    Series,
    check_period,
    minor,
    month_label,
    month_list,
    this_month,
    year_ago_month,
)
from lanbill.reports.totals import BEFORE, ledger_figures

NAME = "charges-vs-payments"
TITLE = N_("Charges against payments")
DESCRIPTION = N_("Charges by kind against payments for each month, with opening and closing balances.")
FILTERS = [
    Filter("from", N_("From month"), "month", year_ago_month),
    Filter("to", N_("To month"), "month", this_month),
    Filter("by", N_("Breakdown"), "choice", "none", BY_CHOICES),
    Filter("group", N_("Group"), "group"),
    Filter("operator", N_("Operator"), "operator"),
]
CLASSES = {
    "rent": RENT_KINDS,
    "services": SERVICE_KINDS,
    "traffic": TRAFFIC_KINDS,
    "corrections": CORRECTION_KINDS,
    "payments": PAYMENT_KINDS,
}
CHARGE_CLASSES = ("rent", "services", "traffic", "corrections")
COLUMNS = [
    Column("month", N_("Month"), "month"),
    Column("name", N_("Breakdown"), "text"),
    Column("opening", N_("Opening balance"), "money"),
    Column("rent", N_("Rent"), "money"),
    Column("services", N_("Services"), "money"),
    Column("traffic", N_("Traffic"), "money"),
    Column("corrections", N_("Corrections"), "money"),
    Column("charges", N_("Charged"), "money"),
    Column("payments", N_("Paid"), "money"),
    Column("difference", N_("Paid − charged"), "money"),
    Column("closing", N_("Closing balance"), "money"),
]
DEFAULT_SORT = "month"


def _series(months, sums: dict, key) -> list[dict]:
    """Rows of one breakdown value, month by month (minor units inside)."""
    opening = sum(sums.get((BEFORE, key), {}).values())
    out = []
    for month in months:
        moved = sums.get((month, key), {})
        charges = {c: -moved.get(c, 0) for c in CHARGE_CLASSES}
        payments = moved.get("payments", 0)
        closing = opening + payments - sum(charges.values())
        out.append({"month": month, "opening": opening, **charges, "charges": sum(charges.values()),
                    "payments": payments, "difference": payments - sum(charges.values()), "closing": closing})
        opening = closing
    return out


def sums_by(figures: dict, scope: CellScope) -> dict:
    """{(month or BEFORE, breakdown key): {class: minor units}} of the
    aggregated figures (lanbill.reports.totals.ledger_figures), as
    `scope` keeps and splits them."""
    out: dict = {}
    for (bucket, cell), vector in figures.items():
        if not scope.keeps(cell):
            continue
        for key in scope.keys(cell):
            target = out.setdefault((bucket, key), dict.fromkeys(CLASSES, 0))
            for name, value in zip(CLASSES, vector, strict=False):
                target[name] += value
    return out


def _money(row: dict) -> dict:
    return {k: (minor(v) if k not in ("month", "name", "key") else v) for k, v in row.items()}


def run(filters: dict, manager) -> Report:
    """The report for `filters` (see FILTERS) as `manager` may see it."""
    first, last = filters["from"], filters["to"]
    check_period(first, last, months=True)
    months = month_list(first, last)
    figures = ledger_figures(first, last)
    by = filters.get("by") or "none"
    breakdown = Breakdown(by, manager)
    total_scope = CellScope(manager, filters.get("group"), filters.get("operator"))
    scope = CellScope(manager, filters.get("group"), filters.get("operator"), by)
    total_rows = _series(months, sums_by(figures, total_scope), None)
    rows = []
    if by == "none":
        rows = [dict(r, name="", key=None) for r in total_rows]
    else:
        sums = sums_by(figures, scope)
        keys = {k for _, k in sums}
        labels = breakdown.labels(keys)
        for key in keys:
            if by == "group" and key is not None and key not in labels:
                continue
            series = _series(months, sums, key)
            if not any(any(r[c] for c in ("opening", "closing", "payments", "charges")) for r in series):
                continue
            name = labels.get(key, "") if key is not None else ("—" if by != "group" else None)
            rows.extend(dict(r, name=name, key=key) for r in series)
    totals = {
        "opening": total_rows[0]["opening"],
        **{c: sum(r[c] for r in total_rows) for c in (*CHARGE_CLASSES, "charges", "payments", "difference")},
        "closing": total_rows[-1]["closing"],
    }
    chart = Chart(
        kind="bars", x=[month_label(m) for m in months], unit="₽", title=N_("Charged and paid per month"),
        series=[Series(N_("Charged"), [minor(r["charges"]) for r in total_rows], "charge"),
                Series(N_("Paid"), [minor(r["payments"]) for r in total_rows], "payment")],
    )
    notes = [N_("A subscriber in several groups is counted in each of them; the total counts it once.")] \
        if breakdown.by == "group" else []
    if breakdown.by == "tariff":
        notes.append(N_("An agreement is counted under the tariff of its main account (the first live one)."))
    return Report(NAME, COLUMNS if breakdown.by != "none" else [c for c in COLUMNS if c.key != "name"],
                  [_money(r) for r in rows], _money(totals), filters, chart, notes,
                  N_("No group") if breakdown.by == "group" else "—")

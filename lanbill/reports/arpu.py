"""ARPU (average revenue per paying subscriber) per month, in total or by
tariff or group, with its change against the month before; months whose
change is beyond a threshold are marked (seed 000: «резкий рост/падение
среднего ARPU»).

Rules: revenue is what subscribers were charged for service in the month
(rent with its corrections, services, traffic; not staff corrections), by
posting month, as positive amounts.  A paying subscriber is one charged
at least once in the month (a charge entry below zero).  ARPU = revenue /
paying subscribers, rounded half up to the kopeck.  The change is
(ARPU − ARPU of the month before) / ARPU of the month before, in percent;
the month before the period is read too, so the first month has a change.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from lanbill.errors import N_
from lanbill.reports.breakdown import Breakdown
from lanbill.reports.cell_scope import CellScope
from lanbill.reports.common import (
    CENT,
    Chart,
    Column,
    Filter,
    Report,
    Series,
    add_months,
    check_period,
    minor,
    month_label,
    month_list,
    this_month,
    year_ago_month,
)
from lanbill.reports.totals import BEFORE, ledger_figures

NAME = "arpu"
TITLE = N_("ARPU")
DESCRIPTION = N_("Average revenue per paying subscriber per month, its change and the months that deviate.")
BY_CHOICES = ("none", "tariff", "group")
FILTERS = [
    Filter("from", N_("From month"), "month", year_ago_month),
    Filter("to", N_("To month"), "month", this_month),
    Filter("by", N_("Breakdown"), "choice", "none", BY_CHOICES),
    Filter("group", N_("Group"), "group"),
    Filter("threshold", N_("Mark a change beyond, %"), "percent", 10, low=1, high=1000),
]
COLUMNS = [
    Column("month", N_("Month"), "month"),
    Column("name", N_("Breakdown"), "text"),
    Column("revenue", N_("Revenue"), "money"),
    Column("payers", N_("Paying subscribers"), "int"),
    Column("arpu", N_("ARPU"), "money"),
    Column("change", N_("Change, %"), "percent"),
    Column("deviates", N_("Deviates"), "flag"),
]
DEFAULT_SORT = "month"


def arpu_of(revenue: Decimal, payers: int) -> Decimal | None:
    if not payers:
        return None
    return (Decimal(revenue) / payers).quantize(CENT, rounding=ROUND_HALF_UP)


def change_of(current: Decimal | None, previous: Decimal | None) -> Decimal | None:
    if current is None or not previous:
        return None
    return ((current - previous) * 100 / previous).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def monthly(first, last, scope: CellScope) -> tuple[list, dict]:
    """(months, {(bucket, key): (revenue, payers)}); bucket 0 is the month
    before `first`.  From the aggregated figures (lanbill.reports.totals),
    as `scope` keeps and splits them by its breakdown."""
    months = month_list(add_months(first, -1), last)
    index = {m: i for i, m in enumerate(months)}
    sums: dict = {}
    for (bucket, cell), vector in ledger_figures(months[0], last).items():
        if bucket == BEFORE or not scope.keeps(cell):
            continue
        revenue = vector[0] + vector[1] + vector[2]
        if not revenue and not vector[5]:
            continue
        for key in scope.keys(cell):
            target = sums.setdefault((index[bucket], key), [0, 0])
            target[0] += revenue
            target[1] += vector[5]
    return months, {k: (minor(-revenue), payers) for k, (revenue, payers) in sums.items()}


def run(filters: dict, manager) -> Report:
    """The report for `filters` (see FILTERS) as `manager` may see it."""
    first, last = filters["from"], filters["to"]
    check_period(first, last, months=True)
    threshold = Decimal(filters.get("threshold") or 10)
    breakdown = Breakdown(filters.get("by") or "none", manager)
    months, sums = monthly(first, last, CellScope(manager, filters.get("group"), by=breakdown.by))
    if breakdown.by != "none":
        _, total_sums = monthly(first, last, CellScope(manager, filters.get("group")))
    else:
        total_sums = sums

    def series(data, key):
        out, previous = [], None
        for i, month in enumerate(months):
            revenue, payers = data.get((i, key), (minor(0), 0))
            arpu = arpu_of(revenue, payers)
            change = change_of(arpu, previous)
            previous = arpu
            if i == 0:
                continue
            out.append({"month": month, "revenue": revenue, "payers": payers, "arpu": arpu, "change": change,
                        "deviates": change is not None and abs(change) > threshold})
        return out

    total_rows = series(total_sums, None)
    rows = []
    if breakdown.by == "none":
        rows = [dict(r, name="") for r in total_rows]
    else:
        keys = {k for _, k in sums}
        labels = breakdown.labels(keys)
        for key in keys:
            if breakdown.by == "group" and key is not None and key not in labels:
                continue
            name = labels.get(key) if key is not None else (None if breakdown.by == "group" else "—")
            rows.extend(dict(r, name=name) for r in series(sums, key) if r["revenue"] or r["payers"])
    revenue = sum((r["revenue"] for r in total_rows), minor(0))
    payer_months = sum(r["payers"] for r in total_rows)
    totals = {"revenue": revenue, "payers": payer_months, "arpu": arpu_of(revenue, payer_months),
              "deviates": sum(1 for r in total_rows if r["deviates"])}
    chart = Chart(kind="line", x=[month_label(r["month"]) for r in total_rows], unit="₽",
                  title=N_("ARPU per month"),
                  series=[Series(N_("ARPU"), [r["arpu"] or minor(0) for r in total_rows], "arpu")],
                  marks=[i for i, r in enumerate(total_rows) if r["deviates"]])
    notes = [N_("The total ARPU is the revenue of the period over the paying subscribers of each month "
                "added up (subscriber-months).")]
    if breakdown.by == "group":
        notes.append(N_("A subscriber in several groups is counted in each of them; the total counts it once."))
    if breakdown.by == "tariff":
        notes.append(N_("An agreement is counted under the tariff of its main account (the first live one)."))
    columns = COLUMNS if breakdown.by != "none" else [c for c in COLUMNS if c.key != "name"]
    return Report(NAME, columns, rows, totals, filters, chart, notes,
                  N_("No group") if breakdown.by == "group" else "—")

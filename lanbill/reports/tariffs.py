"""Tariffs: subscribers, accounts by state and the month's revenue per
tariff (seed 002 «Тарифы»; DESIGN §13 "tariff distribution").

Rules: accounts are counted under their current tariff (live accounts
only: deleted ones are history); a subscriber with accounts on two
tariffs is counted under both, the total counts it once.  Revenue (as in
the ARPU report) is the month's charges for service of the agreements
whose main account is on the tariff (see lanbill.reports.breakdown).
"""

from __future__ import annotations

from peewee import Case, fn

from lanbill.errors import N_
from lanbill.models import Account, Agreement, Tariff
from lanbill.reports.arpu import arpu_of, monthly
from lanbill.reports.cell_scope import CellScope
from lanbill.reports.common import (
    Chart,
    Column,
    Filter,
    Report,
    Series,
    agreement_conditions,
    minor,
    percent,
    this_month,
    where_all,
)

NAME = "tariffs"
TITLE = N_("Tariffs")
DESCRIPTION = N_("Subscribers, accounts by state and revenue per tariff.")
FILTERS = [
    Filter("month", N_("Revenue of month"), "month", this_month),
    Filter("group", N_("Group"), "group"),
]
COLUMNS = [
    Column("name", N_("Tariff"), "text"),
    Column("subscribers", N_("Subscribers"), "int"),
    Column("subscribers_share", N_("Share of subscribers, %"), "percent"),
    Column("accounts", N_("Accounts"), "int"),
    Column("active", N_("Active"), "int"),
    Column("blocked", N_("Blocked"), "int"),
    Column("off", N_("Off"), "int"),
    Column("revenue", N_("Revenue"), "money"),
    Column("revenue_share", N_("Share of revenue, %"), "percent"),
    Column("arpu", N_("ARPU"), "money"),
]
DEFAULT_SORT = "-subscribers"
BLOCKED_STATES = ("balance", "admin", "traffic", "user")


def _count(condition):
    return fn.SUM(Case(None, [(condition, 1)], 0))


def run(filters: dict, manager) -> Report:
    """The report for `filters` (see FILTERS) as `manager` may see it."""
    month = filters["month"]
    conditions = agreement_conditions(manager, filters.get("group"))
    def scoped(query):  # joined to the agreements only when a condition needs them
        if conditions:
            query = where_all(query.join(Agreement, on=(Account.agreement == Agreement.id)), conditions)
        return query

    query = scoped(Account.select(Account.tariff, fn.COUNT(fn.DISTINCT(Account.subscriber)), fn.COUNT(Account.id),
                                  _count(Account.state == "active"), _count(Account.state.in_(BLOCKED_STATES)),
                                  _count(Account.state == "off")))
    query = query.where(Account.deleted == False).group_by(Account.tariff)  # noqa: E712
    counts = {row[0]: row[1:] for row in query.tuples()}
    total_query = scoped(Account.select(fn.COUNT(fn.DISTINCT(Account.subscriber)))).where(
        Account.deleted == False)  # noqa: E712
    total_subscribers = int(total_query.scalar() or 0)
    _months, sums = monthly(month, month, CellScope(manager, filters.get("group"), by="tariff"))
    revenue = {key: value for (bucket, key), value in sums.items() if bucket == 1}
    keys = set(counts) | {k for k in revenue if k is not None}
    names = {t.id: t.name for t in Tariff.select(Tariff.id, Tariff.name).where(Tariff.id.in_(keys or {0}))}
    total_revenue = sum((v[0] for v in revenue.values()), minor(0))
    rows = []
    for key in keys:
        subscribers, accounts, active, blocked, off = (int(v or 0) for v in counts.get(key, (0, 0, 0, 0, 0)))
        money, payers = revenue.get(key, (minor(0), 0))
        rows.append({"tariff_id": key, "name": names.get(key, ""), "subscribers": subscribers,
                     "subscribers_share": percent(subscribers, total_subscribers), "accounts": accounts,
                     "active": active, "blocked": blocked, "off": off, "revenue": money,
                     "revenue_share": percent(money, total_revenue), "arpu": arpu_of(money, payers)})
    if None in revenue:  # agreements without accounts that were charged (a one-off service)
        money, payers = revenue[None]
        rows.append({"tariff_id": None, "name": None, "subscribers": 0, "subscribers_share": None, "accounts": 0,
                     "active": 0, "blocked": 0, "off": 0, "revenue": money,
                     "revenue_share": percent(money, total_revenue), "arpu": arpu_of(money, payers)})
    rows.sort(key=lambda r: (-r["subscribers"], str(r["name"])))
    payers_total = sum(v[1] for v in revenue.values())
    totals = {"subscribers": total_subscribers, "accounts": sum(r["accounts"] for r in rows),
              "active": sum(r["active"] for r in rows), "blocked": sum(r["blocked"] for r in rows),
              "off": sum(r["off"] for r in rows), "revenue": total_revenue,
              "arpu": arpu_of(total_revenue, payers_total)}
    shown = [r for r in rows if r["name"] is not None]
    chart = Chart(kind="bars", x=[r["name"] for r in shown], unit="", title=N_("Subscribers per tariff"),
                  series=[Series(N_("Subscribers"), [r["subscribers"] for r in shown], "payment")])
    return Report(NAME, COLUMNS, rows, totals, filters, chart,
                  [N_("A subscriber with accounts on two tariffs is counted under both; the total counts it once.")],
                  N_("No tariff"))

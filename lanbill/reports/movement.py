"""Subscriber movement per month: new, disconnected, long-blocked, and
"shadow churn" (seed 000 «Теневой churn»): accounts shown as active that
have had no RADIUS session and no traffic for 30 days.

Rules:
- A subscriber is new in the month of its first account's connect date.
- A subscriber left in the month of its last account's disconnect date
  (or deletion) once none of its accounts is live (all off or deleted).
- A subscriber is long-blocked in a month when at the month's end (now,
  for the current month) one of its accounts has been blocked (balance,
  staff, traffic limit or the subscriber's own block) for more than N
  days without a break, by the accounts' state history (DESIGN §5).
- Shadow churn, as of now: live accounts in state "active", connected 30
  days ago or earlier, with no RADIUS session open or closed in the last
  30 days and no traffic counted in the last 30 days.
"""

from __future__ import annotations

import datetime as dt

from peewee import JOIN, Case, fn

from lanbill.clock import local_date_of, now_utc, today
from lanbill.errors import N_
from lanbill.models import Account, AccountStateChange, Agreement, Subscriber, Tariff
from lanbill.models.radius import RadiusSession
from lanbill.models.traffic import TrafficHourly
from lanbill.reports.common import (
    Chart,
    Column,
    Filter,
    Report,
    Series,
    add_months,
    agreement_conditions,
    check_period,
    month_bounds,
    month_label,
    month_list,
    this_month,
    where_all,
    year_ago_month,
)

NAME = "movement"
TITLE = N_("Subscriber movement")
DESCRIPTION = N_("New, disconnected and long-blocked subscribers per month, and shadow churn.")
VIEWS = ("months", "shadow")
FILTERS = [
    Filter("from", N_("From month"), "month", year_ago_month),
    Filter("to", N_("To month"), "month", this_month),
    Filter("group", N_("Group"), "group"),
    Filter("blocked_days", N_("Blocked longer than, days"), "int", 30, low=1, high=3650),
    Filter("view", N_("Show"), "choice", "months", VIEWS),
]
COLUMNS = [
    Column("month", N_("Month"), "month"),
    Column("new", N_("New"), "int"),
    Column("left", N_("Disconnected"), "int"),
    Column("net", N_("Net change"), "int"),
    Column("long_blocked", N_("Long-blocked"), "int"),
]
SHADOW_COLUMNS = [
    Column("login", N_("Login"), "text"),
    Column("subscriber", N_("Subscriber"), "text"),
    Column("agreement", N_("Agreement"), "text"),
    Column("tariff", N_("Tariff"), "text"),
    Column("connect_date", N_("Connected"), "date"),
    Column("last_session", N_("Last session"), "date"),
]
DEFAULT_SORT = "month"
BLOCKED_STATES = ("balance", "admin", "traffic", "user")
SHADOW_DAYS = 30


def _accounts(conditions):
    """Accounts of the agreements `conditions` keep (joined to them only
    when there are conditions: the plain report reads the accounts alone)."""
    query = Account.select()
    if conditions:
        query = query.join(Agreement, on=(Account.agreement == Agreement.id))
    return where_all(query, conditions)


def _new_and_left(first: dt.date, end: dt.date, conditions) -> tuple[dict, dict]:
    """{month: subscriber ids} that came and that left within the period."""
    came: dict = {}
    query = (_accounts(conditions).select(Account.subscriber, fn.MIN(Account.connect_date))
             .group_by(Account.subscriber)
             .having((fn.MIN(Account.connect_date) >= first) & (fn.MIN(Account.connect_date) < end)))
    for subscriber_id, day in query.tuples():
        day = day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day)[:10])
        came.setdefault(day.replace(day=1), set()).add(subscriber_id)
    live = fn.SUM(Case(None, [((Account.deleted == False) & (Account.is_off == False), 1)], 0))  # noqa: E712
    left: dict = {}
    query = (_accounts(conditions).select(Account.subscriber, fn.MAX(Account.disconnect_date),
                                          fn.MAX(Account.deleted_at))
             .group_by(Account.subscriber).having(live == 0))
    for subscriber_id, disconnect, deleted in query.tuples():
        days = []
        if disconnect is not None:
            days.append(disconnect if isinstance(disconnect, dt.date) else dt.date.fromisoformat(str(disconnect)[:10]))
        if deleted is not None:
            if isinstance(deleted, str):
                deleted = dt.datetime.fromisoformat(deleted)
            days.append(local_date_of(deleted))
        if not days:
            continue
        day = max(days)
        if first <= day < end:
            left.setdefault(day.replace(day=1), set()).add(subscriber_id)
    return came, left


def _long_blocked(months, bounds, blocked_days: int, conditions) -> dict:
    """{month index: subscriber ids long-blocked at that month's end}."""
    now = now_utc()
    points = [min(b, now) for b in bounds[1:]]
    query = (AccountStateChange.select(AccountStateChange.account, Account.subscriber, AccountStateChange.at,
                                       AccountStateChange.state_after)
             .join(Account, on=(AccountStateChange.account == Account.id))
             .where(AccountStateChange.at < points[-1])
             .order_by(AccountStateChange.account, AccountStateChange.at, AccountStateChange.id))
    if conditions:
        query = where_all(query.join(Agreement, on=(Account.agreement == Agreement.id)), conditions)
    out: dict = {i: set() for i in range(len(months))}
    span = dt.timedelta(days=blocked_days)

    def close(subscriber_id, since, until):
        if since is None:
            return
        for i, point in enumerate(points):
            if since <= point - span and (until is None or until > point):
                out[i].add(subscriber_id)

    current_account, since, subscriber = None, None, None
    for account_id, subscriber_id, at, state in query.tuples():
        if isinstance(at, str):
            at = dt.datetime.fromisoformat(at)
        if account_id != current_account:
            close(subscriber, since, None)
            current_account, since, subscriber = account_id, None, subscriber_id
        if state in BLOCKED_STATES:
            if since is None:
                since = at
        elif since is not None:
            close(subscriber, since, at)
            since = None
    close(subscriber, since, None)
    return out


def shadow_query(manager, group_id=None, *, details: bool = True):
    """Accounts of shadow churn (see the module's rule) as `manager` may
    see them, with login, subscriber, agreement, tariff and last session
    (`details`), or only their ids."""
    cutoff = now_utc() - dt.timedelta(days=SHADOW_DAYS)
    recent_session = RadiusSession.select(RadiusSession.account_id).where(
        RadiusSession.account_id.is_null(False)
        & (RadiusSession.stopped_at.is_null() | (RadiusSession.stopped_at >= cutoff)
           | (RadiusSession.updated_at >= cutoff)))
    recent_traffic = TrafficHourly.select(TrafficHourly.account_id).where(
        (TrafficHourly.hour >= cutoff) & ((TrafficHourly.bytes_in + TrafficHourly.bytes_out) > 0))
    condition = ((Account.deleted == False) & (Account.state == "active")  # noqa: E712
                 & (Account.connect_date <= today() - dt.timedelta(days=SHADOW_DAYS))
                 & Account.id.not_in(recent_session) & Account.id.not_in(recent_traffic))
    if not details:
        query = Account.select(Account.id).join(Agreement, on=(Account.agreement == Agreement.id)).where(condition)
        return where_all(query, agreement_conditions(manager, group_id))
    last_session = (RadiusSession.select(RadiusSession.account_id.alias("aid"),
                                         fn.MAX(RadiusSession.started_at).alias("at"))
                    .where(RadiusSession.account_id.is_null(False))
                    .group_by(RadiusSession.account_id)).alias("last_session")
    query = (Account.select(Account.id, Account.login, Account.connect_date, Subscriber.name.alias("subscriber"),
                            Agreement.number.alias("agreement"), Tariff.name.alias("tariff"),
                            last_session.c.at.alias("last_session"))
             .join(Agreement, on=(Account.agreement == Agreement.id))
             .switch(Account).join(Subscriber, on=(Account.subscriber == Subscriber.id))
             .switch(Account).join(Tariff, on=(Account.tariff == Tariff.id))
             .switch(Account).join(last_session, JOIN.LEFT_OUTER, on=(last_session.c.aid == Account.id))
             .where(condition))
    return where_all(query, agreement_conditions(manager, group_id))


def _shadow_rows(manager, group_id) -> list[dict]:
    rows = []
    for a in shadow_query(manager, group_id).dicts():
        last = a["last_session"]
        if isinstance(last, str):
            last = dt.datetime.fromisoformat(last)
        rows.append({"account_id": a["id"], "login": a["login"], "subscriber": a["subscriber"],
                     "agreement": a["agreement"], "tariff": a["tariff"], "connect_date": a["connect_date"],
                     "last_session": local_date_of(last) if last is not None else None})
    return rows


def run(filters: dict, manager) -> Report:
    """The report for `filters` (see FILTERS) as `manager` may see it."""
    first, last = filters["from"], filters["to"]
    check_period(first, last, months=True)
    group_id = filters.get("group")
    if (filters.get("view") or "months") == "shadow":
        shadow = _shadow_rows(manager, group_id)
        return Report(NAME, SHADOW_COLUMNS, shadow, {"login": len(shadow)}, filters, None,
                      [N_("Active accounts with no RADIUS session and no traffic for 30 days.")])
    months = month_list(first, last)
    bounds = month_bounds(months)
    conditions = agreement_conditions(manager, group_id)
    came, left = _new_and_left(first, add_months(last, 1), conditions)
    blocked = _long_blocked(months, bounds, filters.get("blocked_days") or 30, conditions)
    shadow_count = shadow_query(manager, group_id, details=False).count()
    rows = []
    for i, month in enumerate(months):
        new, gone = len(came.get(month, ())), len(left.get(month, ()))
        rows.append({"month": month, "new": new, "left": gone, "net": new - gone, "long_blocked": len(blocked[i])})
    totals = {"new": sum(r["new"] for r in rows), "left": sum(r["left"] for r in rows),
              "net": sum(r["net"] for r in rows), "shadow_churn": shadow_count}
    chart = Chart(kind="bars", x=[month_label(m) for m in months], unit="", title=N_("Subscribers per month"),
                  series=[Series(N_("New"), [r["new"] for r in rows], "payment"),
                          Series(N_("Disconnected"), [r["left"] for r in rows], "charge"),
                          Series(N_("Long-blocked"), [r["long_blocked"] for r in rows], "neutral")])
    return Report(NAME, COLUMNS, rows, totals, filters, chart,
                  [(N_("Shadow churn now: %(count)s active accounts with no session and no traffic for 30 days."),
                    {"count": shadow_count})])

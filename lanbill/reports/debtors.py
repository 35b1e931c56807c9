"""Debtors (seed 004 «отчёты (…задолженности)»): agreements with a
negative balance, or below their credit limit, with the debt, since when,
the last payment, the state of their accounts and the subscriber's
contacts.

Rules: the debt is −balance ("negative balance") or −(balance + credit
limit) ("below the credit limit", i.e. the funds a block looks at without
promised payments, DESIGN §5).  "In debt since" is when the debt began
this time: the posting time of the entry after which the running balance
(with today's credit limit) stayed below zero up to now.  The last
payment is the latest one not cancelled, by pay date.  The state is the
best state among the agreement's live accounts (one working account makes
it active).  Four set-based queries, whatever the number of debtors.
"""

from __future__ import annotations

import datetime as dt

from peewee import Case, Window, fn

from lanbill.clock import local_date_of, today
from lanbill.errors import N_
from lanbill.models import Account, Agreement, LedgerEntry, Operator, Payment, Subscriber
from lanbill.reports.common import Column, Filter, Report, agreement_conditions, minor, where_all

NAME = "debtors"
TITLE = N_("Debtors")
DESCRIPTION = N_("Agreements with a negative balance or below their credit limit: debt, since when, last payment.")
MODES = ("negative", "credit")
FILTERS = [
    Filter("mode", N_("Debt is"), "choice", "negative", MODES),
    Filter("group", N_("Group"), "group"),
    Filter("operator", N_("Operator"), "operator"),
    Filter("days", N_("In debt at least, days"), "int", 0, low=0, high=36500),
    Filter("amount", N_("Debt at least"), "money"),
]
COLUMNS = [
    Column("agreement", N_("Agreement"), "text"),
    Column("subscriber", N_("Subscriber"), "text"),
    Column("phone", N_("Phone"), "text"),
    Column("email", N_("E-mail"), "text"),
    Column("operator", N_("Operator"), "text"),
    Column("balance", N_("Balance"), "money"),
    Column("credit_limit", N_("Credit limit"), "money"),
    Column("debt", N_("Debt"), "money"),
    Column("since", N_("In debt since"), "date"),
    Column("days", N_("Days in debt"), "int"),
    Column("last_payment", N_("Last payment"), "date"),
    Column("last_payment_amount", N_("Last payment amount"), "money"),
    Column("state", N_("State"), "state"),
]
DEFAULT_SORT = "-debt"
MODE_LABELS = {"negative": N_("Debt: a negative balance."), "credit": N_("Debt: the balance below the credit limit.")}
STATE_RANK = ("active", "user", "traffic", "admin", "balance", "off")


def _funds(mode: str):
    return Agreement.balance + Agreement.credit_limit if mode == "credit" else Agreement.balance


def debtor_query(filters: dict, manager):
    """Agreements in debt as `manager` may see them (a Peewee query on
    Agreement with the subscriber and operator joined)."""
    mode = filters.get("mode") or "negative"
    funds = _funds(mode)
    query = (Agreement.select(Agreement.id, Agreement.number, Agreement.balance, Agreement.credit_limit,
                              Subscriber.id.alias("subscriber_id"), Subscriber.name, Subscriber.phone,
                              Subscriber.email, Operator.name.alias("operator_name"))
             .join(Subscriber, on=(Agreement.subscriber == Subscriber.id))
             .switch(Agreement).join(Operator, on=(Agreement.operator == Operator.id))
             .where(funds < 0))
    if filters.get("amount"):
        query = query.where(funds <= -filters["amount"])
    return where_all(query, agreement_conditions(manager, filters.get("group"), filters.get("operator")))


def _since(ids_query, mode: str) -> dict:
    """agreement id → when its current debt began (UTC), one windowed query."""
    order = [LedgerEntry.created_at, LedgerEntry.id]
    running = fn.SUM(LedgerEntry.amount).over(partition_by=[LedgerEntry.agreement], order_by=order,
                                              frame_type=Window.ROWS, start=Window.preceding())
    seq = fn.ROW_NUMBER().over(partition_by=[LedgerEntry.agreement], order_by=order)
    credit = Agreement.credit_limit if mode == "credit" else 0
    runs = (LedgerEntry.select(LedgerEntry.agreement.alias("aid"), LedgerEntry.created_at.alias("at"),
                               (running + credit).alias("funds"), seq.alias("seq"))
            .join(Agreement, on=(LedgerEntry.agreement == Agreement.id))
            .where(LedgerEntry.agreement.in_(ids_query))).cte("runs", columns=("aid", "at", "funds", "seq"))
    last_ok = (runs.select_from(runs.c.aid, fn.MAX(Case(None, [(runs.c.funds >= 0, runs.c.seq)], None))
                                .alias("last_ok")).group_by(runs.c.aid)).cte("last_ok", columns=("aid", "last_ok"))
    query = (runs.select_from(runs.c.aid, fn.MIN(runs.c.at))
             .join(last_ok, on=(last_ok.c.aid == runs.c.aid))
             .where(last_ok.c.last_ok.is_null() | (runs.c.seq > last_ok.c.last_ok))
             .group_by(runs.c.aid).with_cte(runs, last_ok))
    out = {}
    for aid, at in query.tuples():
        if isinstance(at, str):
            at = dt.datetime.fromisoformat(at)
        out[aid] = at
    return out


def _last_payments(ids_query) -> dict:
    """agreement id → (paid_at, amount) of its latest payment not cancelled."""
    latest = (Payment.select(Payment.agreement.alias("aid"), fn.MAX(Payment.paid_at).alias("at"))
              .where(Payment.cancelled_at.is_null() & Payment.agreement.in_(ids_query))
              .group_by(Payment.agreement)).alias("latest")
    query = (Payment.select(Payment.agreement, Payment.paid_at, Payment.amount)
             .join(latest, on=((latest.c.aid == Payment.agreement) & (latest.c.at == Payment.paid_at)))
             .where(Payment.cancelled_at.is_null()).order_by(Payment.id))
    out = {}
    for payment in query:
        out[payment.agreement_id] = (payment.paid_at, payment.amount)
    return out


def _states(ids_query) -> dict:
    rank = Case(Account.state, [(s, i) for i, s in enumerate(STATE_RANK)], len(STATE_RANK))
    query = (Account.select(Account.agreement, fn.MIN(rank)).where(
        (Account.deleted == False) & Account.agreement.in_(ids_query))  # noqa: E712
        .group_by(Account.agreement))
    return {aid: STATE_RANK[int(best)] for aid, best in query.tuples() if best is not None
            and int(best) < len(STATE_RANK)}


def run(filters: dict, manager) -> Report:
    """The report for `filters` (see FILTERS) as `manager` may see it."""
    mode = filters.get("mode") or "negative"
    base = debtor_query(filters, manager)
    ids = base.select(Agreement.id)
    since = _since(ids, mode)
    payments = _last_payments(ids)
    states = _states(ids)
    day = today()
    rows = []
    for a in base.objects():
        started = since.get(a.id)
        start_day = local_date_of(started) if started is not None else None
        days = (day - start_day).days if start_day is not None else None
        if filters.get("days") and (days is None or days < filters["days"]):
            continue
        paid_at, paid = payments.get(a.id, (None, None))
        funds = a.balance + (a.credit_limit if mode == "credit" else 0)
        rows.append({
            "agreement_id": a.id, "agreement": a.number, "subscriber_id": a.subscriber_id,
            "subscriber": a.name, "phone": a.phone, "email": a.email, "operator": a.operator_name,
            "balance": a.balance, "credit_limit": a.credit_limit, "debt": -funds,
            "since": start_day, "days": days,
            "last_payment": local_date_of(paid_at) if paid_at is not None else None,
            "last_payment_amount": paid, "state": states.get(a.id, "none"),
        })
    totals = {"agreement": len(rows), "debt": sum((r["debt"] for r in rows), minor(0)),
              "balance": sum((r["balance"] for r in rows), minor(0))}
    return Report(NAME, COLUMNS, rows, totals, filters, None, [MODE_LABELS[mode]])

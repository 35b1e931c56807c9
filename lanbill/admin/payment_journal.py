"""The payment journal: every payment across agreements the manager may
see, filtered by period (pay date), how it came (a staff method or a
payment system), manager and whether it was cancelled; totals of what is
shown; CSV export.  The entry form («Работа с платежами») stays at
/admin/payments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import peewee
from flask import render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from lanbill.admin import bp
from lanbill.admin.common import parse_day, requires
from lanbill.admin.sources import METHOD_LABELS, actor_text, manager_names
from lanbill.admin.tables import Column, Table, wants_csv
from lanbill.clock import midnight_utc, to_local, today
from lanbill.db import from_minor
from lanbill.models import Agreement, Manager, Payment, PaymentSystem, Subscriber
from lanbill.staff.access import scope

CANCELLED_CHOICES = (("", _l("All")), ("no", _l("Not cancelled")), ("yes", _l("Cancelled only")))


def _columns():
    return [
        Column("paid", _l("Paid at"), sort=Payment.paid_at, value=lambda p: to_local(p.paid_at).strftime(
            "%d.%m.%Y %H:%M")),
        Column("agreement", _l("Agreement"), sort=Agreement.number, value=lambda p: p.agreement.number),
        Column("subscriber", _l("Subscriber"), sort=Subscriber.name, value=lambda p: p.agreement.subscriber.name),
        Column("amount", _l("Amount"), sort=Payment.amount, value=lambda p: p.amount, css="num"),
        Column("how", _l("How"), value=lambda p: getattr(p, "how", "")),
        Column("document", _l("Document number"), sort=Payment.document_number, value=lambda p: p.document_number),
        Column("who", _l("Source"), value=lambda p: getattr(p, "who", p.actor)),
        Column("cancelled", _l("Cancelled"), value=lambda p: p.cancel_reason if p.cancelled_at else ""),
        Column("comment", _l("Comment"), value=lambda p: p.comment, visible=False),
    ]


def journal_filters(args) -> dict:
    """The filters as read from the URL (bookmarkable); a bad value is
    dropped, not an error.  Default period: this month so far."""
    first = parse_day(args.get("from"))
    last = parse_day(args.get("to"))
    if first is None and last is None and "from" not in args:
        first = today().replace(day=1)
    how = args.get("how", "")
    if how and how not in METHOD_LABELS and not (how.startswith("system:") and how[7:].isdigit()):
        how = ""
    manager = args.get("manager", "")
    cancelled = args.get("cancelled", "")
    return {"from": first, "to": last, "how": how, "manager": manager if manager.isdigit() else "",
            "cancelled": cancelled if cancelled in ("yes", "no") else ""}


def journal_query(filters, manager):
    query = (Payment.select(Payment, Agreement, Subscriber)
             .join(Agreement, on=(Payment.agreement == Agreement.id))
             .join(Subscriber, on=(Agreement.subscriber == Subscriber.id)))
    query = scope(query, manager, Agreement.subscriber)
    if filters["from"]:
        query = query.where(Payment.paid_at >= midnight_utc(filters["from"]))
    if filters["to"]:
        query = query.where(Payment.paid_at < midnight_utc(filters["to"] + dt.timedelta(days=1)))
    how = filters["how"]
    if how.startswith("system:"):
        query = query.where(Payment.payment_system_id == int(how[7:]))
    elif how:
        query = query.where((Payment.method == how) & Payment.payment_system_id.is_null())
    if filters["manager"]:
        query = query.where(Payment.manager_id == int(filters["manager"]))
    if filters["cancelled"] == "yes":
        query = query.where(Payment.cancelled_at.is_null(False))
    elif filters["cancelled"] == "no":
        query = query.where(Payment.cancelled_at.is_null())
    return query


def journal_totals(query) -> dict:
    """Count and sum of the payments shown, booked and cancelled apart."""
    totals = {"count": 0, "amount": Decimal("0.00"), "cancelled_count": 0, "cancelled_amount": Decimal("0.00")}
    rows = (query.select(Payment.cancelled_at.is_null().alias("live"), peewee.fn.COUNT(Payment.id),
                         peewee.fn.COALESCE(peewee.fn.SUM(Payment.amount), 0))
            .group_by(Payment.cancelled_at.is_null()).order_by().tuples())
    for live, count, amount in rows:
        key = "" if live else "cancelled_"
        totals[key + "count"] += count
        totals[key + "amount"] += from_minor(int(amount))
    return totals


def _describe(payments) -> None:
    """How each payment came and who booked it, in words (two queries)."""
    systems = dict(PaymentSystem.select(PaymentSystem.id, PaymentSystem.name).tuples())
    names = manager_names(payment.actor for payment in payments)
    for payment in payments:
        payment.how = systems.get(payment.payment_system_id) or str(METHOD_LABELS.get(payment.method, payment.method))
        payment.who = actor_text(payment.actor, names)


@bp.route("/payments/journal")
@requires("payments.create")
def payment_journal():
    filters = journal_filters(request.args)
    table = Table.from_request("payment_journal", _columns(), default_sort="paid", descending=True,
                               manager=current_user, tie_breaker=Payment.id)
    query = journal_query(filters, current_user)
    if wants_csv():
        return table.csv(query, "payments.csv", prepare=_describe)
    page = table.page(query)
    _describe(page.items)
    systems = list(PaymentSystem.select(PaymentSystem.id, PaymentSystem.name).order_by(PaymentSystem.name).tuples())
    managers = list(Manager.select(Manager.id, Manager.login, Manager.name).order_by(Manager.login))
    return render_template("admin/payments/journal.html", t=table, page=page, filters=filters,
                           totals=journal_totals(query), methods=METHOD_LABELS, systems=systems,
                           managers=managers, cancelled_choices=CANCELLED_CHOICES)

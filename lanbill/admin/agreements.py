"""Agreements: create one for a subscriber, its page (number, operator,
currency, balance, credit limit) and its ledger with a period filter and
CSV export."""

from __future__ import annotations

import datetime as dt

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from lanbill.admin import bp
from lanbill.admin.common import (
    apply_errors,
    current_actor,
    parse_day,
    requires,
    visible_agreement,
    visible_subscriber,
)
from lanbill.admin.forms import AgreementForm, AgreementNumberForm, CreditLimitForm, PromiseForm
from lanbill.admin.sources import describe_entries
from lanbill.admin.tables import Column, Table, wants_csv
from lanbill.billing import ledger, promises
from lanbill.billing.blocks import available_funds
from lanbill.clock import midnight_utc, today
from lanbill.customers import agreements
from lanbill.errors import BillingError
from lanbill.models import Currency, LedgerEntry, Operator

KIND_LABELS = {
    "payment": _l("Payment"),
    "payment_reversal": _l("Payment cancelled"),
    "rent": _l("Rent"),
    "rent_correction": _l("Rent correction"),
    "service": _l("Service"),
    "volume": _l("Traffic"),
    "time": _l("Time"),
    "one_off": _l("One-off charge"),
    "correction": _l("Correction"),
    "opening_balance": _l("Opening balance"),
}


@bp.route("/subscribers/<int:subscriber_id>/agreements/new", methods=["GET", "POST"])
@requires("subscribers.edit")
def agreement_new(subscriber_id):
    subscriber = visible_subscriber(subscriber_id)
    if subscriber.is_template:
        abort(404)
    form = AgreementForm()
    operators = Operator.select().order_by(Operator.is_default.desc(), Operator.id)
    form.operator.choices = [(o.id, o.name) for o in operators]
    form.currency.choices = [(c.code, f"{c.code} — {c.name}") for c in
                             Currency.select().order_by(Currency.is_default.desc(), Currency.code)]
    if request.method == "GET":
        form.date.data = today().isoformat()
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate():
            day = None
            if form.date.data:
                try:
                    day = dt.date.fromisoformat(form.date.data.strip())
                except ValueError:
                    form.date.errors = [_("Not a date.")]
            if not form.date.errors:
                try:
                    agreement = agreements.create_agreement(
                        subscriber, actor=current_actor(), number=(form.number.data or "").strip() or None,
                        operator=form.operator.data, currency=form.currency.data,
                        credit_limit=form.credit_limit.data or "0", date=day)
                except BillingError as exc:
                    apply_errors(form, exc)
                    status = exc.status
                else:
                    flash(_("Agreement %(number)s is created.", number=agreement.number), "success")
                    return redirect(url_for("admin.subscriber_edit", subscriber_id=subscriber.id) + "#agreements")
    return render_template("admin/agreements/new.html", form=form, subscriber=subscriber), status


LEDGER_COLUMNS = [
    Column("created", _l("When"), sort=LedgerEntry.created_at, value=lambda e: e.created_at),
    Column("kind", _l("Kind"), sort=LedgerEntry.kind, value=lambda e: KIND_LABELS.get(e.kind, e.kind)),
    Column("amount", _l("Amount"), sort=LedgerEntry.amount, value=lambda e: e.amount, css="num"),
    Column("balance", _l("Balance after"), value=lambda e: getattr(e, "balance_after", ""), css="num"),
    Column("period", _l("Period"), value=lambda e: _period_text(e)),
    Column("account", _l("Account"), value=lambda e: e.account_id or ""),
    Column("who", _l("Source"), value=lambda e: getattr(e, "source", e.actor)),
    Column("comment", _l("Comment"), value=lambda e: getattr(e, "comment_text", e.comment)),
]


def _period_text(entry) -> str:
    """A charge's period as dates staff read: 01.12.2026–31.12.2026, or one
    day."""
    if not entry.period_start:
        return ""
    first = entry.period_start.strftime("%d.%m.%Y")
    if not entry.period_end or entry.period_end == entry.period_start:
        return first
    return f"{first}–{entry.period_end.strftime('%d.%m.%Y')}"


def _describe_ledger_rows(agreement_id):
    """Prepare a batch of ledger rows for display or export: the running
    balance after each and readable sources (a few queries per batch)."""

    def prepare(entries):
        balances = ledger.balances_after(agreement_id, [e.id for e in entries])
        for entry in entries:
            entry.balance_after = balances.get(entry.id)
        describe_entries(entries)

    return prepare


def ledger_query(agreement_id, args):
    query = LedgerEntry.select().where(LedgerEntry.agreement == agreement_id)
    start, end = parse_day(args.get("from")), parse_day(args.get("to"))
    if start:
        query = query.where(LedgerEntry.created_at >= midnight_utc(start))
    if end:
        query = query.where(LedgerEntry.created_at < midnight_utc(end + dt.timedelta(days=1)))
    if args.get("account", "").isdigit():
        query = query.where(LedgerEntry.account_id == int(args["account"]))
    if args.get("kind") in KIND_LABELS:
        query = query.where(LedgerEntry.kind == args["kind"])
    return query


def _render_agreement(agreement, *, credit_form=None, promise_form=None, number_form=None, status=200):
    """The agreement page: properties, credit limit, promised payment, ledger."""
    table = Table.from_request("ledger", LEDGER_COLUMNS, default_sort="created", descending=True,
                               manager=current_user, tie_breaker=LedgerEntry.id)
    query = ledger_query(agreement.id, request.args if status == 200 else {})
    prepare = _describe_ledger_rows(agreement.id)
    if status == 200 and wants_csv():
        return table.csv(query, f"ledger-{agreement.number}.csv", prepare=prepare)
    page = table.page(query)
    prepare(page.items)
    if credit_form is None:
        credit_form = CreditLimitForm(prefix="c")
        credit_form.credit_limit.data = str(agreement.credit_limit).replace(".", ",")  # as typed in Russian
    promise_form = promise_form or PromiseForm(prefix="p")
    if number_form is None:
        number_form = AgreementNumberForm(prefix="n")
        number_form.number.data = agreement.number
    return render_template(
        "admin/agreements/view.html", agreement=agreement, table=table, page=page,
        credit_form=credit_form, promise_form=promise_form, number_form=number_form, kinds=KIND_LABELS,
        available=available_funds(agreement), open_promise=promises.open_promise(agreement),
        promise_allowed=promises.amount_allowed(agreement),
    ), status


@bp.route("/agreements/<int:agreement_id>")
@requires("subscribers.view")
def agreement_view(agreement_id):
    return _render_agreement(visible_agreement(agreement_id))


def _post_agreement_form(agreement_id, form_class, prefix: str, form_name: str, change, done_message):
    """One small form of the agreement page: validate → one domain call →
    redirect with `done_message`; a refusal is shown on the form (422) and
    changes nothing."""
    agreement = visible_agreement(agreement_id)
    form = form_class(prefix=prefix)
    if form.validate():
        try:
            change(agreement, form)
        except BillingError as exc:
            apply_errors(form, exc)
        else:
            flash(done_message(), "success")
            return redirect(url_for("admin.agreement_view", agreement_id=agreement.id))
    return _render_agreement(agreement, status=422, **{form_name: form})


@bp.route("/agreements/<int:agreement_id>/credit", methods=["POST"])
@requires("subscribers.edit")
def agreement_credit(agreement_id):
    return _post_agreement_form(
        agreement_id, CreditLimitForm, "c", "credit_form",
        lambda agreement, form: agreements.set_credit_limit(agreement, form.credit_limit.data, actor=current_actor()),
        lambda: _("The credit limit is saved."))


@bp.route("/agreements/<int:agreement_id>/promise", methods=["POST"])
@requires("payments.create")
def agreement_promise(agreement_id):
    """Give a promised payment (the group's rules decide)."""
    return _post_agreement_form(
        agreement_id, PromiseForm, "p", "promise_form",
        lambda agreement, form: promises.request_promise(agreement, form.amount.data, actor=current_actor()),
        lambda: _("The promised payment is given."))


@bp.route("/agreements/<int:agreement_id>/number", methods=["POST"])
@requires("subscribers.edit")
def agreement_number(agreement_id):
    """Edit the number in place (unique per operator)."""
    return _post_agreement_form(
        agreement_id, AgreementNumberForm, "n", "number_form",
        lambda agreement, form: agreements.set_number(agreement, form.number.data, actor=current_actor()),
        lambda: _("The agreement number is saved."))

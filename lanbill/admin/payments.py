"""The payments form (seed 002 «Работа с платежами»): find the subscriber by
name / agreement / login / phone / e-mail, pick the agreement, see the
current balance (read-only), enter an amount or "set the balance to", the
pay date (back-dating allowed), a comment and the required document number;
the «Справочно» panel with the last document numbers; the payment history
with cancelling (a reversal entry, with a reason)."""

from __future__ import annotations

import datetime as dt

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.validators import Optional

from lanbill.admin import bp
from lanbill.admin.common import (
    apply_errors,
    current_actor,
    ensure_visible,
    requires,
    translate_error,
    visible_agreement,
    visible_subscriber,
)
from lanbill.admin.forms import CancelPaymentForm, PaymentForm
from lanbill.admin.search import PAYMENT_CRITERIA
from lanbill.admin.subscribers import agreements_by_subscriber
from lanbill.admin.tables import attachment_header
from lanbill.billing import payment_numbers, payments
from lanbill.clock import today
from lanbill.customers.search import ensure_index, subscriber_condition
from lanbill.documents import cash_receipt
from lanbill.errors import BillingError
from lanbill.models import Agreement, Currency, Payment, Subscriber
from lanbill.money import format_money
from lanbill.staff.access import scope

SEARCH_LIMIT = 30


def _context(agreement=None, form=None):
    by = request.args.get("by", "name")
    q = request.args.get("q", "")
    found = []
    if q.strip():
        ensure_index()
        condition = subscriber_condition(by if by in dict(PAYMENT_CRITERIA) else "name", q)
        query = Subscriber.select().where(condition & (Subscriber.is_template == False))  # noqa: E712
        found = list(scope(query, current_user).order_by(Subscriber.name, Subscriber.id).limit(SEARCH_LIMIT))
    subscriber = None
    if agreement is not None:
        subscriber = Subscriber.get_by_id(agreement.subscriber_id)
    elif request.args.get("subscriber", "").isdigit():
        subscriber = visible_subscriber(int(request.args["subscriber"]))
    subscriber_agreements = []
    if subscriber is not None:
        subscriber_agreements = agreements_by_subscriber([subscriber.id]).get(subscriber.id, [])
    history = []
    reference = {}
    if agreement is not None:
        history = list(Payment.select().where(Payment.agreement == agreement.id)
                       .order_by(Payment.paid_at.desc(), Payment.id.desc()).limit(100))
        reference = {"agreement": payments.last_document_numbers(agreement.id),
                     "database": payments.last_document_numbers(None)}
        if form is None:
            form = PaymentForm()
            form.paid_at.data = today().isoformat()
        numbering = payment_numbers.numbering_of(agreement.operator_id)
        if numbering.is_enabled:
            _number_assigned_on_saving(form, numbering)
    else:
        numbering = None
    return {"numbering": numbering,
            "criteria": PAYMENT_CRITERIA, "by": by, "q": q, "found": found, "subscriber": subscriber,
            "agreements": subscriber_agreements, "agreement": agreement, "form": form, "history": history,
            "reference": reference, "cancel_form": CancelPaymentForm(prefix="x"), "today": today()}


@bp.route("/payments")
@requires("payments.create")
def payments_form():
    agreement = None
    if request.args.get("agreement", "").isdigit():
        agreement = visible_agreement(int(request.args["agreement"]))
    return render_template("admin/payments/form.html", **_context(agreement))


def _number_assigned_on_saving(form, numbering) -> None:
    """With the operator's automatic numbering on, the document number is
    not typed: the field shows the number the payment would get now,
    read-only, and the real one is taken on saving (payment_numbers)."""
    field = form.document_number
    field.validators = [Optional()]
    field.flags.required = False
    field.data = numbering.next_text
    field.render_kw = {"readonly": True}


# The menu and links call the form "admin.payments".
bp.add_url_rule("/payments", endpoint="payments", view_func=payments_form)


def _paid_at(form):
    """The pay date as typed, or None when empty; billing.payments decides
    what a date means (today: now; an earlier day: back-dating)."""
    text = (form.paid_at.data or "").strip()
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        form.paid_at.errors = list(form.paid_at.errors) + [_("Not a date.")]
        return False
    return day


@bp.route("/payments/<int:agreement_id>", methods=["POST"])
@requires("payments.create")
def payment_post(agreement_id):
    agreement = visible_agreement(agreement_id)
    form = PaymentForm()
    numbering = payment_numbers.numbering_of(agreement.operator_id)
    if numbering.is_enabled:
        _number_assigned_on_saving(form, numbering)
    valid = form.validate()
    amount = (form.amount.data or "").strip()
    target = (form.target_balance.data or "").strip()
    if not amount and not target:
        form.amount.errors = list(form.amount.errors) + [_("Enter the amount or the balance to reach.")]
        valid = False
    elif amount and target:
        form.target_balance.errors = list(form.target_balance.errors) + [
            _("Enter either the amount or the balance to reach, not both.")]
        valid = False
    paid_at = _paid_at(form)
    if paid_at is False:
        valid = False
    if valid:
        try:
            booked = payment_numbers.book_payment(
                agreement, amount=amount, target=target, document_number=form.document_number.data,
                actor=current_actor(), paid_at=paid_at, method=form.method.data, comment=form.comment.data or "")
        except BillingError as exc:
            apply_errors(form, exc, {"target": "target_balance"})
            return render_template("admin/payments/form.html", **_context(agreement, form)), exc.status
        fresh = Agreement.select(Agreement, Currency).join(Currency).where(Agreement.id == agreement.id).get()
        flash(_("The payment is booked. Balance: %(balance)s",
                balance=format_money(fresh.balance, fresh.currency.symbol or fresh.currency.code)), "success")
        if numbering.is_enabled and isinstance(booked, Payment):
            flash(_("Payment document number: %(number)s", number=booked.document_number), "success")
        return redirect(url_for("admin.payments", agreement=agreement.id))
    return render_template("admin/payments/form.html", **_context(agreement, form)), 422


@bp.route("/payments/cancel/<int:payment_id>", methods=["POST"])
@requires("payments.cancel")
def payment_cancel(payment_id):
    payment = Payment.get_or_none(Payment.id == payment_id)
    if payment is None:
        abort(404)
    agreement = Agreement.get_by_id(payment.agreement_id)
    ensure_visible(agreement.subscriber_id)
    form = CancelPaymentForm(prefix="x")
    try:
        payments.cancel_payment(payment, actor=current_actor(), reason=form.reason.data or "")
    except BillingError as exc:
        flash(translate_error(exc), "error")
    else:
        flash(_("The payment is cancelled: a reversing entry is booked."), "success")
    return redirect(url_for("admin.payments", agreement=agreement.id) + "#history")


@bp.route("/payments/<int:payment_id>/receipt.pdf")
@requires("payments.create")
def payment_receipt(payment_id):
    """The cash receipt of a payment (квитанция к ПКО) as a PDF to print."""
    payment = Payment.get_or_none(Payment.id == payment_id) or abort(404)
    ensure_visible(Agreement.get_by_id(payment.agreement_id).subscriber_id)
    pdf = cash_receipt.receipt_pdf(payment, current_app.instance_path)
    response = make_response(pdf)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = attachment_header(f"receipt-{payment.document_number}.pdf").replace(
        "attachment", "inline", 1)
    return response

"""API: agreements (settlement accounts) — create, read with the balance
and available funds, the credit limit, and the ledger."""

from __future__ import annotations

import datetime as dt

from flask import jsonify, request

from lanbill.api import actor, bp, json_body, require
from lanbill.api.common import (
    Field,
    can_see,
    check_fields,
    currency_code,
    date_arg,
    int_arg,
    iso_date,
    iso_datetime,
    paged,
    unknown_reference,
    visible,
)
from lanbill.billing.blocks import available_funds
from lanbill.clock import midnight_utc
from lanbill.customers import agreements
from lanbill.errors import N_, NotFound
from lanbill.models import Agreement, LedgerEntry, Subscriber
from lanbill.money import money_str

CREATE_SPEC = {
    "subscriber_id": Field("id"),
    "number": Field("text", nullable=True, max_length=64),
    "currency": Field("text", nullable=True, max_length=3),
    "credit_limit": Field("money", nullable=True),
    "operator_id": Field("id", nullable=True),
    "date": Field("date", nullable=True),
}
UPDATE_SPEC = {"credit_limit": Field("money")}


def agreement_json(a: Agreement) -> dict:
    """`available` = balance + credit limit + open promised payments (DESIGN §5)."""
    return {
        "id": a.id,
        "number": a.number,
        "date": iso_date(a.date),
        "subscriber_id": a.subscriber_id,
        "operator_id": a.operator_id,
        "currency": currency_code(a.currency_id),
        "balance": money_str(a.balance),
        "credit_limit": money_str(a.credit_limit),
        "promised_amount": money_str(a.promised_amount),
        "available": money_str(available_funds(a)),
        "closed_at": iso_datetime(a.closed_at),
        "created_at": iso_datetime(a.created_at),
    }


def ledger_entry_json(e: LedgerEntry) -> dict:
    return {
        "id": e.id,
        "amount": money_str(e.amount),
        "kind": e.kind,
        "account_id": e.account_id,
        "tariff_id": e.tariff_id,
        "service_id": e.service_id,
        "payment_id": e.payment_id,
        "period_start": iso_date(e.period_start),
        "period_end": iso_date(e.period_end),
        "original_amount": money_str(e.original_amount),
        "original_currency": e.original_currency,
        "rate": str(e.rate) if e.rate is not None else None,
        "actor": e.actor,
        "created_at": iso_datetime(e.created_at),
        "comment": e.comment,
    }


def visible_agreement(agreement_id, error=None) -> Agreement:
    """The agreement, or `error` (404 by default) when it does not exist or
    its subscriber is outside the token's groups — the same answer, so its
    existence is not revealed."""
    found = Agreement.get_or_none(Agreement.id == agreement_id)
    if found is None or not can_see(found.subscriber_id):
        raise error or NotFound(N_("Agreement not found."))
    return found


@bp.post("/agreements")
def create_agreement():
    require("subscribers.edit")
    body = check_fields(json_body(), CREATE_SPEC, required=("subscriber_id",))
    subscriber = Subscriber.get_or_none(Subscriber.id == body["subscriber_id"])
    if subscriber is None or not can_see(subscriber.id):
        raise unknown_reference("subscriber_id", N_("No such subscriber."))
    agreement = agreements.create_agreement(
        subscriber, actor=actor(), number=body.get("number"), operator=body.get("operator_id"),
        currency=body.get("currency"), credit_limit=body.get("credit_limit"), date=_date(body.get("date")),
    )
    return jsonify(agreement_json(agreement)), 201


def _date(value):
    return dt.date.fromisoformat(value) if value else None


@bp.get("/agreements")
def list_agreements():
    """?subscriber_id= and ?number= (exact) narrow the list."""
    require("subscribers.view")
    query = visible(Agreement.select(), Agreement.subscriber)
    subscriber_id = int_arg("subscriber_id", 0, low=1)
    if subscriber_id:
        query = query.where(Agreement.subscriber == subscriber_id)
    if request.args.get("number"):
        query = query.where(Agreement.number == request.args["number"])
    return jsonify(paged(query, agreement_json, order_by=[Agreement.id]))


@bp.get("/agreements/<int:agreement_id>")
def get_agreement(agreement_id):
    require("subscribers.view")
    return jsonify(agreement_json(visible_agreement(agreement_id)))


@bp.patch("/agreements/<int:agreement_id>")
def update_agreement(agreement_id):
    """Only the credit limit can change; the balance block follows at once."""
    require("subscribers.edit")
    agreement = visible_agreement(agreement_id)
    body = check_fields(json_body(), UPDATE_SPEC, required=("credit_limit",))
    agreement = agreements.set_credit_limit(agreement, body["credit_limit"], actor=actor())
    return jsonify(agreement_json(agreement))


@bp.get("/agreements/<int:agreement_id>/ledger")
def agreement_ledger(agreement_id):
    """Entries in id order; ?from= and ?to= are local dates (inclusive) of
    when an entry was booked."""
    require("subscribers.view")
    agreement = visible_agreement(agreement_id)
    query = LedgerEntry.select().where(LedgerEntry.agreement == agreement.id)
    start, end = date_arg("from"), date_arg("to")
    if start:
        query = query.where(LedgerEntry.created_at >= midnight_utc(start))
    if end:
        query = query.where(LedgerEntry.created_at < midnight_utc(end + dt.timedelta(days=1)))
    return jsonify(paged(query, ledger_entry_json, order_by=[LedgerEntry.id]))

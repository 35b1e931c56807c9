"""API: payments (seed 002 «Работа с платежами») — book, read, cancel.

Payments booked through the API belong to the gateway "api", and their
`external_id` to the client that sent it (the token's owner): the same
client's `external_id` again answers 200 with the payment already booked
and books nothing (DESIGN §4); the same id with another agreement or
amount is 409.  Another client's ids are its own: the same id from two
clients books two payments, and neither learns of the other's.
"""

from __future__ import annotations

from flask import g, jsonify, request

from lanbill.api import actor, bp, json_body, require
from lanbill.api.agreements import visible_agreement
from lanbill.api.common import Field, can_see, check_fields, int_arg, iso_datetime, paged, unknown_reference, visible
from lanbill.billing import payments
from lanbill.errors import N_, NotFound
from lanbill.models import Agreement, Payment
from lanbill.money import money_str

GATEWAY = "api"
COMMENT_MAX_LENGTH = 1000


def api_client() -> str:
    """The client an external id belongs to: the token's owner."""
    return f"manager:{g.api_manager.id}"
SPEC = {
    "agreement_id": Field("id"),
    "amount": Field("money"),
    "document_number": Field("text", max_length=64),
    "external_id": Field("text", nullable=True, max_length=128),
    "paid_at": Field("datetime", nullable=True, max_length=64),
    "comment": Field("text", nullable=True, max_length=COMMENT_MAX_LENGTH),
    "method": Field("text", nullable=True, max_length=16),
}
CANCEL_SPEC = {"reason": Field("text", max_length=COMMENT_MAX_LENGTH)}


def payment_json(payment: Payment) -> dict:
    return {
        "id": payment.id,
        "agreement_id": payment.agreement_id,
        "amount": money_str(payment.amount),
        "paid_at": iso_datetime(payment.paid_at),
        "document_number": payment.document_number,
        "method": payment.method,
        "gateway": payment.gateway,
        "external_id": payment.external_id,
        "comment": payment.comment,
        "manager_id": payment.manager_id,
        "actor": payment.actor,
        "entry_id": payment.entry_id,
        "cancelled": payment.cancelled_at is not None,
        "cancelled_at": iso_datetime(payment.cancelled_at),
        "cancelled_by": payment.cancelled_by,
        "cancel_reason": payment.cancel_reason,
        "reversal_entry_id": payment.reversal_entry_id,
        "created_at": iso_datetime(payment.created_at),
    }


def visible_payment(payment_id) -> Payment:
    found = Payment.get_or_none(Payment.id == payment_id)
    if found is None or not can_see(Agreement.get_by_id(found.agreement_id).subscriber_id):
        raise NotFound(N_("Payment not found."))
    return found


@bp.post("/payments")
def create_payment():
    """201 with the new payment; 200 with the earlier one for a repeated
    `external_id`.  `paid_at` may be in the past (back-dating), not the future."""
    require("payments.create")
    body = check_fields(json_body(), SPEC, required=("agreement_id", "amount", "document_number"))
    agreement = visible_agreement(body["agreement_id"], unknown_reference("agreement_id", N_("No such agreement.")))
    payment, created = payments.post_payment(
        agreement, body["amount"], body["document_number"], actor=actor(),
        paid_at=body.get("paid_at"), method=body.get("method") or "cash", comment=body.get("comment") or "",
        external_id=body.get("external_id"), gateway=GATEWAY, external_client=api_client(),
    )
    return jsonify(payment_json(payment)), 201 if created else 200


@bp.get("/payments")
def list_payments():
    """?agreement_id=, ?external_id= (of this client's API payments) narrow
    the list; newest first."""
    require("subscribers.view")
    query = visible(Payment.select().join(Agreement), Agreement.subscriber)
    agreement_id = int_arg("agreement_id", 0)
    if agreement_id:
        query = query.where(Payment.agreement == agreement_id)
    if request.args.get("external_id"):
        query = query.where((Payment.gateway == GATEWAY) & (Payment.external_client == api_client())
                            & (Payment.external_id == request.args["external_id"]))
    return jsonify(paged(query, payment_json, order_by=[Payment.id.desc()]))


@bp.get("/payments/<int:payment_id>")
def get_payment(payment_id):
    require("subscribers.view")
    return jsonify(payment_json(visible_payment(payment_id)))


@bp.post("/payments/<int:payment_id>/cancel")
def cancel_payment(payment_id):
    """Cancel by a reversing ledger entry; the payment stays, marked cancelled."""
    require("payments.cancel")
    payment = visible_payment(payment_id)
    body = check_fields(json_body(), CANCEL_SPEC, required=("reason",))
    return jsonify(payment_json(payments.cancel_payment(payment, actor=actor(), reason=body["reason"])))

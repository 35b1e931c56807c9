"""API: the promised payment of an agreement (seed 002 «Обещанный платеж»):
a temporary credit within the subscriber's group settings."""

from __future__ import annotations

from flask import jsonify

from lanbill.api import actor, bp, json_body, require
from lanbill.api.agreements import visible_agreement
from lanbill.api.common import Field, check_fields, iso_datetime
from lanbill.billing import promises
from lanbill.models import PromisedPayment
from lanbill.money import money_str

PROMISE_SPEC = {"amount": Field("money")}


def promised_payment_json(p: PromisedPayment) -> dict:
    return {"id": p.id, "agreement_id": p.agreement_id, "amount": money_str(p.amount),
            "created_at": iso_datetime(p.created_at), "due_at": iso_datetime(p.due_at), "state": p.state}


@bp.post("/agreements/<int:agreement_id>/promised-payment")
def create_promised_payment(agreement_id):
    """{"amount": "300.00"}: a temporary credit within the subscriber's
    group settings; lifts the balance block at once."""
    require("payments.create")
    agreement = visible_agreement(agreement_id)
    data = check_fields(json_body(), PROMISE_SPEC, required=("amount",))
    promise = promises.request_promise(agreement, data["amount"], actor=actor())
    return jsonify(promised_payment_json(promise)), 201

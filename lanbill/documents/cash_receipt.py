"""The receipt a subscriber takes away after paying cash at the desk
(«Квитанция к приходному кассовому ордеру», the tear-off part of form
КО-1): the operator, who paid, on which agreement, what for, the amount in
figures and in words, the payment's document number and date, and who took
the money.

It is printed from the payment itself whenever asked (the payment row is
immutable; a cancelled payment's receipt is marked cancelled), so it has no
number series of its own: its number is the payment's document number."""

from __future__ import annotations

from lanbill import templating
from lanbill.clock import to_local
from lanbill.documents.content import seller_of
from lanbill.documents.render import FILTERS, folders, html_to_pdf
from lanbill.documents.words import amount_in_words
from lanbill.models import Agreement, Currency, Manager, Operator, Payment, Subscriber


def receipt_context(payment: Payment) -> dict:
    agreement = Agreement.get_by_id(payment.agreement_id)
    subscriber = Subscriber.get_by_id(agreement.subscriber_id)
    operator = Operator.get_by_id(agreement.operator_id)
    manager = Manager.get_or_none(Manager.id == payment.manager_id) if payment.manager_id else None
    return {
        "payment": payment, "seller": seller_of(operator), "payer": subscriber.name,
        "agreement": agreement.number, "currency": Currency.get_by_id(agreement.currency_id).code,
        "amount": payment.amount, "words": amount_in_words(payment.amount),
        "paid_at": to_local(payment.paid_at), "cashier": (manager.name or manager.login) if manager else "",
        "cancelled": payment.cancelled_at is not None,
    }


def receipt_pdf(payment: Payment, instance_path) -> bytes:
    """The PDF of a payment's cash receipt (the module's rule)."""
    html = templating.render(folders(instance_path), "cash_receipt.html", FILTERS, **receipt_context(payment))
    return html_to_pdf(html, instance_path)

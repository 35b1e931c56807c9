"""What happened, for whoever listens: named signals (blinker) that a
domain room sends after a change and another room subscribes to, so the
sender never imports the listener (the notifications room listens to
billing, documents, helpdesk and the cabinet without any of them knowing
about it, and without an import cycle).

Rules for senders and receivers:
- A sender sends inside its own transaction, after the change is written;
  a receiver that writes (e.g. an outbox row) therefore commits or rolls
  back with the change — the transactional outbox.
- A receiver must never make the sender fail: it catches its own errors
  (in a savepoint) and logs them without personal data.
- Arguments are keyword arguments named in each signal's comment.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# payment=Payment, after it is booked (not on a repeated external id)
payment_booked = _signals.signal("payment-booked")
# payments=[Payment, …], after a batch of them is booked together
# (billing.payments.post_payments: a bank registry); each of them was also
# sent as payment_booked with in_batch=True, which a receiver that has a
# batch form of its work may skip and do here at once
payments_booked = _signals.signal("payments-booked")
# payment=Payment, after it is cancelled (its reversal is booked)
payment_cancelled = _signals.signal("payment-cancelled")
# account=Account, kind=str ("balance", "admin", "user", "traffic"), after a block is set
account_blocked = _signals.signal("account-blocked")
# document=Document, after it is issued (its PDF stored)
document_issued = _signals.signal("document-issued")
# ticket=Ticket, message=Message, by_staff=bool, after a reply is added
ticket_replied = _signals.signal("ticket-replied")
# subscriber=Subscriber, channel=str ("email" or "sms"), address=str, code=str:
# a one-time code for resetting the cabinet password, to be delivered
cabinet_reset_code = _signals.signal("cabinet-reset-code")
# system=PaymentSystem, external_id=str, reason=str ("conflict"): a payment
# system repeated a transaction id with another amount or agreement; it was
# refused and staff should look (the alert)
external_payment_refused = _signals.signal("external-payment-refused")
# agreement=Agreement, online_payment=OnlinePayment or None, reason=str: the
# autopayment could not charge the saved method (after its retry), so the
# subscriber is to be told to pay by hand
autopayment_failed = _signals.signal("autopayment-failed")
# agreement=Agreement, amount=Decimal, charge_on=date: the autopayment will
# charge the saved method on that day (the notice before)
autopayment_upcoming = _signals.signal("autopayment-upcoming")

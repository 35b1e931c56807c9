"""Agreements (settlement accounts), the ledger, payments, promised payments."""

from __future__ import annotations

import peewee

from lanbill.db import MoneyField, RateField
from lanbill.models.base import BaseModel, index_where_set, utcnow
from lanbill.models.operators import Currency, Operator
from lanbill.models.subscribers import Subscriber

LEDGER_KINDS = (
    "payment",
    "payment_reversal",
    "rent",
    "rent_correction",
    "service",
    "volume",
    "time",
    "one_off",
    "correction",
    "opening_balance",  # what an ISP moving in carried over from its old billing (operations/imports.py)
)
PAYMENT_METHODS = ("cash", "bank", "card", "gateway")


class Agreement(BaseModel):
    """«Договор»: the settlement account several accounts may charge.

    `balance` is only ever changed by billing.ledger.post_entry together
    with the ledger row that explains it (DESIGN §4)."""

    number = peewee.CharField(max_length=64)
    date = peewee.DateField()
    operator = peewee.ForeignKeyField(Operator, on_delete="RESTRICT")
    subscriber = peewee.ForeignKeyField(Subscriber, backref="agreements", on_delete="RESTRICT")
    currency = peewee.ForeignKeyField(Currency, on_delete="RESTRICT")
    balance = MoneyField(default=0)
    credit_limit = MoneyField(default=0)
    # Sum of open promised payments, kept by billing.promises with the rows.
    promised_amount = MoneyField(default=0)
    promise_refused_until_repaid = peewee.BooleanField(default=False)
    closed_at = peewee.DateTimeField(null=True)
    version = peewee.IntegerField(default=1)
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("operator", "number"), True),)


class LedgerEntry(BaseModel):
    """One change of an agreement's balance.  Never updated, never deleted.

    `idempotency_key` makes periodic charges safe to re-run: (agreement,
    account, kind, service, period) → at most one entry."""

    # No index of its own: (agreement, created_at) below serves every lookup
    # by agreement, and a booking then updates one index fewer.
    agreement = peewee.ForeignKeyField(Agreement, backref="entries", on_delete="RESTRICT", index=False)
    amount = MoneyField()
    kind = peewee.CharField(max_length=24)  # a handful of values: not an index's first column
    account_id = peewee.IntegerField(null=True)  # partial index below: payments have none
    tariff_id = peewee.IntegerField(null=True)
    service_id = peewee.IntegerField(null=True)
    payment_id = peewee.IntegerField(null=True, index=True)
    period_start = peewee.DateField(null=True)
    period_end = peewee.DateField(null=True)
    # Amount in the charge's own currency and the rate used, when the
    # tariff's currency differs from the agreement's (DESIGN §4).
    original_amount = MoneyField(null=True)
    original_currency = peewee.CharField(max_length=3, null=True)
    rate = RateField(null=True)
    manager_id = peewee.IntegerField(null=True)
    actor = peewee.CharField(max_length=128, default="")  # "manager:admin", "job:rent", "api:…"
    comment = peewee.TextField(default="")
    idempotency_key = peewee.CharField(max_length=200, null=True)  # unique: partial index below
    # Indexed as the first column of the reports' covering index
    # (created_at, agreement_id, kind, amount), migration 0100.
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("agreement", "created_at"), False),)


LedgerEntry.add_index(index_where_set(LedgerEntry.account_id))
LedgerEntry.add_index(index_where_set(LedgerEntry.idempotency_key, unique=True))


class Payment(BaseModel):
    """A payment (seed 002 «Работа с платежами»).  Cancelling it posts a
    `payment_reversal` entry; the payment row stays with the reason."""

    # No index of its own: (agreement, created_at) below serves lookups by
    # agreement; paid_at is the first column of the reports' covering index
    # (migration 0100).
    agreement = peewee.ForeignKeyField(Agreement, backref="payments", on_delete="RESTRICT", index=False)
    amount = MoneyField()
    paid_at = peewee.DateTimeField()
    document_number = peewee.CharField(max_length=64)
    method = peewee.CharField(max_length=16, default="cash")
    gateway = peewee.CharField(max_length=32, default="")
    external_id = peewee.CharField(max_length=128, null=True)
    # Who sent `external_id` ("manager:<id>" for an API token's owner): an
    # external id is unique per gateway and client, not across all clients.
    external_client = peewee.CharField(max_length=64, default="", constraints=[peewee.SQL("DEFAULT ''")])
    # the payment system that booked it (lanbill.models.paysys); then
    # `gateway` is the system's kind and `external_client` its code
    payment_system_id = peewee.IntegerField(null=True)  # partial index below: staff payments have none
    comment = peewee.TextField(default="")
    manager_id = peewee.IntegerField(null=True)
    actor = peewee.CharField(max_length=128, default="")
    entry = peewee.ForeignKeyField(LedgerEntry, null=True, backref="+", index=False)  # no lookup by entry
    cancelled_at = peewee.DateTimeField(null=True)
    cancelled_by = peewee.CharField(max_length=128, default="")
    cancel_reason = peewee.TextField(default="")
    reversal_entry = peewee.ForeignKeyField(LedgerEntry, null=True, backref="+", index=False)  # partial below
    created_at = peewee.DateTimeField(default=utcnow, index=True)

    class Meta:
        # Lookups by agreement use (agreement_id, paid_at), migration 0040:
        # the lists order an agreement's payments by the day they were paid.
        indexes = ((("gateway", "external_client", "external_id"), True),)


Payment.add_index(index_where_set(Payment.reversal_entry))
Payment.add_index(index_where_set(Payment.payment_system_id))


class PromisedPayment(BaseModel):
    """A promised payment: a temporary credit (seed 002 «Обещанный платеж»).

    state: open → repaid (enough paid before `due_at`) or expired."""

    agreement = peewee.ForeignKeyField(Agreement, backref="promises", on_delete="RESTRICT")
    amount = MoneyField()
    created_at = peewee.DateTimeField(default=utcnow)
    due_at = peewee.DateTimeField()
    state = peewee.CharField(max_length=16, default="open", index=True)
    closed_at = peewee.DateTimeField(null=True)
    actor = peewee.CharField(max_length=128, default="")

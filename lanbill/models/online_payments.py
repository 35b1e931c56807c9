"""Online payments the cabinet or the autopayment job asks ЮKassa to take,
and each agreement's saved payment method with its autopayment settings
(DESIGN §11, DOMAIN-RULES §3.5)."""

from __future__ import annotations

import peewee

from lanbill.db import MoneyField
from lanbill.models.agreements import Agreement
from lanbill.models.base import BaseModel, utcnow
from lanbill.models.paysys import PaymentSystem

# how the subscriber pays: a new bank card, СБП, or the saved method
ONLINE_METHODS = ("bank_card", "sbp", "saved")
# new: not yet sent; pending / waiting_for_capture: ЮKassa waits for the
# payer; succeeded: booked as our payment; canceled: ЮKassa says no;
# failed: ЮKassa could not be reached or refused the request
ONLINE_STATUSES = ("new", "pending", "waiting_for_capture", "succeeded", "canceled", "failed")


class OnlinePayment(BaseModel):
    """One payment created at ЮKassa.  `idempotence_key` is ours (sent as
    Idempotence-Key and as metadata), `provider_id` ЮKassa's payment id;
    the payment is booked (`payment_id`) only after reading it back."""

    payment_system = peewee.ForeignKeyField(PaymentSystem, backref="+", on_delete="RESTRICT")
    agreement = peewee.ForeignKeyField(Agreement, backref="+", on_delete="RESTRICT")
    idempotence_key = peewee.CharField(max_length=64, unique=True)
    provider_id = peewee.CharField(max_length=64, null=True, unique=True)
    amount = MoneyField()
    method = peewee.CharField(max_length=16, default="bank_card")
    # cabinet: "Pay online"; autopay: the worker charged the saved method
    purpose = peewee.CharField(max_length=16, default="cabinet")
    # autopay: the month (YYYY-MM) the charge is for — once per period
    period = peewee.CharField(max_length=7, default="")
    save_method = peewee.BooleanField(default=False)
    status = peewee.CharField(max_length=24, default="new", index=True)
    confirmation_url = peewee.TextField(default="")
    payment_id = peewee.IntegerField(null=True)
    error = peewee.CharField(max_length=255, default="")
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("agreement", "purpose", "period"), False),)


class AutoPayment(BaseModel):
    """An agreement's saved payment method (only ЮKassa's id of it — no
    card data) and its autopayment: `days_before` the monthly charge, when
    the funds do not cover the next period, charge the shortfall or
    `fixed_amount`."""

    agreement = peewee.ForeignKeyField(Agreement, unique=True, backref="+", on_delete="RESTRICT")
    payment_system = peewee.ForeignKeyField(PaymentSystem, backref="+", on_delete="RESTRICT")
    method_id = peewee.CharField(max_length=64, default="")
    enabled = peewee.BooleanField(default=False)
    fixed_amount = MoneyField(null=True)
    days_before = peewee.IntegerField(default=3)
    # the month (YYYY-MM) whose "autopayment soon" notice has been sent
    noticed_period = peewee.CharField(max_length=7, default="")
    version = peewee.IntegerField(default=1)
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)

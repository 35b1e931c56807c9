"""54-FZ receipts: each operator's fiscal settings (ATOL Online v5) and the
receipt outbox, one row per receipt of a payment (DOMAIN-RULES §4)."""

from __future__ import annotations

import peewee

from lanbill.db import EncryptedField, MoneyField
from lanbill.models.agreements import Payment
from lanbill.models.base import BaseModel, utcnow
from lanbill.models.operators import Operator

SNO_CHOICES = ("osn", "usn_income", "usn_income_outcome", "esn", "patent")
VAT_CHOICES = ("none", "vat0", "vat5", "vat7", "vat10", "vat20", "vat22")
# advance + payment (a top-up not tied to a service), or full_prepayment +
# service (the accounting policy ties it to the service) — DOMAIN-RULES §4
SETTLEMENT_MODES = ("advance", "full_prepayment")
# pending: to be sent; wait: accepted by ATOL, its result to be fetched;
# done: fiscalised; failed: ATOL refused it or the tries ran out — staff
# retry it from the screen.
RECEIPT_STATUSES = ("pending", "wait", "done", "failed")
RECEIPT_OPERATIONS = ("sell", "sell_refund")


class FiscalSettings(BaseModel):
    """The operator's online cash register at ATOL Online (API v5)."""

    operator = peewee.ForeignKeyField(Operator, unique=True, backref="+", on_delete="CASCADE")
    enabled = peewee.BooleanField(default=True)
    api_url = peewee.CharField(max_length=255, default="https://online.atol.ru/possystem")
    login = peewee.CharField(max_length=128, default="")
    password = EncryptedField(default="")
    group_code = peewee.CharField(max_length=128, default="")
    inn = peewee.CharField(max_length=12, default="")
    sno = peewee.CharField(max_length=24, default="usn_income")
    payment_address = peewee.CharField(max_length=255, default="")  # settlement place: the site's URL
    company_email = peewee.CharField(max_length=255, default="")
    vat = peewee.CharField(max_length=8, default="none")
    settlement_mode = peewee.CharField(max_length=16, default="advance")
    item_name = peewee.CharField(max_length=128, default="Услуги связи по договору {agreement}")
    callback_url = peewee.CharField(max_length=255, default="")
    # the last token ATOL gave and until when it is used (it lives 24 h)
    token = EncryptedField(default="")
    token_expires_at = peewee.DateTimeField(null=True)
    version = peewee.IntegerField(default=1)
    updated_at = peewee.DateTimeField(default=utcnow)


class FiscalReceipt(BaseModel):
    """One receipt to register: a sale for a booked payment, a refund for
    a cancelled one.  `external_id` is ours and unique: ATOL refuses a second
    receipt with it, so a retry after a lost answer never prints twice."""

    payment = peewee.ForeignKeyField(Payment, backref="+", on_delete="RESTRICT")
    operator = peewee.ForeignKeyField(Operator, backref="+", on_delete="RESTRICT")
    operation = peewee.CharField(max_length=16, default="sell")
    external_id = peewee.CharField(max_length=64, unique=True)
    amount = MoneyField()
    client_contact = peewee.CharField(max_length=255, default="")
    status = peewee.CharField(max_length=16, default="pending", index=True)
    attempts = peewee.IntegerField(default=0)
    next_try_at = peewee.DateTimeField(default=utcnow, index=True)
    last_error = peewee.TextField(default="")
    uuid = peewee.CharField(max_length=64, default="")
    timestamp = peewee.CharField(max_length=19, default="")  # dd.mm.yyyy HH:MM:SS sent to ATOL
    # fiscal attributes from ATOL's report
    fn_number = peewee.CharField(max_length=32, default="")
    fiscal_document_number = peewee.CharField(max_length=32, default="")
    fiscal_document_attribute = peewee.CharField(max_length=32, default="")
    fiscal_receipt_number = peewee.CharField(max_length=32, default="")
    shift_number = peewee.CharField(max_length=32, default="")
    receipt_datetime = peewee.CharField(max_length=32, default="")
    ecr_registration_number = peewee.CharField(max_length=32, default="")
    ofd_receipt_url = peewee.CharField(max_length=512, default="")
    fns_site = peewee.CharField(max_length=255, default="")
    created_at = peewee.DateTimeField(default=utcnow, index=True)
    done_at = peewee.DateTimeField(null=True)

    class Meta:
        indexes = ((("payment", "operation"), True),)

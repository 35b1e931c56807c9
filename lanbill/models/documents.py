"""Documents (invoices, acts, prepayment invoices) and their templates."""

from __future__ import annotations

import peewee

from lanbill.db import MoneyField
from lanbill.models.agreements import Agreement
from lanbill.models.base import BaseModel, utcnow


class DocumentTemplate(BaseModel):
    kind = peewee.CharField(max_length=32)  # invoice|act|prepayment_invoice
    name = peewee.CharField(max_length=128)
    body = peewee.TextField()


class Document(BaseModel):
    agreement = peewee.ForeignKeyField(Agreement, backref="documents", on_delete="RESTRICT")
    kind = peewee.CharField(max_length=32)
    number = peewee.CharField(max_length=64, index=True)
    date = peewee.DateField()
    amount = MoneyField(default=0)
    period_start = peewee.DateField(null=True)
    period_end = peewee.DateField(null=True)
    path = peewee.CharField(max_length=512, default="")
    created_at = peewee.DateTimeField(default=utcnow)

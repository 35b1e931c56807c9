"""Prepaid payment cards («карты оплаты», DESIGN §11): generated in series,
each card a serial and a secret code, activated by a subscriber in the
cabinet (lanbill.paysys.cards)."""

from __future__ import annotations

import peewee

from lanbill.db import EncryptedField, MoneyField
from lanbill.models.agreements import Agreement, Payment
from lanbill.models.base import BaseModel, utcnow
from lanbill.models.operators import Currency, Operator

CARD_STATES = ("new", "used", "blocked", "expired")


class CardSeries(BaseModel):
    """A series of cards of one nominal, currency, expiry and operator.

    `printed_at`: when its sheet was first downloaded — from then on the
    cards keep only the hashes of their codes (lanbill.paysys.cards)."""

    operator = peewee.ForeignKeyField(Operator, null=True, on_delete="SET NULL", backref="+")
    currency = peewee.ForeignKeyField(Currency, on_delete="RESTRICT", backref="+")
    nominal = MoneyField()
    count = peewee.IntegerField()
    expires_on = peewee.DateField()
    comment = peewee.CharField(max_length=255, default="")
    created_by = peewee.CharField(max_length=128, default="")
    created_at = peewee.DateTimeField(default=utcnow)
    printed_at = peewee.DateTimeField(null=True)
    blocked_at = peewee.DateTimeField(null=True)


class PaymentCard(BaseModel):
    """One card: `serial` is printed in the open, the code under the
    scratch layer; `code_hash` is PBKDF2 of the code salted with the
    serial; `code_sealed` holds the code encrypted until the sheet is
    printed once, then it is emptied."""

    series = peewee.ForeignKeyField(CardSeries, backref="cards", on_delete="CASCADE")
    serial = peewee.CharField(max_length=32, unique=True)
    code_hash = peewee.CharField(max_length=128)
    code_sealed = EncryptedField(default="")
    blocked_at = peewee.DateTimeField(null=True)
    used_at = peewee.DateTimeField(null=True, index=True)
    subscriber_id = peewee.IntegerField(null=True, index=True)
    agreement = peewee.ForeignKeyField(Agreement, null=True, on_delete="RESTRICT", backref="+")
    payment = peewee.ForeignKeyField(Payment, null=True, on_delete="RESTRICT", backref="+")

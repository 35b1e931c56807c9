"""The ISP itself and its branches, currencies and exchange rates."""

from __future__ import annotations

import peewee

from lanbill.db import RateField
from lanbill.models.base import BaseModel, utcnow


class Operator(BaseModel):
    """An operator (the ISP or a branch) with the requisites documents need."""

    name = peewee.CharField(max_length=255)
    is_default = peewee.BooleanField(default=False)
    inn = peewee.CharField(max_length=12, default="")
    kpp = peewee.CharField(max_length=9, default="")
    ogrn = peewee.CharField(max_length=15, default="")
    bank_name = peewee.CharField(max_length=255, default="")
    bik = peewee.CharField(max_length=9, default="")
    corr_account = peewee.CharField(max_length=20, default="")
    settlement_account = peewee.CharField(max_length=20, default="")
    address = peewee.TextField(default="")
    vat_percent = peewee.IntegerField(default=20)
    director = peewee.CharField(max_length=255, default="")
    chief_accountant = peewee.CharField(max_length=255, default="")
    phone = peewee.CharField(max_length=64, default="")
    email = peewee.CharField(max_length=255, default="")
    version = peewee.IntegerField(default=1)  # optimistic lock for stale forms
    created_at = peewee.DateTimeField(default=utcnow)
    # documents (DESIGN §12, DOMAIN-RULES §5): a VAT payer writes "в т.ч.
    # НДС" and issues VAT invoices; otherwise "Без НДС" with the legal basis
    is_vat_payer = peewee.BooleanField(default=False)
    no_vat_basis = peewee.CharField(max_length=255, default="на основании п. 2 ст. 346.11 НК РФ")
    director_position = peewee.CharField(max_length=128, default="Генеральный директор")
    chief_accountant_position = peewee.CharField(max_length=128, default="Главный бухгалтер")
    logo_path = peewee.CharField(max_length=255, default="")  # relative to the instance folder
    document_prefix = peewee.CharField(max_length=16, default="")  # put before document numbers


class Currency(BaseModel):
    """A currency by ISO code.  All supported currencies have two decimals
    (MoneyField stores minor units, DESIGN §4)."""

    code = peewee.CharField(max_length=3, unique=True)
    name = peewee.CharField(max_length=64)
    symbol = peewee.CharField(max_length=8, default="")
    decimals = peewee.SmallIntegerField(default=2)
    is_default = peewee.BooleanField(default=False)
    version = peewee.IntegerField(default=1)


class CurrencyRate(BaseModel):
    """Value of one unit of `currency` in the default currency on `date`."""

    currency = peewee.ForeignKeyField(Currency, backref="rates", on_delete="CASCADE")
    date = peewee.DateField()
    rate = RateField()

    class Meta:
        indexes = ((("currency", "date"), True),)


class Setting(BaseModel):
    """Key/value settings staff change at run time (number patterns, ...)."""

    key = peewee.CharField(max_length=64, primary_key=True)
    value = peewee.TextField(default="")


class Counter(BaseModel):
    """A named integer sequence (agreement numbers per operator, ...),
    advanced inside the transaction that uses the number."""

    name = peewee.CharField(max_length=64, primary_key=True)
    value = peewee.BigIntegerField(default=0)

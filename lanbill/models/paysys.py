"""Payment systems: the outside parties that book payments without staff
typing them (payment terminals and aggregators, Sberbank Online, ЮKassa,
bank registries, payment cards) — DESIGN §11."""

from __future__ import annotations

import peewee

from lanbill.db import EncryptedField, JSONField, MoneyField
from lanbill.models.base import BaseModel, utcnow
from lanbill.models.operators import Operator

# osmp: QIWI/OSMP-style check/pay; sberbank_online: ACTION=check|payment;
# yookassa: the cabinet's "Pay online"; registry: uploaded bank or agent
# registries and 1C statements; cards: prepaid payment cards.
PAYMENT_SYSTEM_KINDS = ("osmp", "sberbank_online", "yookassa", "registry", "cards")
# How the system names an agreement: its number, or its number with a
# check digit appended (DOMAIN-RULES §3.1).
ACCOUNT_IDENTIFIERS = ("agreement", "agreement_check_digit")


class PaymentSystem(BaseModel):
    """One configured payment system.  `code` is its URL part
    (`/pay/<code>`); each payment it books records it, and its own
    transaction id is unique per system (DOMAIN-RULES §3.8)."""

    code = peewee.CharField(max_length=24, unique=True)
    name = peewee.CharField(max_length=128)
    kind = peewee.CharField(max_length=24)
    operator = peewee.ForeignKeyField(Operator, null=True, backref="payment_systems", on_delete="SET NULL")
    # CIDR networks requests may come from, one per line; empty = none
    allowed_networks = peewee.TextField(default="")
    login = peewee.CharField(max_length=128, default="")
    password = EncryptedField(default="")  # HTTP basic password or shop secret key
    account_identifier = peewee.CharField(max_length=32, default="agreement")
    min_amount = MoneyField(null=True)
    max_amount = MoneyField(null=True)
    # protocol-specific settings: shop id, api_url, registry layout, …
    options = JSONField(default=dict)
    # whether its payments need a 54-FZ receipt from us (DOMAIN-RULES §4)
    needs_receipt = peewee.BooleanField(default=False)
    enabled = peewee.BooleanField(default=True)
    version = peewee.IntegerField(default=1)
    created_at = peewee.DateTimeField(default=utcnow)

"""Automatic numbering of payment documents per operator (the payment
form's «Номер платёжного документа» assigned on saving)."""

from __future__ import annotations

import peewee

from lanbill.models.base import BaseModel
from lanbill.models.operators import Operator


class PaymentNumbering(BaseModel):
    """An operator's choice: payment document numbers typed by staff (no
    row, or is_enabled False — seed 002's manual number) or assigned on
    saving as `prefix` + the next number of the operator's counter
    (Counter "payment-number:<operator id>", the last number taken)."""

    operator = peewee.ForeignKeyField(Operator, unique=True, on_delete="CASCADE")
    is_enabled = peewee.BooleanField(default=False)
    prefix = peewee.CharField(max_length=16, default="")
    version = peewee.IntegerField(default=1)

"""Online payments (ЮKassa) and saved payment methods with autopayment.

A database created from the current models by 0001 has these tables
already; `safe=True` makes this a no-op there."""

from lanbill.models.online_payments import AutoPayment, OnlinePayment


def upgrade(db):
    db.create_tables([OnlinePayment, AutoPayment], safe=True)

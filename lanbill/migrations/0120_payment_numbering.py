"""Automatic payment document numbers per operator: one new table,
created only when missing (a fresh database has it from 0001)."""

from lanbill.models.payment_numbering import PaymentNumbering


def upgrade(db):
    db.create_tables([PaymentNumbering], safe=True)

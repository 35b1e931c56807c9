"""Payment systems (terminals, Sberbank Online, ЮKassa, registries, cards)
and the system that booked each payment.

A database created from the current models by 0001 has all of this
already; each step checks before it changes anything."""

import peewee
from playhouse.migrate import SchemaMigrator, migrate

from lanbill.models.paysys import PaymentSystem


def upgrade(db):
    db.create_tables([PaymentSystem], safe=True)
    if "payment_system_id" not in {column.name for column in db.get_columns("payment")}:
        migrator = SchemaMigrator.from_database(db)
        migrate(migrator.add_column("payment", "payment_system_id", peewee.IntegerField(null=True)))
    if "payment_payment_system_id" not in {index.name for index in db.get_indexes("payment")}:
        db.execute_sql('CREATE INDEX "payment_payment_system_id" ON "payment" ("payment_system_id")')

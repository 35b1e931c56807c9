"""The passport's «код подразделения» on a subscriber (personal data,
encrypted at rest like the other passport fields).

A database created from the current models by 0001 has it already."""

from playhouse.migrate import SchemaMigrator, migrate

from lanbill.db import EncryptedField


def upgrade(db):
    if "passport_division_code" not in {column.name for column in db.get_columns("subscriber")}:
        migrator = SchemaMigrator.from_database(db)
        migrate(migrator.add_column("subscriber", "passport_division_code", EncryptedField(default="")))

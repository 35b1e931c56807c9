"""Numbered schema migrations: `NNNN_name.py` modules with `upgrade(db)`.

`upgrade_database()` applies, in number order, each module not yet recorded
in the `schema_migration` table, each in its own transaction.  A migration
written before the first release may create tables from the current models;
after a release, a change to an existing table is a new migration using
playhouse.migrate, never an edit of an old one.

On SQLite, playhouse.migrate rebuilds a table for some changes (a NOT NULL
column with a default): it copies the rows to a new table, drops the old one
and renames the new one.  With foreign keys enforced, dropping a table that
other rows point at fails, so — as SQLite's documentation prescribes for
such changes — enforcement is switched off while migrations run (it can only
be switched outside a transaction) and `PRAGMA foreign_key_check` must come
back empty before each migration is recorded.
"""

from __future__ import annotations

import importlib
import pkgutil

import peewee

from lanbill.db import database, is_sqlite
from lanbill.models.base import BaseModel, utcnow


class SchemaMigration(BaseModel):
    name = peewee.CharField(max_length=128, primary_key=True)
    applied_at = peewee.DateTimeField(default=utcnow)


def available() -> list[str]:
    names = [m.name for m in pkgutil.iter_modules(__path__) if m.name[:4].isdigit()]
    return sorted(names)


def applied() -> set[str]:
    if not database.table_exists(SchemaMigration._meta.table_name):
        return set()
    return {row.name for row in SchemaMigration.select()}


def upgrade_database() -> list[str]:
    """Apply pending migrations; return the names applied."""
    database.create_tables([SchemaMigration], safe=True)
    done = applied()
    pending = [name for name in available() if name not in done]
    if not pending:
        return []
    sqlite = is_sqlite()
    if sqlite:
        database.execute_sql("PRAGMA foreign_keys = OFF")
    try:
        ran = []
        for name in pending:
            module = importlib.import_module(f"{__name__}.{name}")
            with database.atomic():
                module.upgrade(database)
                if sqlite:
                    broken = database.execute_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise peewee.IntegrityError(
                            f"migration {name} leaves {len(broken)} rows pointing at missing rows "
                            f"(first: table {broken[0][0]}, row {broken[0][1]})")
                SchemaMigration.create(name=name)
            ran.append(name)
        return ran
    finally:
        if sqlite:
            database.execute_sql("PRAGMA foreign_keys = ON")

"""Numbered schema migrations: `NNNN_name.py` modules with `upgrade(db)`.

`upgrade_database()` applies, in number order, each module not yet recorded
in the `schema_migration` table, each in its own transaction.  A migration
written before the first release may create tables from the current models;
after a release, a change to an existing table is a new migration using
playhouse.migrate, never an edit of an old one.
"""

from __future__ import annotations

import importlib
import pkgutil

import peewee

from lanbill.db import database
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
    ran = []
    for name in available():
        if name in done:
            continue
        module = importlib.import_module(f"{__name__}.{name}")
        with database.atomic():
            module.upgrade(database)
            SchemaMigration.create(name=name)
        ran.append(name)
    return ran

"""The base model every table derives from, and small shared helpers."""

from __future__ import annotations

import datetime as dt

import peewee

from lanbill.db import database


def utcnow() -> dt.datetime:
    """Naive UTC timestamp: what every `created_at`-like column stores."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class BaseModel(peewee.Model):
    class Meta:
        database = database
        legacy_table_names = False


def index_where_set(field, *, unique: bool = False):
    """An index of the rows where `field` is set: a column most rows leave
    NULL (payments and system entries have no account, no idempotency
    key, no reversal, no manager) is indexed only where it holds a value,
    so writing such a row updates one B-tree fewer.  Every lookup by the
    column (`=`, `IN`) implies it is set, so the index still serves it."""
    model = field.model
    return model.index(field, unique=unique, name=f"{model._meta.table_name}_{field.column_name}",
                       where=field.is_null(False))

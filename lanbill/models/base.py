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

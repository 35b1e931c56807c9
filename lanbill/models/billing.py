"""Progress of the billing run: which local days have been billed."""

from __future__ import annotations

import peewee

from lanbill.models.base import BaseModel, utcnow


class BillingDay(BaseModel):
    """One local day the nightly pass has billed (DESIGN §6).  A day is
    finished only when every account's entries for it are committed; a run
    killed half-way leaves it unfinished and the next run redoes it (the
    idempotency keys skip what was already posted)."""

    day = peewee.DateField(unique=True)
    started_at = peewee.DateTimeField(default=utcnow)
    finished_at = peewee.DateTimeField(null=True)
    accounts = peewee.IntegerField(default=0)
    entries = peewee.IntegerField(default=0)

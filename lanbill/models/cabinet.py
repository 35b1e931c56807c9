"""What the subscriber's cabinet keeps beyond the subscriber itself: the
tariffs a subscriber may switch to from a tariff, and one-time codes for
resetting a forgotten cabinet password."""

from __future__ import annotations

import peewee

from lanbill.models.base import BaseModel, utcnow
from lanbill.models.subscribers import Subscriber
from lanbill.models.tariffs import Tariff


class SelectableTariff(BaseModel):
    """Staff allow subscribers on `tariff` to choose `target` in the
    cabinet, from the next period (DESIGN §10)."""

    tariff = peewee.ForeignKeyField(Tariff, backref="selectable", on_delete="CASCADE")
    target = peewee.ForeignKeyField(Tariff, backref="+", on_delete="CASCADE")

    class Meta:
        indexes = ((("tariff", "target"), True),)


class CabinetResetCode(BaseModel):
    """A one-time code for a forgotten cabinet password: only its hash is
    kept; it expires, and it is spent by a use or by too many wrong tries."""

    # None: a request for a login that names nobody (counted per address)
    subscriber = peewee.ForeignKeyField(Subscriber, null=True, backref="+", on_delete="CASCADE")
    code_hash = peewee.CharField(max_length=255)
    channel = peewee.CharField(max_length=8, default="")  # email | sms
    ip = peewee.CharField(max_length=64, default="")
    created_at = peewee.DateTimeField(default=utcnow, index=True)
    expires_at = peewee.DateTimeField()
    tries = peewee.IntegerField(default=0)
    used_at = peewee.DateTimeField(null=True)

"""Traffic statistics: hourly counters per (account, category) and the
optional detail per remote address and port."""

from __future__ import annotations

import peewee

from lanbill.models.base import BaseModel


class TrafficHourly(BaseModel):
    account_id = peewee.IntegerField()
    category_id = peewee.IntegerField(null=True)
    hour = peewee.DateTimeField()  # start of the hour, UTC
    bytes_in = peewee.BigIntegerField(default=0)
    bytes_out = peewee.BigIntegerField(default=0)

    class Meta:
        indexes = ((("account_id", "hour", "category_id"), True),)


class TrafficDetail(BaseModel):
    account_id = peewee.IntegerField()
    category_id = peewee.IntegerField(null=True)
    hour = peewee.DateTimeField()
    remote = peewee.CharField(max_length=45)
    port = peewee.IntegerField(default=0)
    bytes_in = peewee.BigIntegerField(default=0)
    bytes_out = peewee.BigIntegerField(default=0)

    class Meta:
        indexes = ((("account_id", "hour", "remote", "port", "category_id"), True),)

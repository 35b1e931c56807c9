"""Tariffs, their traffic categories, and the catalogue of services (USBox)."""

from __future__ import annotations

import peewee

from lanbill.db import MoneyField
from lanbill.models.base import BaseModel, utcnow
from lanbill.models.operators import Currency

SCHEMES = ("monthly", "daily", "dynamic")
VOLUME_SOURCES = ("netflow", "radius")


class Tariff(BaseModel):
    """A tariff (DESIGN §6): rent R and the rents of blocked states, the
    rent scheme, prepaid volume, traffic limit and speed.

    `rent_admin_blocked` None means "as rent_blocked" (Ra defaults to Rb);
    `rent_user_blocked` None means "as rent" (Ru defaults to R).
    """

    name = peewee.CharField(max_length=128)
    description = peewee.TextField(default="")
    currency = peewee.ForeignKeyField(Currency, on_delete="RESTRICT")
    scheme = peewee.CharField(max_length=16, default="dynamic")
    rent = MoneyField(default=0)
    rent_blocked = MoneyField(default=0)
    rent_admin_blocked = MoneyField(null=True)
    rent_user_blocked = MoneyField(null=True)
    prepaid_mb = peewee.BigIntegerField(default=0)
    traffic_limit_mb = peewee.BigIntegerField(default=0)  # 0: no limit
    speed_in_kbit = peewee.IntegerField(default=0)
    speed_out_kbit = peewee.IntegerField(default=0)
    volume_source = peewee.CharField(max_length=16, default="netflow")
    price_per_minute = MoneyField(default=0)  # time tariffs (RADIUS sessions)
    prepaid_minutes = peewee.IntegerField(default=0)
    framed_pool = peewee.CharField(max_length=64, default="")
    archived = peewee.BooleanField(default=False, index=True)
    version = peewee.IntegerField(default=1)
    created_at = peewee.DateTimeField(default=utcnow)

    @property
    def effective_rent_admin_blocked(self):
        return self.rent_blocked if self.rent_admin_blocked is None else self.rent_admin_blocked

    @property
    def effective_rent_user_blocked(self):
        return self.rent if self.rent_user_blocked is None else self.rent_user_blocked


class TrafficCategory(BaseModel):
    """A traffic category of a tariff, found by the remote address (the
    longest prefix among `networks`, a comma-separated list of CIDRs); an
    empty list matches everything (the default "Internet" category)."""

    tariff = peewee.ForeignKeyField(Tariff, backref="categories", on_delete="CASCADE")
    name = peewee.CharField(max_length=128)
    networks = peewee.TextField(default="")
    price_in_mb = MoneyField(default=0)
    price_out_mb = MoneyField(default=0)
    prepaid = peewee.BooleanField(default=True)  # draws from prepaid volume

    @property
    def network_list(self) -> list[str]:
        return [n.strip() for n in self.networks.split(",") if n.strip()]


class Service(BaseModel):
    """A catalogue service (USBox): periodic (charged by a rent scheme) or
    one-off (charged once)."""

    name = peewee.CharField(max_length=128)
    kind = peewee.CharField(max_length=16, default="periodic")  # periodic|one_off
    scheme = peewee.CharField(max_length=16, default="daily")
    price = MoneyField(default=0)
    currency = peewee.ForeignKeyField(Currency, on_delete="RESTRICT")
    archived = peewee.BooleanField(default=False)
    created_at = peewee.DateTimeField(default=utcnow)

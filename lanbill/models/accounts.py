"""Accounts («учетная запись»), their network identifiers, state history,
tariff schedule and attached services."""

from __future__ import annotations

import peewee

from lanbill.db import EncryptedField, JSONField
from lanbill.models.agents import Agent
from lanbill.models.agreements import Agreement
from lanbill.models.base import BaseModel, utcnow
from lanbill.models.subscribers import Subscriber
from lanbill.models.tariffs import Service, Tariff

# DESIGN §5: the block kinds in priority order, highest first.  The shown
# state of an account is the set block of highest priority, then off, else
# active; `state_from_flags` is the one place that applies this order.
BLOCK_KINDS = ("balance", "admin", "traffic", "user")
# Each flag (the block kinds and off) and the Account column that holds it.
FLAG_FIELDS = {
    "balance": "blocked_balance",
    "admin": "blocked_admin",
    "traffic": "blocked_traffic",
    "user": "blocked_user",
    "off": "is_off",
}
STATES = ("active", "balance", "admin", "traffic", "user", "off")
STATE_LABELS = {
    "active": "Online",
    "balance": "($$)",
    "admin": "Adm",
    "traffic": "Traf lim",
    "user": "User",
    "off": "OFF",
}


def state_from_flags(flags: dict) -> str:
    """The shown state of a set of flags (DESIGN §5): the set block of
    highest priority (BLOCK_KINDS), then off, else active."""
    for kind in BLOCK_KINDS:
        if flags.get(kind):
            return kind
    return "off" if flags.get("off") else "active"


class Account(BaseModel):
    agent = peewee.ForeignKeyField(Agent, backref="accounts", on_delete="RESTRICT")
    subscriber = peewee.ForeignKeyField(Subscriber, backref="accounts", on_delete="RESTRICT")
    agreement = peewee.ForeignKeyField(Agreement, backref="accounts", on_delete="RESTRICT")
    tariff = peewee.ForeignKeyField(Tariff, backref="accounts", on_delete="RESTRICT")
    login = peewee.CharField(max_length=64)
    password = EncryptedField(default="")
    mac = peewee.CharField(max_length=17, default="")
    phone_numbers = peewee.CharField(max_length=255, default="")
    bandwidth_kbit = peewee.IntegerField(default=0)  # 0: the tariff's speed
    max_sessions = peewee.IntegerField(default=1)
    connect_date = peewee.DateField()
    disconnect_date = peewee.DateField(null=True)
    keep_remote_address = peewee.BooleanField(default=False)
    keep_remote_port = peewee.BooleanField(default=False)
    description = peewee.TextField(default="")
    options = JSONField(default=dict)
    # block flags (DESIGN §5) and the shown state derived from them
    blocked_balance = peewee.BooleanField(default=False)
    blocked_admin = peewee.BooleanField(default=False)
    blocked_traffic = peewee.BooleanField(default=False)
    blocked_user = peewee.BooleanField(default=False)
    is_off = peewee.BooleanField(default=False)
    state = peewee.CharField(max_length=16, default="active", index=True)
    state_changed_at = peewee.DateTimeField(default=utcnow)
    deleted = peewee.BooleanField(default=False, index=True)
    deleted_at = peewee.DateTimeField(null=True)
    version = peewee.IntegerField(default=1)
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow, index=True)

    class Meta:
        indexes = ((("agent", "login"), False),)

    def compute_state(self) -> str:
        """The shown state of the account's flags (state_from_flags)."""
        return state_from_flags({flag: bool(getattr(self, field)) for flag, field in FLAG_FIELDS.items()})


class AccountIp(BaseModel):
    """An IP address or subnet of an account, in CIDR form ("10.0.0.5/32")."""

    account = peewee.ForeignKeyField(Account, backref="ips", on_delete="CASCADE")
    network = peewee.CharField(max_length=64, index=True)


class AccountStateChange(BaseModel):
    """One transition of a block flag: what, who, when and why (DESIGN §5).

    `at` is when the flag changed (UTC); `state_before`/`state_after` are the
    shown states around it.  Rent uses this history for "the state at 00:00"."""

    account = peewee.ForeignKeyField(Account, backref="state_changes", on_delete="CASCADE")
    at = peewee.DateTimeField(default=utcnow, index=True)
    flag = peewee.CharField(max_length=16)
    action = peewee.CharField(max_length=8)  # set | lift
    state_before = peewee.CharField(max_length=16)
    state_after = peewee.CharField(max_length=16)
    reason = peewee.TextField(default="")
    actor = peewee.CharField(max_length=128, default="")

    class Meta:
        indexes = ((("account", "at"), False),)


class TariffChange(BaseModel):
    """A planned or done tariff change of an account (seed 002 «Расписание»)."""

    account = peewee.ForeignKeyField(Account, backref="tariff_changes", on_delete="CASCADE")
    tariff = peewee.ForeignKeyField(Tariff, on_delete="RESTRICT")
    previous_tariff = peewee.ForeignKeyField(Tariff, null=True, on_delete="RESTRICT", backref="+")
    at = peewee.DateTimeField(index=True)  # when it takes effect (UTC)
    applied_at = peewee.DateTimeField(null=True, index=True)
    cancelled_at = peewee.DateTimeField(null=True)
    actor = peewee.CharField(max_length=128, default="")
    created_at = peewee.DateTimeField(default=utcnow)


class AccountService(BaseModel):
    """A catalogue service attached to an account for [start_date, end_date]."""

    account = peewee.ForeignKeyField(Account, backref="services", on_delete="CASCADE")
    service = peewee.ForeignKeyField(Service, on_delete="RESTRICT")
    start_date = peewee.DateField()
    end_date = peewee.DateField(null=True)
    quantity = peewee.IntegerField(default=1)
    comment = peewee.TextField(default="")
    created_at = peewee.DateTimeField(default=utcnow)

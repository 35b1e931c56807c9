"""Network agents (RADIUS, NetFlow, USBox) and the NAS they talk to."""

from __future__ import annotations

import peewee

from lanbill.db import EncryptedField, JSONField
from lanbill.models.base import BaseModel, utcnow

AGENT_TYPES = ("radius", "netflow", "usbox")
NAS_VENDORS = ("mikrotik", "accel-ppp", "cisco", "generic")


class Agent(BaseModel):
    """An agent serves accounts: accounting, charging and access control.

    `options` is agent-type specific; the known options of each type, with
    their kinds, ranges and defaults, are in lanbill/network/agent_options.py,
    which every create and update goes through."""

    name = peewee.CharField(max_length=128, unique=True)
    type = peewee.CharField(max_length=16)
    listen_address = peewee.CharField(max_length=64, default="0.0.0.0")
    options = JSONField(default=dict)
    enabled = peewee.BooleanField(default=True)
    version = peewee.IntegerField(default=1)
    created_at = peewee.DateTimeField(default=utcnow)


class Nas(BaseModel):
    """A network access server, identified by its source IP."""

    agent = peewee.ForeignKeyField(Agent, backref="nas_list", null=True, on_delete="SET NULL")
    name = peewee.CharField(max_length=128)
    ip = peewee.CharField(max_length=45, unique=True)
    secret = EncryptedField()
    vendor = peewee.CharField(max_length=16, default="generic")
    coa_port = peewee.IntegerField(default=3799)
    require_message_authenticator = peewee.BooleanField(default=True)
    version = peewee.IntegerField(default=1)
    created_at = peewee.DateTimeField(default=utcnow)

"""Notifications (DESIGN §12): the outbox of e-mails and SMS, the contacts a
subscriber confirmed and their channel choices, staff-edited event texts
and the low-balance warning days per group."""

from __future__ import annotations

import peewee

from lanbill.db import JSONField
from lanbill.models.base import BaseModel, utcnow
from lanbill.models.subscribers import Group, Subscriber

CHANNELS = ("email", "sms")
OUTBOX_STATUSES = ("queued", "sent", "failed")


class OutboxMessage(BaseModel):
    """One message to send (the transactional outbox): written in the
    transaction of the change that caused it, drained by the worker with
    retries and back-off (lanbill.notify.outbox).

    `idempotency_key` names the event, its occurrence, the subscriber and
    the channel: a second insert with the same key is ignored, so an event
    never sends twice.  `last_error` never holds the address or the text
    (the transport's words with the address masked)."""

    channel = peewee.CharField(max_length=8)  # email | sms
    address = peewee.CharField(max_length=255)
    subject = peewee.CharField(max_length=255, default="")
    body = peewee.TextField(default="")
    attachments = JSONField(default=list)  # file paths
    event = peewee.CharField(max_length=32, default="", index=True)
    subscriber_id = peewee.IntegerField(null=True, index=True)
    idempotency_key = peewee.CharField(max_length=200, unique=True)
    status = peewee.CharField(max_length=8, default="queued")
    attempts = peewee.IntegerField(default=0)
    next_attempt_at = peewee.DateTimeField(default=utcnow)
    last_error = peewee.TextField(default="")
    # a one-time code: sent whatever the quiet hours, its text wiped once sent
    urgent = peewee.BooleanField(default=False)
    # who claimed it for sending (a worker's batch), until the lease ends
    claim = peewee.CharField(max_length=32, default="")
    created_at = peewee.DateTimeField(default=utcnow, index=True)
    sent_at = peewee.DateTimeField(null=True)

    class Meta:
        indexes = ((("status", "next_attempt_at"), False),)


class NotifyContact(BaseModel):
    """An e-mail address or phone number a subscriber gave for notices,
    confirmed by a code sent to it (`confirmed_at`)."""

    subscriber = peewee.ForeignKeyField(Subscriber, backref="+", on_delete="CASCADE")
    channel = peewee.CharField(max_length=8)  # email | sms
    address = peewee.CharField(max_length=255)
    confirmed_at = peewee.DateTimeField(null=True)
    code_hash = peewee.CharField(max_length=64, default="")
    code_sent_at = peewee.DateTimeField(null=True)
    code_expires_at = peewee.DateTimeField(null=True)
    code_attempts = peewee.IntegerField(default=0)
    codes_sent = peewee.IntegerField(default=0)
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("subscriber", "channel"), True),)


class NotifyChoice(BaseModel):
    """A subscriber's choice for one event and channel; no row: the event's
    default (lanbill.notify.events.DEFAULT_CHOICES)."""

    subscriber = peewee.ForeignKeyField(Subscriber, backref="+", on_delete="CASCADE")
    event = peewee.CharField(max_length=32)
    channel = peewee.CharField(max_length=8)
    enabled = peewee.BooleanField(default=True)

    class Meta:
        indexes = ((("subscriber", "event", "channel"), True),)


class NotifyTemplate(BaseModel):
    """The text of one event on one channel as staff edited it; no row:
    the built-in Russian text (lanbill.notify.texts)."""

    event = peewee.CharField(max_length=32)
    channel = peewee.CharField(max_length=8)
    subject = peewee.CharField(max_length=255, default="")
    body = peewee.TextField()
    updated_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("event", "channel"), True),)


class GroupNotifyRule(BaseModel):
    """How many days ahead the subscribers of a group are warned that their
    money runs out (0: not warned)."""

    group = peewee.ForeignKeyField(Group, backref="+", on_delete="CASCADE", unique=True)
    low_balance_days = peewee.IntegerField(default=3)

"""Helpdesk: tickets, their messages and attachments, the knowledge base."""

from __future__ import annotations

import peewee

from lanbill.models.base import BaseModel, utcnow
from lanbill.models.subscribers import Subscriber


class Ticket(BaseModel):
    subscriber = peewee.ForeignKeyField(Subscriber, backref="tickets", null=True, on_delete="SET NULL")
    subject = peewee.CharField(max_length=255)
    state = peewee.CharField(max_length=16, default="open", index=True)  # open|answered|closed
    assigned_manager_id = peewee.IntegerField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)


class Message(BaseModel):
    ticket = peewee.ForeignKeyField(Ticket, backref="messages", on_delete="CASCADE")
    author = peewee.CharField(max_length=128)  # "subscriber:12" or "manager:3"
    body = peewee.TextField()
    created_at = peewee.DateTimeField(default=utcnow)


class Attachment(BaseModel):
    message = peewee.ForeignKeyField(Message, backref="attachments", on_delete="CASCADE")
    filename = peewee.CharField(max_length=255)
    path = peewee.CharField(max_length=512)
    size = peewee.IntegerField(default=0)


class KnowledgeArticle(BaseModel):
    title = peewee.CharField(max_length=255)
    body = peewee.TextField()
    published = peewee.BooleanField(default=True)
    created_at = peewee.DateTimeField(default=utcnow)

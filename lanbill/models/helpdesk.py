"""Helpdesk: ticket classes, tickets, their messages and attachments, the
knowledge base (DESIGN §10, seed 002 «Поддержка»: «Запросы», «Знания»)."""

from __future__ import annotations

import peewee

from lanbill.models.base import BaseModel, utcnow
from lanbill.models.staff import Manager
from lanbill.models.subscribers import Subscriber

# A ticket's status (DESIGN §10): new, in work, waiting for the subscriber, closed.
TICKET_STATUSES = ("new", "in_work", "waiting", "closed")


class TicketClass(BaseModel):
    """A class of tickets staff define («класс запроса»: "No connection",
    "Payments", "Change of tariff"…).  An archived class stays on its old
    tickets but is not offered for new ones."""

    name = peewee.CharField(max_length=128, unique=True)
    archived = peewee.BooleanField(default=False)
    created_at = peewee.DateTimeField(default=utcnow)


class Ticket(BaseModel):
    """A subscriber's request to the ISP and its thread.

    `last_subscriber_at` / `last_staff_at`: when each side last wrote;
    `subscriber_seen_at` / `staff_seen_at`: when each side last opened the
    thread — the other side's newer message is "unread" to it."""

    subscriber = peewee.ForeignKeyField(Subscriber, backref="tickets", null=True, on_delete="SET NULL")
    subject = peewee.CharField(max_length=255)
    # A TicketClass id (classes are archived, never deleted); a plain
    # column so that the initial schema need not know the class table.
    ticket_class_id = peewee.IntegerField(null=True, index=True)
    status = peewee.CharField(max_length=16, default="new", index=True)
    assignee = peewee.ForeignKeyField(Manager, null=True, on_delete="SET NULL",
                                      column_name="assigned_manager_id", object_id_name="assignee_id")
    opened_by = peewee.CharField(max_length=128, default="")  # "subscriber:12" or "manager:admin"
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow, index=True)
    closed_at = peewee.DateTimeField(null=True)
    last_subscriber_at = peewee.DateTimeField(null=True)
    last_staff_at = peewee.DateTimeField(null=True)
    subscriber_seen_at = peewee.DateTimeField(null=True)
    staff_seen_at = peewee.DateTimeField(null=True)
    version = peewee.IntegerField(default=1)

    @property
    def unread_by_subscriber(self) -> bool:
        """Staff wrote after the subscriber last opened the thread."""
        return self.last_staff_at is not None and (self.subscriber_seen_at is None
                                                   or self.last_staff_at > self.subscriber_seen_at)

    @property
    def unread_by_staff(self) -> bool:
        """The subscriber wrote after staff last opened the thread."""
        return self.last_subscriber_at is not None and (self.staff_seen_at is None
                                                        or self.last_subscriber_at > self.staff_seen_at)


class Message(BaseModel):
    ticket = peewee.ForeignKeyField(Ticket, backref="messages", on_delete="CASCADE")
    author = peewee.CharField(max_length=128)  # "subscriber:12" or "manager:admin"
    author_name = peewee.CharField(max_length=255, default="")  # as shown in the thread
    by_staff = peewee.BooleanField(default=False)
    body = peewee.TextField()
    created_at = peewee.DateTimeField(default=utcnow)


class Attachment(BaseModel):
    """A file of a message: `filename` is the name the sender gave (shown
    and offered on download), `path` the generated name under the upload
    folder (never derived from what the sender sent)."""

    message = peewee.ForeignKeyField(Message, backref="attachments", on_delete="CASCADE")
    filename = peewee.CharField(max_length=255)
    path = peewee.CharField(max_length=512)
    size = peewee.IntegerField(default=0)
    content_type = peewee.CharField(max_length=128, default="application/octet-stream")
    created_at = peewee.DateTimeField(default=utcnow)


class KnowledgeArticle(BaseModel):
    """An article of the knowledge base («Знания»), Markdown written by
    staff; only a published one reaches the cabinet.  `search_text` is
    the title and body case-folded in Python, so that a search is
    case-insensitive for Cyrillic on SQLite too (its lower() folds ASCII
    only)."""

    title = peewee.CharField(max_length=255)
    body = peewee.TextField()
    published = peewee.BooleanField(default=False)
    search_text = peewee.TextField(default="")
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)
    published_at = peewee.DateTimeField(null=True)
    version = peewee.IntegerField(default=1)

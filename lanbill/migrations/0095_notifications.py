"""Notifications: the outbox, confirmed contacts, channel choices, event
texts and low-balance days per group.  New tables only; each is created
only when missing."""

from lanbill.models.notify import GroupNotifyRule, NotifyChoice, NotifyContact, NotifyTemplate, OutboxMessage


def upgrade(db):
    db.create_tables([OutboxMessage, NotifyContact, NotifyChoice, NotifyTemplate, GroupNotifyRule], safe=True)

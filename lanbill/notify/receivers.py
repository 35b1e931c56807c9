"""The signals of lanbill.events connected to the notices (DESIGN §12).

Each receiver queues its messages in the sender's transaction inside a
savepoint (the transactional outbox) and swallows its own failure, so a
notice never makes a payment, a block, a document or a reply fail."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from lanbill import events
from lanbill.notify import notices
from lanbill.notify.outbox import in_savepoint


def on_payment_booked(sender=None, *, payment, **_):
    if notices.nobody_to_tell_of_payment(payment):
        return  # most payers: one read and no savepoint
    in_savepoint(notices.payment_received, payment)


def on_account_blocked(sender=None, *, account, kind, **_):
    if kind == "balance":
        in_savepoint(notices.balance_blocked, account)


def on_document_issued(sender=None, *, document, **_):
    in_savepoint(notices.document_issued, document)


def on_ticket_replied(sender=None, *, ticket, message, by_staff=False, **_):
    in_savepoint(notices.ticket_replied, ticket, message, bool(by_staff))


def on_cabinet_reset_code(sender=None, *, subscriber, channel, address, code, **_):
    in_savepoint(notices.reset_code, subscriber, channel, address, code)


RECEIVERS = (
    (events.payment_booked, on_payment_booked),
    (events.account_blocked, on_account_blocked),
    (events.document_issued, on_document_issued),
    (events.ticket_replied, on_ticket_replied),
    (events.cabinet_reset_code, on_cabinet_reset_code),
)


def connect(config: Mapping | None = None) -> None:
    """Connect the receivers (once per process; again is harmless: blinker
    keeps one connection per receiver) and note the instance folder,
    where stored documents' relative paths start."""
    if config is not None and config.get("INSTANCE_PATH"):
        notices.instance_folder = Path(config["INSTANCE_PATH"])
    for signal, receiver in RECEIVERS:
        signal.connect(receiver)

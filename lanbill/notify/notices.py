"""One function per event (DESIGN §12): who hears about it, on which
channels, with which text, under which idempotency key.

Rules:
- At most one message per subscriber, occurrence and channel: the key is
  "<event>:<occurrence>:<subscriber>:<channel>" (a payment, a block of an
  agreement on a local day, a document, a helpdesk message, the forecast
  date of a low balance, a planned tariff change).
- Notices go to the subscriber's confirmed contacts whose channel they
  chose (lanbill.notify.contacts); the cabinet password reset code goes to
  the address the cabinet chose (the one staff entered) and ignores quiet
  hours and choices.
- A helpdesk reply by staff is told to the subscriber; a subscriber's
  message is told to the ticket's assignee by e-mail, if they have one.
- A document's PDF is attached to the e-mail.
Each function queues in the caller's transaction and is called through
`outbox.in_savepoint` by the receivers, so it never fails the caller."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from lanbill import clock
from lanbill.db import database, is_sqlite
from lanbill.models import Account, Agreement, Currency, Manager, Subscriber
from lanbill.money import format_money
from lanbill.notify import outbox
from lanbill.notify.contacts import recipients
from lanbill.notify.texts import render, text_for

DOCUMENT_KINDS = {
    "invoice": "Счёт на оплату",
    "prepayment_invoice": "Счёт на предоплату",
    "act": "Акт оказанных услуг",
    "vat_invoice": "Счёт-фактура",
    "upd": "УПД",
    "reconciliation": "Акт сверки",
}
# The instance folder, where stored documents' relative paths start
# (set by lanbill.notify.receivers.connect).
instance_folder: Path | None = None


def local_date(value) -> str:
    if isinstance(value, dt.datetime):
        value = clock.local_date_of(value)
    return value.strftime("%d.%m.%Y") if value else ""


def local_datetime(value: dt.datetime | None) -> str:
    return clock.to_local(value).strftime("%d.%m.%Y %H:%M") if value else ""


def money_of(amount, currency_id: int | None) -> str:
    symbol = "₽"
    if currency_id is not None:
        currency = Currency.get_or_none(Currency.id == currency_id)
        symbol = (currency.symbol or currency.code) if currency else symbol
    return format_money(amount, symbol)


def send_event(event: str, subscriber_id: int, values, occurrence: str, *, attachments=(),
               overrides: dict | None = None) -> int:
    """Queue `event` to every chosen, confirmed contact of the subscriber.
    `values` is a dict or a function returning one, called only when
    someone is to be told (most subscribers have no confirmed contact: one
    query and done).  Returns how many messages were queued (0 for a repeat)."""
    found = recipients([subscriber_id], event).get(subscriber_id)
    if not found:
        return 0
    values = values() if callable(values) else values
    return outbox.queue_many(messages_for(event, subscriber_id, found, values, occurrence, attachments, overrides))


def key_of(event: str, occurrence: str, subscriber_id: int, channel: str) -> str:
    return f"{event}:{occurrence}:{subscriber_id}:{channel}"[:200]


def messages_for(event: str, subscriber_id: int, contacts, values: dict, occurrence: str, attachments=(),
                 overrides: dict | None = None, skip: set | None = None) -> list[dict]:
    """The rows of one event for one subscriber's contacts; keys in `skip`
    (already queued) are left out before their text is rendered."""
    rows = []
    for channel, address in contacts:
        key = key_of(event, occurrence, subscriber_id, channel)
        if skip and key in skip:
            continue
        subject, body = render(text_for(event, channel, overrides), values)
        rows.append({"channel": channel, "address": address, "subject": subject, "body": body,
                     "attachments": list(attachments) if channel == "email" else [], "event": event,
                     "subscriber_id": subscriber_id,
                     "idempotency_key": key})
    return rows


def _agreement_values(agreement: Agreement, subscriber: Subscriber) -> dict:
    return {"name": subscriber.name, "agreement": agreement.number,
            "balance": money_of(agreement.balance, agreement.currency_id)}


# Every booked payment asks this first (a 10,000-row registry, hundreds of
# terminal payments a second): whose agreement, and whether that
# subscriber has any confirmed contact at all — one query of fixed text.
_PAYER_SQL = (
    'SELECT a."subscriber_id", EXISTS (SELECT 1 FROM "notify_contact" c WHERE c."subscriber_id" = '
    'a."subscriber_id" AND c."confirmed_at" IS NOT NULL) FROM "agreement" a WHERE a."id" = {p}'
)


def nobody_to_tell_of_payment(payment) -> bool:
    """True when the payer has no confirmed contact, so the notice needs no
    savepoint at all: one read, made outside a savepoint only on SQLite,
    where a failed read leaves the payment's transaction usable (on
    PostgreSQL it would not, so there the answer is always "ask inside")."""
    if not is_sqlite():
        return False
    try:
        found = database.execute_sql(_PAYER_SQL.format(p=database.param), (payment.agreement_id,)).fetchone()
    except Exception:  # noqa: BLE001 - unsure: the savepoint path decides and logs
        return False
    return found is not None and not found[1]


def payment_received(payment) -> int:
    """A payment was booked: "payment received" with the new balance.
    A subscriber without a confirmed contact (most of them) costs one
    query and is told nothing."""
    found = database.execute_sql(_PAYER_SQL.format(p=database.param), (payment.agreement_id,)).fetchone()
    if found is None or not found[1]:
        return 0
    agreement = Agreement.get_by_id(payment.agreement_id)

    def values():
        subscriber = Subscriber.get_by_id(agreement.subscriber_id)
        out = _agreement_values(agreement, subscriber)
        out.update(amount=money_of(payment.amount, agreement.currency_id), paid_at=local_datetime(payment.paid_at))
        return out

    return send_event("payment", agreement.subscriber_id, values, str(payment.id))


def balance_blocked(account: Account) -> int:
    """An account got the balance block: "blocked for lack of money", once
    per agreement and local day (several accounts blocked together make
    one message)."""

    def values():
        agreement = Agreement.get_by_id(account.agreement_id)
        out = _agreement_values(agreement, Subscriber.get_by_id(agreement.subscriber_id))
        out["login"] = account.login
        return out

    return send_event("blocked", account.subscriber_id, values,
                      f"{account.agreement_id}:{clock.today().isoformat()}")


def _document_file(path: str) -> str | None:
    if not path:
        return None
    candidate = Path(path)
    if candidate.is_absolute():
        return str(candidate)
    for base in filter(None, (instance_folder, instance_folder / "documents" if instance_folder else None)):
        if (base / candidate).exists():
            return str(base / candidate)
    return str((instance_folder or Path.cwd()) / candidate)


def document_issued(document) -> int:
    """A document was issued: its PDF goes attached to the e-mail; the SMS
    says where to find it."""
    # only the columns the message uses (the monthly run sends thousands)
    agreement = (Agreement.select(Agreement.id, Agreement.subscriber, Agreement.number, Agreement.balance,
                                  Agreement.currency).where(Agreement.id == document.agreement_id).get())

    def values():
        out = _agreement_values(agreement, Subscriber.get_by_id(agreement.subscriber_id))
        amount = getattr(document, "amount", None)
        out.update(kind=DOCUMENT_KINDS.get(document.kind, document.kind), number=document.number,
                   date=local_date(document.date), amount=money_of(amount, agreement.currency_id) if amount else "")
        return out

    path = _document_file(getattr(document, "path", "") or "")
    return send_event("document", agreement.subscriber_id, values, str(document.id),
                      attachments=[path] if path else [])


def ticket_replied(ticket, message, by_staff: bool) -> int:
    """A helpdesk reply: staff's reply goes to the subscriber; the
    subscriber's message to the assignee's e-mail (if any)."""
    values = {"subject": ticket.subject, "message": message.body, "ticket": ticket.id}
    if by_staff:
        if ticket.subscriber_id is None:
            return 0

        def with_name():
            return {**values, "name": Subscriber.get_by_id(ticket.subscriber_id).name}

        return send_event("ticket_reply", ticket.subscriber_id, with_name, str(message.id))
    assignee_id = getattr(ticket, "assignee_id", None) or getattr(ticket, "assigned_manager_id", None)
    manager = Manager.get_or_none(Manager.id == assignee_id) if assignee_id else None
    address = getattr(manager, "email", "") if manager else ""
    if not address:
        return 0
    subject = f"Новое сообщение в обращении № {ticket.id} «{ticket.subject}»"
    body = f"{manager.name or manager.login}, абонент написал в обращение № {ticket.id}:\n\n{message.body}"
    return int(outbox.queue("email", address, body, subject=subject, event="ticket_reply",
                            key=f"ticket_reply:{message.id}:manager{manager.id}:email"))


def reset_code(subscriber, channel: str, address: str, code: str) -> int:
    """The cabinet password reset code, to the address the cabinet chose;
    quiet hours and channel choices do not hold it back, its text is
    wiped once sent.  The key holds a hash of the code, never the code."""
    channel = "sms" if channel in ("sms", "phone") else "email"
    subject, body = render(text_for("reset_code", channel), {"name": subscriber.name, "code": code})
    digest = hashlib.sha256(f"{subscriber.id}:{code}".encode()).hexdigest()[:24]
    return int(outbox.queue(channel, address, body, subject=subject, event="reset_code",
                            subscriber_id=subscriber.id, key=f"reset_code:{digest}:{subscriber.id}:{channel}",
                            urgent=True))

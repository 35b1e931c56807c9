"""A subscriber's contacts for notices and channel choices (DESIGN §10
"notification settings", §12).

Rules:
- Notices go only to an e-mail address or phone number the subscriber
  confirmed: they enter it in the cabinet, a six-digit code is sent to it
  through the outbox (whatever the quiet hours), and entering the code
  confirms it.  A code lives CODE_MINUTES, allows CODE_ATTEMPTS wrong
  tries, a new one may be asked for after RESEND_SECONDS and at most
  CODES_PER_CONTACT times per address.  Changing the address unconfirms it.
- The contacts staff entered on the subscriber's card (Subscriber.email,
  .phone) are offered in the cabinet but get no notices until confirmed;
  only the cabinet password reset code goes to them (lanbill.notify.notices).
- Each event's channels are the subscriber's choice; without one, the
  event's default (DEFAULT_CHOICES: e-mail for every event, SMS for all
  but documents)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets

from lanbill import clock
from lanbill.db import transaction
from lanbill.errors import N_, ValidationError
from lanbill.models import Subscriber
from lanbill.models.notify import CHANNELS, NotifyChoice, NotifyContact
from lanbill.notify import outbox
from lanbill.notify.texts import CHOOSABLE_EVENTS, render, text_for
from lanbill.staff import audit

CODE_MINUTES = 30
CODE_ATTEMPTS = 5
RESEND_SECONDS = 60
CODES_PER_CONTACT = 10
DEFAULT_CHOICES = {(event, channel): not (event == "document" and channel == "sms")
                   for event in CHOOSABLE_EVENTS for channel in CHANNELS}
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_address(channel: str, address: str) -> str:
    """An e-mail address as given (trimmed, at most 254 characters), or a
    Russian mobile number as +7XXXXXXXXXX (8…, 7…, +7… with spaces,
    dashes and brackets accepted).  Anything else is refused."""
    address = (address or "").strip()
    if channel == "email":
        if not EMAIL_RE.match(address) or len(address) > 254:
            raise ValidationError(N_("This is not an e-mail address."),
                                  fields={"address": N_("This is not an e-mail address.")})
        return address
    digits = re.sub(r"[\s()+-]", "", address)
    if not digits.isdigit():
        digits = ""
    if len(digits) == 11 and digits[0] in "78":
        digits = "7" + digits[1:]
    elif len(digits) == 10 and digits[0] == "9":
        digits = "7" + digits
    if len(digits) != 11 or not digits.startswith("79"):
        raise ValidationError(N_("Enter a mobile number like +7 900 123-45-67."),
                              fields={"address": N_("Enter a mobile number like +7 900 123-45-67.")})
    return "+" + digits


def _hash(code: str) -> str:
    return hashlib.sha256(("notify-contact:" + code).encode()).hexdigest()


def contacts_of(subscriber_id: int) -> dict[str, NotifyContact]:
    return {c.channel: c for c in NotifyContact.select().where(NotifyContact.subscriber == subscriber_id)}


def request_code(subscriber: Subscriber, channel: str, address: str, *, actor) -> NotifyContact:
    """The subscriber gives an address for `channel`: it is stored
    unconfirmed and a confirmation code is queued to it."""
    if channel not in CHANNELS:
        raise ValidationError(N_("Unknown channel."))
    address = normalize_address(channel, address)
    now = clock.now_utc()
    with transaction():
        contact = NotifyContact.get_or_none((NotifyContact.subscriber == subscriber.id)
                                            & (NotifyContact.channel == channel))
        if contact is None:
            contact = NotifyContact.create(subscriber=subscriber.id, channel=channel, address=address)
        elif contact.address != address:
            contact.address, contact.confirmed_at, contact.codes_sent = address, None, 0
        if contact.code_sent_at and (now - contact.code_sent_at).total_seconds() < RESEND_SECONDS:
            raise ValidationError(N_("A code was sent less than a minute ago; wait a little."))
        if contact.codes_sent >= CODES_PER_CONTACT:
            raise ValidationError(N_("Too many codes were sent to this address; ask the operator for help."))
        code = f"{secrets.randbelow(10**6):06d}"
        contact.code_hash = _hash(code)
        contact.code_sent_at = now
        contact.code_expires_at = now + dt.timedelta(minutes=CODE_MINUTES)
        contact.code_attempts = 0
        contact.codes_sent += 1
        contact.save()
        subject, body = render(text_for("confirm_code", channel), {"code": code})
        outbox.queue(channel, address, body, subject=subject, event="confirm_code", subscriber_id=subscriber.id,
                     key=f"confirm:{contact.id}:{secrets.token_hex(6)}", urgent=True)
        audit.record(actor, "notify.contact.code", "subscriber", subscriber.id, after={"channel": channel})
    return contact


def confirm(subscriber: Subscriber, channel: str, code: str, *, actor) -> NotifyContact:
    """The subscriber enters the code: the address is confirmed.  A wrong,
    expired or exhausted code is refused (and a wrong one counted)."""
    now = clock.now_utc()
    with transaction():
        contact = NotifyContact.get_or_none((NotifyContact.subscriber == subscriber.id)
                                            & (NotifyContact.channel == channel))
        if contact is None or not contact.code_hash:
            raise ValidationError(N_("Ask for a code first."), fields={"code": N_("Ask for a code first.")})
        if contact.code_expires_at is None or contact.code_expires_at < now or contact.code_attempts >= CODE_ATTEMPTS:
            raise ValidationError(N_("The code has expired; ask for a new one."),
                                  fields={"code": N_("The code has expired; ask for a new one.")})
        wrong = not hmac.compare_digest(contact.code_hash, _hash((code or "").strip()))
        if wrong:
            # counted even though the refusal follows: outside this block,
            # so that raising does not roll the count back
            NotifyContact.update(code_attempts=NotifyContact.code_attempts + 1).where(
                NotifyContact.id == contact.id).execute()
        else:
            contact.confirmed_at = now
            contact.code_hash = ""
            contact.code_expires_at = None
            contact.save()
            audit.record(actor, "notify.contact.confirm", "subscriber", subscriber.id, after={"channel": channel})
    if wrong:
        raise ValidationError(N_("Wrong code."), fields={"code": N_("Wrong code.")})
    return contact


def remove_contact(subscriber: Subscriber, channel: str, *, actor) -> bool:
    """The subscriber removes an address: no notices go to it any more."""
    with transaction():
        removed = NotifyContact.delete().where((NotifyContact.subscriber == subscriber.id)
                                               & (NotifyContact.channel == channel)).execute()
        if removed:
            audit.record(actor, "notify.contact.remove", "subscriber", subscriber.id, after={"channel": channel})
    return bool(removed)


def choices_of(subscriber_id: int) -> dict[tuple[str, str], bool]:
    """{(event, channel): on} for every choosable event, defaults filled in."""
    out = dict(DEFAULT_CHOICES)
    for row in NotifyChoice.select().where(NotifyChoice.subscriber == subscriber_id):
        if (row.event, row.channel) in out:
            out[(row.event, row.channel)] = bool(row.enabled)
    return out


def set_choices(subscriber: Subscriber, chosen: set[tuple[str, str]], *, actor) -> None:
    """Store the subscriber's channel choices: `chosen` holds the (event,
    channel) pairs switched on; every other choosable pair is off."""
    with transaction():
        NotifyChoice.delete().where(NotifyChoice.subscriber == subscriber.id).execute()
        NotifyChoice.insert_many([
            {"subscriber": subscriber.id, "event": event, "channel": channel, "enabled": (event, channel) in chosen}
            for (event, channel) in DEFAULT_CHOICES
        ]).execute()
        audit.record(actor, "notify.choices", "subscriber", subscriber.id,
                     after={"on": sorted(f"{e}:{c}" for e, c in chosen)})


def recipients(subscriber_ids, event: str) -> dict[int, list[tuple[str, str]]]:
    """{subscriber id: [(channel, address), …]}: the confirmed contacts of
    each subscriber whose choices let `event` through — at most two
    queries per 500 subscribers, one when none of them has a contact."""
    ids = sorted(set(subscriber_ids))
    out: dict[int, list[tuple[str, str]]] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        found = list(NotifyContact.select(NotifyContact.subscriber, NotifyContact.channel, NotifyContact.address)
                     .where(NotifyContact.subscriber.in_(chunk) & NotifyContact.confirmed_at.is_null(False)).tuples())
        if not found:  # the common case: nobody to tell, one query
            continue
        rows = NotifyChoice.select(NotifyChoice.subscriber, NotifyChoice.channel, NotifyChoice.enabled).where(
            NotifyChoice.subscriber.in_({s for s, _, _ in found}) & (NotifyChoice.event == event)).tuples()
        choice = {(subscriber_id, channel): bool(enabled) for subscriber_id, channel, enabled in rows}
        for subscriber_id, channel, address in found:
            if choice.get((subscriber_id, channel), DEFAULT_CHOICES.get((event, channel), True)):
                out.setdefault(subscriber_id, []).append((channel, address))
    return out

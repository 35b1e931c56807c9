"""A forgotten cabinet password, reset with a one-time code (DESIGN §10).

Rules written down here:

- The subscriber gives their cabinet login (by default the agreement
  number, as at login).  The answer is the same whether the login exists
  or not, has a contact or not: nothing tells an outsider who is a
  subscriber.
- A code goes only to a subscriber who can receive it: by e-mail when
  the subscriber has an e-mail address, else by SMS to the phone; with
  neither, nothing is sent (support must help).
- The code: CODE_LENGTH digits, stored as its argon2 hash only, valid for
  CODE_MINUTES minutes, at most MAX_TRIES wrong tries (then spent).  A new
  code replaces the older ones.  At most MAX_CODES_PER_HOUR codes per
  subscriber an hour, and MAX_REQUESTS_PER_ADDRESS requests per address an
  hour (over any logins) — beyond that the request is refused with a wait.
- Delivery: the signal `lanbill.events.cabinet_reset_code` (subscriber,
  channel, address, code), sent inside the transaction that stores the
  code, for the notifications room.  While no receiver is connected, the
  code is written to the application log (logger "lanbill.cabinet.reset",
  the subscriber's id and the code, no contact) so the operator's staff
  can read it out — `request_code` says whether it did.
- The new password follows the cabinet password rules (set_password) and
  is typed twice; a refused password does not spend the code.  Using the
  code ends every other cabinet session (the password changes).
- Audited: a code requested (subscriber, channel), a code refused (wrong,
  spent), the password reset.  Never the code itself.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets

from lanbill import events
from lanbill.actor import Actor
from lanbill.clock import now_utc
from lanbill.customers import cabinet
from lanbill.db import transaction
from lanbill.errors import N_, Conflict, ValidationError
from lanbill.models import Subscriber
from lanbill.models.cabinet import CabinetResetCode
from lanbill.staff import audit
from lanbill.staff.managers import hash_password, password_problem, verify_password

log = logging.getLogger("lanbill.cabinet.reset")

CODE_LENGTH = 6
CODE_MINUTES = 15
MAX_TRIES = 5
MAX_CODES_PER_HOUR = 3
MAX_REQUESTS_PER_ADDRESS = 10


class ResetRefused(Conflict):
    """Too many requests: `wait_minutes` until the next one is accepted."""


def _anonymous(ip: str) -> Actor:
    return Actor("cabinet:anonymous", ip=ip)


def contact_of(subscriber: Subscriber) -> tuple[str, str] | None:
    """(channel, address) the code goes to, or None."""
    if (subscriber.email or "").strip():
        return "email", subscriber.email.strip()
    if (subscriber.phone or "").strip():
        return "sms", subscriber.phone.strip()
    return None


def delivered_by_log() -> bool:
    """Whether codes are written to the log: nobody listens to the signal."""
    return not events.cabinet_reset_code.receivers


def request_code(login: str, *, ip: str) -> bool:
    """Request a code for `login` (the module's rules).  Returns whether
    codes go to the log (the same for every login).  Refused with
    ResetRefused when the address or the subscriber asked too often."""
    now = now_utc()
    hour_ago = now - dt.timedelta(hours=1)
    by_address = CabinetResetCode.select().where((CabinetResetCode.ip == ip)
                                                 & (CabinetResetCode.created_at > hour_ago)).count()
    if by_address >= MAX_REQUESTS_PER_ADDRESS:
        raise ResetRefused(N_("Too many requests from your address; try again in an hour."))
    subscriber = cabinet.find_by_login(login)
    contact = contact_of(subscriber) if subscriber is not None else None
    if subscriber is None or contact is None:
        # Nothing to send, but the request counts against the address, so
        # guessing logins is as slow as asking for real ones.
        with transaction():
            CabinetResetCode.create(subscriber=None, code_hash="", ip=ip, created_at=now, expires_at=now,
                                    used_at=now)
        return delivered_by_log()
    recent = CabinetResetCode.select().where((CabinetResetCode.subscriber == subscriber.id)
                                             & (CabinetResetCode.created_at > hour_ago)
                                             & (CabinetResetCode.code_hash != "")).count()
    if recent >= MAX_CODES_PER_HOUR:
        raise ResetRefused(N_("Too many codes were requested; try again in an hour."))
    channel, address = contact
    code = "".join(secrets.choice("0123456789") for _ in range(CODE_LENGTH))
    code_hash = hash_password(code)
    with transaction():
        CabinetResetCode.update(used_at=now).where((CabinetResetCode.subscriber == subscriber.id)
                                                   & CabinetResetCode.used_at.is_null()).execute()
        CabinetResetCode.create(subscriber=subscriber.id, code_hash=code_hash, channel=channel, ip=ip,
                                created_at=now, expires_at=now + dt.timedelta(minutes=CODE_MINUTES))
        audit.record(_anonymous(ip), "subscriber.cabinet_reset_requested", "subscriber", subscriber.id,
                     after={"channel": channel})
        events.cabinet_reset_code.send(subscriber, subscriber=subscriber, channel=channel, address=address,
                                       code=code)
    if delivered_by_log():
        log.warning("cabinet password reset code for subscriber %s (%s): %s", subscriber.id, channel, code)
    return delivered_by_log()


def confirm(login: str, code: str, password: str, repeat: str, *, ip: str) -> Subscriber:
    """Set a new cabinet password with the code (the module's rules)."""
    code = (code or "").strip().replace(" ", "")
    subscriber = cabinet.find_by_login(login)
    now = now_utc()
    current = None
    if subscriber is not None:
        current = (CabinetResetCode.select()
                   .where((CabinetResetCode.subscriber == subscriber.id) & CabinetResetCode.used_at.is_null()
                          & (CabinetResetCode.code_hash != ""))
                   .order_by(CabinetResetCode.created_at.desc(), CabinetResetCode.id.desc()).first())
    wrong = N_("The code is wrong or no longer valid; request a new one if needed.")
    if not code.isdigit() or len(code) != CODE_LENGTH:
        raise ValidationError(N_("The code is 6 digits."), fields={"code": N_("The code is 6 digits.")})
    if current is None or current.expires_at <= now:
        raise ValidationError(wrong, fields={"code": wrong})
    if not verify_password(current.code_hash, code):
        with transaction():
            CabinetResetCode.update(tries=CabinetResetCode.tries + 1).where(
                CabinetResetCode.id == current.id).execute()
            tries = CabinetResetCode.get_by_id(current.id).tries
            spent = tries >= MAX_TRIES
            if spent:
                CabinetResetCode.update(used_at=now).where(CabinetResetCode.id == current.id).execute()
            audit.record(_anonymous(ip), "subscriber.cabinet_reset_failed", "subscriber", subscriber.id,
                         after={"tries": tries, "spent": spent})
        if spent:
            raise ValidationError(N_("Too many wrong codes: this code no longer works; request a new one."),
                                  fields={"code": wrong})
        raise ValidationError(N_("The code is wrong. Attempts left: %(left)s."), fields={"code": wrong},
                              left=MAX_TRIES - tries)
    problem = password_problem(password or "")
    if problem:
        raise ValidationError(problem, fields={"password": problem})
    if (password or "") != (repeat or ""):
        raise ValidationError(N_("The passwords do not match."), fields={"repeat": N_("The passwords do not match.")})
    with transaction():
        taken = CabinetResetCode.update(used_at=now).where(
            (CabinetResetCode.id == current.id) & CabinetResetCode.used_at.is_null()).execute()
        if not taken:
            raise ValidationError(wrong, fields={"code": wrong})
        cabinet.set_password(subscriber, password, actor=_anonymous(ip))
        audit.record(_anonymous(ip), "subscriber.cabinet_password_reset", "subscriber", subscriber.id,
                     after={"channel": current.channel})
    return Subscriber.get_by_id(subscriber.id)

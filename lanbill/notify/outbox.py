"""The outbox (DESIGN §12): messages queued in the transaction of the
change that caused them and sent by the worker (`send_due`, the Huey job
and `flask outbox send`).

Rules:
- A message is queued once: its idempotency key is unique, a second
  queueing of the same key is ignored (`queue`, `queue_many`).
- Sending claims a batch (a lease of LEASE), sends it over one SMTP
  connection, and records each outcome: sent; a temporary failure is
  retried after NOTIFY_BACKOFF doubling up to NOTIFY_BACKOFF_MAX; after
  NOTIFY_MAX_ATTEMPTS attempts, or at once on a permanent refusal, it is
  failed.  A worker that dies mid-batch leaves its claim to expire: the
  message is sent again after the lease (at least once, never lost).
- A channel whose transport is not set up (no SMTP_HOST, no SMS_URL) is
  not tried: its messages wait in the outbox until it is.
- Quiet hours (NOTIFY_QUIET_HOURS, operator's zone): an SMS is not sent
  then and waits, without an attempt counted, for their end; e-mail goes
  any time; an urgent message (a one-time code) ignores them.
- A one-time code's text is wiped once sent.
- Staff may retry a failed message: it starts over (attempts from 0).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from peewee import fn

from lanbill import clock
from lanbill.db import database, is_sqlite, transaction
from lanbill.errors import N_, Conflict
from lanbill.models.notify import OutboxMessage
from lanbill.notify.settings import NotifySettings
from lanbill.notify.transports import SendError, SmsTransport, SmtpTransport
from lanbill.staff import audit

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=10)
BATCH = 500
WIPED = "(one-time code removed after sending)"


def queue(channel: str, address: str, body: str, *, key: str, subject: str = "", attachments=(),
          event: str = "", subscriber_id: int | None = None, urgent: bool = False) -> bool:
    """Queue one message in the caller's transaction.  False when a message
    with this key is already queued or sent (nothing changed)."""
    return queue_many([dict(channel=channel, address=address, subject=subject, body=body,
                            attachments=list(attachments or ()), event=event, subscriber_id=subscriber_id,
                            idempotency_key=key, urgent=urgent)]) == 1


_COLUMNS = ("channel", "address", "subject", "body", "attachments", "event", "subscriber_id", "idempotency_key",
            "status", "attempts", "next_attempt_at", "last_error", "urgent", "claim", "created_at")


def queue_many(rows: list[dict]) -> int:
    """Queue many messages at once (the nightly job); keys already present
    are skipped (INSERT … ON CONFLICT DO NOTHING, one statement per 500).
    Returns how many were queued."""
    if not rows:
        return 0
    now = clock.now_utc()
    defaults = {"subject": "", "attachments": [], "event": "", "subscriber_id": None, "urgent": False,
                "status": "queued", "attempts": 0, "next_attempt_at": now, "last_error": "", "claim": "",
                "created_at": now}
    fields = [OutboxMessage._meta.fields[name] for name in _COLUMNS]
    columns = ", ".join(f'"{f.column_name}"' for f in fields)
    one = "(" + ", ".join([database.param] * len(fields)) + ")"
    if is_sqlite():
        head, tail = f'INSERT OR IGNORE INTO "outbox_message" ({columns}) VALUES ', ""
    else:
        head, tail = f'INSERT INTO "outbox_message" ({columns}) VALUES ', ' ON CONFLICT ("idempotency_key") DO NOTHING'
    queued = 0
    with transaction():
        for i in range(0, len(rows), 500):
            chunk = list({r["idempotency_key"]: r for r in rows[i:i + 500]}.values())
            params = []
            for row in chunk:
                full = {**defaults, **row}
                params += [f.db_value(full[f.name]) for f in fields]
            queued += database.execute_sql(head + ", ".join([one] * len(chunk)) + tail, params).rowcount
    return queued


def existing_keys(keys) -> set[str]:
    """Which of `keys` are already in the outbox (a batch skips rendering
    what it would not queue)."""
    keys = list(keys)
    found = set()
    for i in range(0, len(keys), 500):
        found.update(k for (k,) in OutboxMessage.select(OutboxMessage.idempotency_key)
                     .where(OutboxMessage.idempotency_key.in_(keys[i:i + 500])).tuples())
    return found


def in_quiet_hours(settings: NotifySettings, instant: dt.datetime) -> dt.datetime | None:
    """When `instant` (naive UTC) falls in the quiet hours, their end (naive
    UTC); else None.  A window like 22:00–09:00 spans midnight."""
    if not settings.quiet_hours:
        return None
    start, end = settings.quiet_hours
    local = clock.to_local(instant)
    t = local.time().replace(tzinfo=None)
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return None
    day = local.date() if (start < end or t < end) else local.date() + dt.timedelta(days=1)
    return clock.to_utc(dt.datetime.combine(day, end))


@dataclass
class SendResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0
    errors: list = field(default_factory=list)

    def summary(self) -> dict:
        return {"sent": self.sent, "retried": self.retried, "failed": self.failed, "deferred": self.deferred}


def _claim(now: dt.datetime, limit: int, channels: list[str]) -> list[OutboxMessage]:
    token = secrets.token_hex(8)
    with transaction():
        due = (OutboxMessage.select(OutboxMessage.id)
               .where((OutboxMessage.status == "queued") & (OutboxMessage.next_attempt_at <= now)
                      & OutboxMessage.channel.in_(channels))
               .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit))
        ids = [row.id for row in due]
        if not ids:
            return []
        (OutboxMessage.update(claim=token, next_attempt_at=now + LEASE)
         .where(OutboxMessage.id.in_(ids) & (OutboxMessage.status == "queued")
                & (OutboxMessage.next_attempt_at <= now)).execute())
    return list(OutboxMessage.select().where(OutboxMessage.claim == token).order_by(OutboxMessage.id))


def send_due(settings: NotifySettings, *, limit: int | None = None, transports: dict | None = None,
             progress=None) -> SendResult:
    """Send every message due now, in batches of BATCH, until none is due
    (or `limit` messages were tried).  A batch is spread over
    SMTP_CONNECTIONS lanes, each with its own SMTP connection kept for the
    whole run (a mail server's round trips, not our CPU, bound the rate).
    `transports` maps a channel to a transport (then one lane);
    `progress(n)` is called after each batch with the number tried."""
    result = SendResult()
    tried = 0
    if transports:
        lanes = [{"email": transports.get("email") or SmtpTransport(settings),
                  "sms": transports.get("sms") or SmsTransport(settings)}]
    else:
        lanes = [{"email": SmtpTransport(settings), "sms": SmsTransport(settings)}
                 for _ in range(max(1, settings.smtp_connections))]
    # a channel without settings is not tried: its messages wait, unspoilt
    channels = [c for c, ready in (("email", settings.smtp_host), ("sms", settings.sms_url))
                if ready or (transports and c in transports)]
    if not channels:
        return result
    pool = ThreadPoolExecutor(max_workers=len(lanes)) if len(lanes) > 1 else None
    try:
        while limit is None or tried < limit:
            now = clock.now_utc()
            size = BATCH if limit is None else min(BATCH, limit - tried)
            batch = _claim(now, size, channels)
            if not batch:
                break
            tried += len(batch)
            due = []
            for message in batch:
                if message.channel == "sms" and not message.urgent:
                    quiet_end = in_quiet_hours(settings, now)
                    if quiet_end is not None:
                        _update(message.id, next_attempt_at=quiet_end, claim="")
                        result.deferred += 1
                        continue
                due.append(message)
            shares = [due[i::len(lanes)] for i in range(len(lanes))]
            if pool is None:
                outcomes = _send_lane(lanes[0], shares[0])
            else:
                outcomes = [o for part in pool.map(_send_lane, lanes, shares) for o in part]
            sent_ids, wiped_ids = [], []
            for message, error in outcomes:
                if error is None:
                    (wiped_ids if message.urgent else sent_ids).append(message.id)
                    result.sent += 1
                else:
                    _failed(message, error, settings, now, result)
            done_at = clock.now_utc()
            with transaction():
                if sent_ids:
                    OutboxMessage.update(status="sent", sent_at=done_at, attempts=OutboxMessage.attempts + 1,
                                         last_error="", claim="").where(OutboxMessage.id.in_(sent_ids)).execute()
                if wiped_ids:
                    OutboxMessage.update(status="sent", sent_at=done_at, attempts=OutboxMessage.attempts + 1,
                                         last_error="", claim="", body=WIPED).where(
                        OutboxMessage.id.in_(wiped_ids)).execute()
            if progress:
                progress(len(batch))
    finally:
        if pool is not None:
            pool.shutdown()
        for lane in lanes:
            if hasattr(lane["email"], "close"):
                lane["email"].close()
    return result


def _send_lane(lane: dict, messages: list) -> list:
    """Send messages over one lane's transports (no database here: the
    caller records the outcomes).  Returns [(message, SendError or None)]."""
    out = []
    for message in messages:
        try:
            lane[message.channel].send(message.address, message.subject, message.body, message.attachments)
        except SendError as exc:
            out.append((message, exc))
        except Exception as exc:  # a transport bug must not stop the batch
            log.exception("outbox: message %s failed unexpectedly", message.id)
            out.append((message, SendError(f"internal error: {type(exc).__name__}")))
        else:
            out.append((message, None))
    return out


def _update(message_id: int, **values) -> None:
    with transaction():
        OutboxMessage.update(**values).where(OutboxMessage.id == message_id).execute()


def _failed(message: OutboxMessage, exc: SendError, settings: NotifySettings, now: dt.datetime,
            result: SendResult) -> None:
    attempts = message.attempts + 1
    error = str(exc)[:500]
    if exc.permanent or attempts >= settings.max_attempts:
        _update(message.id, status="failed", attempts=attempts, last_error=error, claim="")
        result.failed += 1
    else:
        _update(message.id, attempts=attempts, last_error=error, claim="",
                next_attempt_at=now + settings.backoff_after(attempts))
        result.retried += 1
    result.errors.append((message.id, error))
    log.warning("outbox: message %s (%s) not sent: %s", message.id, message.channel, error)


def retry(message_id: int, *, actor) -> OutboxMessage:
    """Staff send a failed message again: it is queued now and starts over
    (attempts from 0).  Only a failed message can be retried."""
    with transaction():
        message = OutboxMessage.get_or_none(OutboxMessage.id == message_id)
        if message is None or message.status != "failed":
            raise Conflict(N_("Only a failed message can be sent again."))
        OutboxMessage.update(status="queued", attempts=0, next_attempt_at=clock.now_utc(), claim="").where(
            OutboxMessage.id == message_id).execute()
        audit.record(actor, "notify.retry", "outbox_message", message_id)
    return OutboxMessage.get_by_id(message_id)


def retry_all_failed(*, actor) -> int:
    """Staff send every failed message again (after fixing a setting)."""
    with transaction():
        count = (OutboxMessage.update(status="queued", attempts=0, next_attempt_at=clock.now_utc(), claim="")
                 .where(OutboxMessage.status == "failed").execute())
        audit.record(actor, "notify.retry_all", "outbox_message", None, after={"count": count})
    return count


def counts() -> dict:
    """Messages by status, for the staff screen."""
    out = {status: 0 for status in ("queued", "sent", "failed")}
    for status, n in (OutboxMessage.select(OutboxMessage.status, fn.COUNT(OutboxMessage.id))
                      .group_by(OutboxMessage.status).tuples()):
        out[status] = n
    return out


def in_savepoint(function, *args, **kwargs):
    """Run `function` in a savepoint and swallow its failure (logged without
    personal data): a notification never makes the action that caused it
    fail (lanbill.events)."""
    try:
        with transaction():
            return function(*args, **kwargs)
    except Exception:
        log.exception("notification for %s not queued", getattr(function, "__name__", "event"))
        return None

"""54-FZ receipts (DESIGN §11, DOMAIN-RULES §4): which payments get one,
the operators' fiscal settings, the outbox that sends them to ATOL Online
with retries and back-off, and their fiscal attributes.

Which payments need a receipt — the rule chosen here (confirm it with the
operator's accountant; DOMAIN-RULES §4 is an interpretation):
- never without fiscal settings switched on for the agreement's operator;
- a payment booked by a payment system: when the system says so
  (PaymentSystem.needs_receipt: e.g. ЮKassa without its own receipts, a
  bank's registry of transfers from individuals — yes; payment agents and
  terminals, which print their own — no);
- a payment typed by staff, by its method: cash or card at the desk — yes;
  a bank transfer — yes from an individual, no from a legal entity (a
  company pays by invoice and gets documents, not a receipt); "gateway"
  (an API client, a payment agent) — no;
- a promised payment and a credit limit are not payments and never get one.

A cancelled payment whose sale receipt exists gets a refund receipt
(`sell_refund`), sent after the sale is done.

The outbox: a receipt is `pending` until ATOL accepts it (then `wait`,
its report fetched until `done`); a failure to reach ATOL is retried with
exponential back-off (RETRY_BASE_SECONDS doubling, at most MAX_DELAY),
at most MAX_ATTEMPTS times, then the receipt is `failed` — as is one ATOL
refuses — and shows on the receipts screen until staff retry it.
Enqueueing listens to lanbill.events and never makes a payment fail.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from dataclasses import dataclass

from lanbill import events
from lanbill.actor import actor_of
from lanbill.clock import now_utc, to_local
from lanbill.db import database, insert_row, insert_rows, is_sqlite, storage_value, transaction
from lanbill.errors import N_, Conflict, NotFound
from lanbill.models import Agreement, Operator, Payment, Subscriber
from lanbill.models.paysys import PaymentSystem
from lanbill.models.receipts import SETTLEMENT_MODES, SNO_CHOICES, VAT_CHOICES, FiscalReceipt, FiscalSettings
from lanbill.paysys import atol
from lanbill.records import clean_text, raise_if_any
from lanbill.staff import audit

log = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 60
MAX_DELAY_SECONDS = 3600
MAX_ATTEMPTS = 12
POLL_SECONDS = 30  # between report polls of an accepted receipt
TOKEN_HOURS = 23  # ATOL's token lives 24 h [INF]; renewed an hour early
BATCH = 100
STAFF_METHODS_WITH_RECEIPT = ("cash", "card")


# --- which payments -------------------------------------------------------------------------


def settings_for_operator(operator_id) -> FiscalSettings | None:
    """The operator's fiscal settings when switched on."""
    return FiscalSettings.get_or_none((FiscalSettings.operator == operator_id) & (FiscalSettings.enabled == True))  # noqa: E712


def needs_receipt(payment: Payment, settings: FiscalSettings | None, subscriber_kind: str | None = None) -> bool:
    """The rule of the module's docstring for one booked payment."""
    if settings is None or not settings.enabled:
        return False
    if payment.payment_system_id is not None:
        system = PaymentSystem.get_or_none(PaymentSystem.id == payment.payment_system_id)
        return bool(system and system.needs_receipt)
    if subscriber_kind is None and payment.method == "bank":
        subscriber_kind = (Subscriber.select(Subscriber.kind).join(Agreement)
                           .where(Agreement.id == payment.agreement_id).scalar())
    return _staff_payment_needs_receipt(payment.method, subscriber_kind)


def _contact(subscriber: Subscriber | None, settings: FiscalSettings) -> dict:
    """The buyer's e-mail, else phone (tag 1008); without either, the
    company's own e-mail: the receipt is then handed over at the next
    contact (54-FZ allows it for transfers)."""
    if subscriber is not None and subscriber.email:
        return {"email": subscriber.email.strip()}
    if subscriber is not None and subscriber.phone:
        digits = "".join(c for c in subscriber.phone if c.isdigit())
        if len(digits) == 11 and digits[0] in "78":
            return {"phone": "+7" + digits[1:]}
        if len(digits) == 10:
            return {"phone": "+7" + digits}
    return {"email": settings.company_email}


def _timestamp(moment: dt.datetime) -> str:
    return to_local(moment).strftime("%d.%m.%Y %H:%M:%S")


_SALE_SQL = (
    'SELECT a."operator_id", s."kind", s."email", s."phone", f."company_email" FROM "agreement" a '
    'JOIN "subscriber" s ON s."id" = a."subscriber_id" '
    'JOIN "fiscal_settings" f ON f."operator_id" = a."operator_id" AND f."enabled" = {p} WHERE a."id" = {p}'
)


def enqueue_sale(payment: Payment) -> FiscalReceipt | None:
    """A sale receipt for a booked payment that needs one.  It runs inside
    every booking (a 10,000-row registry books 10,000 payments), so the
    agreement, its subscriber and the operator's settings come in one
    query of fixed text."""
    found = database.execute_sql(_SALE_SQL.format(p=database.param), (True, payment.agreement_id)).fetchone()
    if found is None:
        return None  # the operator sends no receipts
    operator_id, kind, email, phone, company_email = found
    if payment.payment_system_id is not None:
        wanted = database.execute_sql(
            f'SELECT "needs_receipt" FROM "payment_system" WHERE "id" = {database.param}',
            (payment.payment_system_id,)).fetchone()
        if not (wanted and wanted[0]):
            return None
    elif not _staff_payment_needs_receipt(payment.method, kind):
        return None
    contact = _contact(Subscriber(kind=kind, email=email or "", phone=phone or ""),
                       FiscalSettings(company_email=company_email))
    (key, value), = contact.items()
    now = now_utc()
    return insert_row(FiscalReceipt, payment=payment.id, operator=operator_id, operation="sell",
                      external_id=f"pay-{payment.id}", amount=payment.amount, client_contact=f"{key}:{value}",
                      timestamp=_timestamp(now), next_try_at=now, created_at=now)


def _staff_payment_needs_receipt(method: str, subscriber_kind: str | None) -> bool:
    if method in STAFF_METHODS_WITH_RECEIPT:
        return True
    return method == "bank" and subscriber_kind == "individual"


def enqueue_refund(payment: Payment) -> FiscalReceipt | None:
    """A refund receipt for a cancelled payment that has a sale receipt."""
    sale = FiscalReceipt.get_or_none((FiscalReceipt.payment == payment.id) & (FiscalReceipt.operation == "sell"))
    if sale is None:
        return None
    return _enqueue(payment, sale.operator_id, "sell_refund", f"refund-{payment.id}", _contact_of(sale))


def _contact_of(receipt: FiscalReceipt) -> dict:
    key, _, value = receipt.client_contact.partition(":")
    return {key: value} if key in ("email", "phone") else {}


def _enqueue(payment, operator_id, operation, external_id, contact) -> FiscalReceipt:
    existing = FiscalReceipt.get_or_none((FiscalReceipt.payment == payment.id)
                                         & (FiscalReceipt.operation == operation))
    if existing is not None:
        return existing
    (key, value), = contact.items()
    return FiscalReceipt.create(payment=payment.id, operator=operator_id, operation=operation,
                                external_id=external_id, amount=payment.amount, client_contact=f"{key}:{value}",
                                timestamp=_timestamp(now_utc()), next_try_at=now_utc())


def _on_payment_booked(sender=None, payment=None, in_batch=False, **kw):
    if not in_batch:  # a batch is enqueued at once, by _on_payments_booked
        _safely(enqueue_sale, payment)


def _on_payments_booked(sender=None, payments=(), **kw):
    """A batch of payments (a registry): their sale receipts enqueued
    together, by the same rule as one by one; a failure is logged and
    the payments stay booked (the outbox screen shows what is missing)."""
    if not payments:
        return
    wanted = _systems_wanting(payments)
    if all(p.payment_system_id is not None and not wanted[p.payment_system_id] for p in payments):
        return  # terminals and agents send their own receipts: one read, no savepoint
    try:
        with database.atomic():
            enqueue_sales(list(payments), wanted)
    except Exception:  # noqa: BLE001 - the payments must go through whatever happens here
        log.exception("receipts not queued for a batch of %s payments", len(payments))


_SALES_SQL = (
    'SELECT a."id", a."operator_id", s."kind", s."email", s."phone", f."company_email" FROM "agreement" a '
    'JOIN "subscriber" s ON s."id" = a."subscriber_id" '
    'JOIN "fiscal_settings" f ON f."operator_id" = a."operator_id" AND f."enabled" = {p} WHERE a."id" IN ({ids})'
)


def _systems_wanting(payments) -> dict[int, bool]:
    """Payment system id → whether its payments need a receipt."""
    wanted: dict[int, bool] = {}
    for system_id in {p.payment_system_id for p in payments if p.payment_system_id is not None}:
        row = database.execute_sql(f'SELECT "needs_receipt" FROM "payment_system" WHERE "id" = {database.param}',
                                   (system_id,)).fetchone()
        wanted[system_id] = bool(row and row[0])
    return wanted


def enqueue_sales(payments: list[Payment], systems_wanted: dict[int, bool] | None = None) -> int:
    """enqueue_sale for many payments at once: the agreements' operators,
    subscribers and fiscal settings in one query per 500, the receipts
    in one statement.  Returns how many were queued."""
    if systems_wanted is None:
        systems_wanted = _systems_wanting(payments)
    found: dict[int, tuple] = {}
    agreement_ids = sorted({p.agreement_id for p in payments})
    for start in range(0, len(agreement_ids), 500):
        chunk = agreement_ids[start:start + 500]
        sql = _SALES_SQL.format(p=database.param, ids=", ".join([database.param] * len(chunk)))
        for agreement_id, *rest in database.execute_sql(sql, (True, *chunk)).fetchall():
            found[agreement_id] = tuple(rest)
    now = now_utc()
    stamp = _timestamp(now)
    fields = [f for f in FiscalReceipt._meta.sorted_fields if f is not FiscalReceipt.id]
    rows = []
    for payment in payments:
        settings = found.get(payment.agreement_id)
        if settings is None:
            continue
        operator_id, kind, email, phone, company_email = settings
        if payment.payment_system_id is not None:
            if not systems_wanted.get(payment.payment_system_id):
                continue
        elif not _staff_payment_needs_receipt(payment.method, kind):
            continue
        (key, value), = _contact(Subscriber(kind=kind, email=email or "", phone=phone or ""),
                                 FiscalSettings(company_email=company_email)).items()
        data = FiscalReceipt(payment=payment.id, operator=operator_id, operation="sell",
                             external_id=f"pay-{payment.id}", amount=payment.amount, client_contact=f"{key}:{value}",
                             timestamp=stamp, next_try_at=now, created_at=now).__data__
        rows.append(tuple(storage_value(f.db_value(data.get(f.name))) for f in fields))
    return insert_rows("fiscal_receipt", [f.column_name for f in fields], rows)


def _on_payment_cancelled(sender=None, payment=None, **kw):
    _safely(enqueue_refund, payment)


def _safely(enqueue, payment) -> None:
    """A receiver never makes the payment fail (lanbill.events): its own
    writes roll back alone, in a savepoint, and the failure is logged
    without personal data.  On SQLite no savepoint is needed: the
    enqueueing reads, then writes at most one row in one statement, and
    SQLite undoes a failed statement alone without spoiling the
    transaction — so the common case (no receipt) costs one read, not
    three statements."""
    if payment is None:
        return
    try:
        with (contextlib.nullcontext() if is_sqlite() else database.atomic()):
            enqueue(payment)
    except Exception:  # noqa: BLE001 - the payment must go through whatever happens here
        log.exception("receipt not queued for payment %s", payment.id)


def connect_receivers() -> None:
    """Listen to booked and cancelled payments (called once by create_app;
    connecting again changes nothing)."""
    events.payment_booked.connect(_on_payment_booked, weak=False)
    events.payments_booked.connect(_on_payments_booked, weak=False)
    events.payment_cancelled.connect(_on_payment_cancelled, weak=False)


# --- the outbox -----------------------------------------------------------------------------


@dataclass
class SendSummary:
    sent: int = 0
    done: int = 0
    retried: int = 0
    failed: int = 0

    def as_dict(self) -> dict:
        return {"sent": self.sent, "done": self.done, "retried": self.retried, "failed": self.failed}


def backoff(attempts: int) -> dt.timedelta:
    """The pause after the `attempts`-th failure: 1, 2, 4 … minutes, at most an hour."""
    return dt.timedelta(seconds=min(MAX_DELAY_SECONDS, RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)))


def send_due(now: dt.datetime | None = None) -> SendSummary:
    """Send or poll every receipt whose time has come (the worker's job and
    `flask receipts send`)."""
    now = now or now_utc()
    summary = SendSummary()
    due = list(FiscalReceipt.select().where(FiscalReceipt.status.in_(("pending", "wait"))
                                             & (FiscalReceipt.next_try_at <= now))
               .order_by(FiscalReceipt.next_try_at, FiscalReceipt.id).limit(BATCH))
    clients: dict[int, atol.Client] = {}
    for receipt in due:
        _process(receipt, now, clients, summary)
    for operator_id, client in clients.items():
        if client.new_token:
            with transaction():
                FiscalSettings.update(token=client.token, token_expires_at=now + dt.timedelta(hours=TOKEN_HOURS)).where(
                    FiscalSettings.operator == operator_id).execute()
    return summary


def _client(receipt: FiscalReceipt, settings: FiscalSettings, now, clients) -> atol.Client:
    client = clients.get(receipt.operator_id)
    if client is None:
        token = settings.token if settings.token_expires_at and settings.token_expires_at > now else ""
        client = clients[receipt.operator_id] = atol.Client(settings.api_url, settings.login, settings.password,
                                                            settings.group_code, token)
    return client


def _process(receipt: FiscalReceipt, now, clients, summary: SendSummary) -> None:
    settings = FiscalSettings.get_or_none(FiscalSettings.operator == receipt.operator_id)
    if settings is None or not settings.enabled:
        _failed(receipt, "fiscal settings are switched off", summary)
        return
    if receipt.operation == "sell_refund" and receipt.status == "pending":
        sale = FiscalReceipt.get_or_none((FiscalReceipt.payment == receipt.payment_id)
                                         & (FiscalReceipt.operation == "sell"))
        if sale is not None and sale.status != "done":
            _later(receipt, now + dt.timedelta(seconds=POLL_SECONDS), "", attempts=receipt.attempts)
            return
    client = _client(receipt, settings, now, clients)
    try:
        if receipt.status == "pending":
            uuid = client.register(receipt.operation, _body(receipt, settings))
            summary.sent += 1
            with transaction():
                FiscalReceipt.update(uuid=uuid, status="wait", last_error="").where(
                    FiscalReceipt.id == receipt.id).execute()
            receipt.uuid, receipt.status = uuid, "wait"
        report = client.report(receipt.uuid)
    except atol.AtolError as exc:
        if exc.uuid and receipt.status == "pending":  # ATOL has it already: poll it
            with transaction():
                FiscalReceipt.update(uuid=exc.uuid, status="wait").where(FiscalReceipt.id == receipt.id).execute()
            return
        attempts = receipt.attempts + 1
        if not exc.temporary or attempts >= MAX_ATTEMPTS:
            _failed(receipt, exc.text, summary, attempts)
        else:
            summary.retried += 1
            _later(receipt, now + backoff(attempts), exc.text, attempts=attempts)
        return
    if report.status == "done":
        _done(receipt, report.payload, summary)
    elif report.status == "fail":
        _failed(receipt, report.error or "fail", summary, receipt.attempts + 1)
    else:
        _later(receipt, now + dt.timedelta(seconds=POLL_SECONDS), "", attempts=receipt.attempts)


def _body(receipt: FiscalReceipt, settings: FiscalSettings) -> dict:
    payment = Payment.get_by_id(receipt.payment_id)
    number = Agreement.select(Agreement.number).where(Agreement.id == payment.agreement_id).scalar()
    try:
        name = settings.item_name.format(agreement=number)
    except (KeyError, IndexError, ValueError):
        name = f"{settings.item_name} {number}"
    return atol.receipt_body(
        external_id=receipt.external_id, timestamp=receipt.timestamp, client=_contact_of(receipt),
        company={"email": settings.company_email, "sno": settings.sno, "inn": settings.inn,
                 "payment_address": settings.payment_address},
        item_name=name, amount=receipt.amount, vat=settings.vat, settlement_mode=settings.settlement_mode,
        cash=payment.method == "cash" and payment.payment_system_id is None, callback_url=settings.callback_url)


def _later(receipt, when, error: str, *, attempts: int) -> None:
    with transaction():
        FiscalReceipt.update(next_try_at=when, last_error=error[:1000], attempts=attempts).where(
            FiscalReceipt.id == receipt.id).execute()


def _failed(receipt, error: str, summary: SendSummary, attempts: int | None = None) -> None:
    summary.failed += 1
    log.warning("receipt %s failed: %s", receipt.external_id, error[:200])
    with transaction():
        FiscalReceipt.update(status="failed", last_error=error[:1000],
                             attempts=attempts if attempts is not None else receipt.attempts).where(
            FiscalReceipt.id == receipt.id).execute()


FISCAL_FIELDS = ("fn_number", "fiscal_document_number", "fiscal_document_attribute", "fiscal_receipt_number",
                 "shift_number", "receipt_datetime", "ecr_registration_number", "ofd_receipt_url", "fns_site")


def _done(receipt, payload: dict, summary: SendSummary) -> None:
    summary.done += 1
    values = {name: str(payload.get(name) or "")[:512 if name == "ofd_receipt_url" else 255]
              for name in FISCAL_FIELDS}
    with transaction():
        FiscalReceipt.update(status="done", done_at=now_utc(), last_error="", **values).where(
            FiscalReceipt.id == receipt.id).execute()


def accept_callback(uuid: str) -> FiscalReceipt | None:
    """ATOL's callback (POST to the `callback_url` sent with the receipt,
    served at /pay/atol/callback): the body is not trusted — only its
    uuid is read, it must be the uuid of a receipt we sent (else None:
    ignored, and ATOL is not even asked), and the report is then read
    back from ATOL (`report/{uuid}` with the operator's own credentials)
    and applied as a poll would: done → fiscal attributes stored, fail →
    failed, wait → stays waiting.  A receipt already done is returned as
    it is.  Raises atol.AtolError when ATOL cannot be reached (the
    endpoint answers 503; the outbox's polling still finishes the job)."""
    uuid = (uuid or "").strip()
    if not uuid or len(uuid) > 64:
        return None
    receipt = FiscalReceipt.get_or_none(FiscalReceipt.uuid == uuid)
    if receipt is None or receipt.status == "done":
        return receipt
    settings = FiscalSettings.get_or_none(FiscalSettings.operator == receipt.operator_id)
    if settings is None or not settings.enabled:
        return receipt
    now = now_utc()
    clients: dict[int, atol.Client] = {}
    report = _client(receipt, settings, now, clients).report(uuid)
    summary = SendSummary()
    if report.status == "done":
        _done(receipt, report.payload, summary)
    elif report.status == "fail":
        _failed(receipt, report.error or "fail", summary, receipt.attempts + 1)
    client = clients[receipt.operator_id]
    if client.new_token:
        with transaction():
            FiscalSettings.update(token=client.token, token_expires_at=now + dt.timedelta(hours=TOKEN_HOURS)).where(
                FiscalSettings.operator == receipt.operator_id).execute()
    return FiscalReceipt.get_by_id(receipt.id)


def retry(receipt_id, *, actor) -> FiscalReceipt:
    """Staff send a failed receipt again (after fixing the settings)."""
    who = actor_of(actor)
    with transaction():
        receipt = FiscalReceipt.get_or_none(FiscalReceipt.id == receipt_id)
        if receipt is None:
            raise NotFound(N_("Receipt not found."))
        if receipt.status != "failed":
            raise Conflict(N_("Only a failed receipt can be sent again."))
        # ATOL keeps a receipt it accepted: with its uuid, ask for the report again
        FiscalReceipt.update(status="wait" if receipt.uuid else "pending", attempts=0, next_try_at=now_utc()).where(
            FiscalReceipt.id == receipt.id).execute()
        audit.record(who, "receipt.retry", "receipt", receipt.id)
    return FiscalReceipt.get_by_id(receipt.id)


# --- settings -------------------------------------------------------------------------------


def save_settings(operator_id, data: dict, *, actor) -> FiscalSettings:
    """Create or change an operator's fiscal settings.  An empty password
    keeps the one stored (it is never shown back)."""
    operator = Operator.get_or_none(Operator.id == operator_id)
    if operator is None:
        raise NotFound(N_("Operator not found."))
    errors: dict = {}
    values = {
        "api_url": clean_text(data, "api_url", errors, required=True, limit=255),
        "login": clean_text(data, "login", errors, required=True, limit=128),
        "group_code": clean_text(data, "group_code", errors, required=True, limit=128),
        "inn": clean_text(data, "inn", errors, required=True, limit=12),
        "payment_address": clean_text(data, "payment_address", errors, required=True, limit=255),
        "company_email": clean_text(data, "company_email", errors, required=True, limit=255),
        "item_name": clean_text(data, "item_name", errors, required=True, limit=128),
        "callback_url": clean_text(data, "callback_url", errors, limit=255),
        "enabled": bool(data.get("enabled")),
    }
    if values["api_url"] and not values["api_url"].startswith(("https://", "http://")):
        errors["api_url"] = N_("An address starting with https://.")
    if values["inn"] and (not values["inn"].isdigit() or len(values["inn"]) not in (10, 12)):
        errors["inn"] = N_("ИНН is 10 or 12 digits.")
    if values["company_email"] and "@" not in values["company_email"]:
        errors["company_email"] = N_("Not an e-mail address.")
    for key, choices in (("sno", SNO_CHOICES), ("vat", VAT_CHOICES), ("settlement_mode", SETTLEMENT_MODES)):
        if data.get(key) not in choices:
            errors[key] = N_("Choose one of the list.")
        values[key] = data.get(key)
    password = data.get("password") or ""
    existing = FiscalSettings.get_or_none(FiscalSettings.operator == operator.id)
    if not password and (existing is None or not existing.password):
        errors["password"] = N_("Required.")
    raise_if_any(errors)
    who = actor_of(actor)
    with transaction():
        if password:
            values["password"] = password
            values["token"] = ""
            values["token_expires_at"] = None
        if existing is None:
            settings = FiscalSettings.create(operator=operator.id, **values)
        else:
            values["version"] = existing.version + 1
            values["updated_at"] = now_utc()
            FiscalSettings.update(**values).where(FiscalSettings.id == existing.id).execute()
            settings = FiscalSettings.get_by_id(existing.id)
        audit.record(who, "fiscal.save", "operator", operator.id,
                     after={k: v for k, v in values.items() if k not in ("password", "token")})
    return settings





# --- health ---------------------------------------------------------------------------------

RECEIPTS_LATE_MINUTES = 60  # default of the RECEIPTS_LATE_MINUTES setting


def health_check(now: dt.datetime, late_minutes: int | None = None) -> dict:
    """The `receipts` check of /healthz (lanbill.operations.health).  Rule:
    "down" while any receipt has failed for good (ATOL refused it, or the
    outbox gave up after MAX_ATTEMPTS — it stays down until staff send it
    again from the receipts screen) or any receipt is still not done
    `late_minutes` (default RECEIPTS_LATE_MINUTES) after it was queued;
    "ok" otherwise, also when no receipt was ever queued."""
    late_after = dt.timedelta(minutes=int(late_minutes or RECEIPTS_LATE_MINUTES))
    failed = FiscalReceipt.select().where(FiscalReceipt.status == "failed").count()
    open_ = FiscalReceipt.status.in_(("pending", "wait"))
    waiting = FiscalReceipt.select().where(open_).count()
    late = FiscalReceipt.select().where(open_ & (FiscalReceipt.created_at < now - late_after)).count() if waiting else 0
    oldest = (FiscalReceipt.select(FiscalReceipt.created_at).where(open_).order_by(FiscalReceipt.created_at)
              .scalar()) if waiting else None
    return {"status": "down" if failed or late else "ok", "failed": failed, "waiting": waiting, "late": late,
            "late_after_minutes": int(late_after.total_seconds() // 60),
            "oldest_waiting": oldest.isoformat(timespec="seconds") + "Z" if oldest else None}

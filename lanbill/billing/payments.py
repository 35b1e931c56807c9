"""Payments (seed 002 «Работа с платежами»): post, "set balance to", cancel.

A payment is a `Payment` row plus one `payment` ledger entry; cancelling it
posts a `payment_reversal` entry and keeps the payment with the reason.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

import peewee

from lanbill import events
from lanbill.actor import actor_of
from lanbill.billing.ledger import post_entry, post_payment_entries, reserve_ids
from lanbill.clock import now_utc, to_utc, today
from lanbill.db import database, insert_row, insert_rows, is_sqlite, storage_value, transaction
from lanbill.errors import N_, BillingError, Conflict, NotFound, ValidationError
from lanbill.models import Agreement, LedgerEntry, Payment
from lanbill.models.agreements import PAYMENT_METHODS
from lanbill.money import MoneyError, parse_money
from lanbill.staff import audit

_BARE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")  # a pay date without a time


def _agreement(agreement) -> Agreement:
    if isinstance(agreement, Agreement):
        return agreement
    found = Agreement.get_or_none(Agreement.id == agreement)
    if found is None:
        raise NotFound(N_("Agreement not found."), fields={"agreement_id": N_("No such agreement.")})
    return found


def _clean_amount(amount) -> Decimal:
    try:
        return parse_money(amount, allow_negative=False, allow_zero=False)
    except MoneyError as exc:
        raise ValidationError(exc.message, fields={"amount": exc.message}) from None


def _clean_paid_at(paid_at) -> dt.datetime:
    """Pay date: now by default; the past is allowed (back-dating, seed 002),
    the future is not.  A bare date (a `date`, or text such as "2026-01-15")
    means that local day's start — except today's date, which means now: a
    payment entered today with today's date is booked at the moment it is
    entered, not back-dated to 00:00 (the same answer for the admin form and
    the API).  Naive datetimes are local wall-clock times; the result is
    naive UTC."""
    if paid_at is None:
        return now_utc()
    if isinstance(paid_at, str):
        paid_at = _parse_pay_date(paid_at)
    if isinstance(paid_at, dt.date) and not isinstance(paid_at, dt.datetime):
        if paid_at == today():
            return now_utc()
        paid_at = dt.datetime.combine(paid_at, dt.time())
    paid_utc = to_utc(paid_at)
    if to_utc(dt.datetime.combine(today() + dt.timedelta(days=1), dt.time())) <= paid_utc:
        raise ValidationError(
            N_("Pay date cannot be in the future."), fields={"paid_at": N_("In the future.")}
        )
    return paid_utc


def _parse_pay_date(text: str) -> dt.date | dt.datetime:
    """ISO text → a date when it names a day only, else a datetime."""
    try:
        if _BARE_DATE.fullmatch(text):
            return dt.date.fromisoformat(text)
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            N_("Pay date must be a date, for example 2026-11-23."),
            fields={"paid_at": N_("Not a date.")},
        ) from None


def _clean_document_number(number) -> str:
    number = (number or "").strip() if isinstance(number, str) else ""
    if not number:
        raise ValidationError(
            N_("The payment document number is required."),
            fields={"document_number": N_("Required.")},
        )
    if len(number) > 64:
        raise ValidationError(
            N_("The payment document number is too long."),
            fields={"document_number": N_("At most 64 characters.")},
        )
    return number


def post_payment(
    agreement,
    amount,
    document_number,
    *,
    actor,
    paid_at=None,
    method: str = "cash",
    comment: str = "",
    external_id: str | None = None,
    gateway: str = "",
    external_client: str = "",
    payment_system=None,
) -> tuple[Payment, bool]:
    """Book a payment onto an agreement; returns (payment, created).

    An `external_id` is the sender's own id of the payment, unique per
    gateway and `external_client` (who sent it: "manager:<id>" for an API
    token's owner) — two clients may use the same id.  With an id the same
    client already booked, the existing payment is returned and nothing is
    booked again (a repeated gateway notification is answered, not booked
    twice — DESIGN §4).  The same id with a different agreement or amount
    is a conflict, which names nothing of the payment booked before.

    A `payment_system` (lanbill.models.paysys.PaymentSystem) books under
    its own name: gateway = its kind, external client = its code, and the
    payment records the system; its transaction id is the external id.
    """
    if payment_system is not None:
        gateway, external_client = payment_system.kind, payment_system.code
    agreement = _agreement(agreement)
    amount = _clean_amount(amount)
    document_number = _clean_document_number(document_number)
    paid_at = _clean_paid_at(paid_at)
    if method not in PAYMENT_METHODS:
        raise ValidationError(
            N_("Unknown payment method."), fields={"method": N_("One of cash, bank, card, gateway.")}
        )
    if external_id is not None:
        external_id = str(external_id).strip()
        if not external_id or len(external_id) > 128:
            raise ValidationError(
                N_("External id must be 1 to 128 characters."),
                fields={"external_id": N_("1 to 128 characters.")},
            )
    who = actor_of(actor)
    if external_id is not None and not database.in_transaction():
        # A repeat is answered before the write transaction (and on SQLite
        # its writer lock) is even asked for; the unique index below still
        # decides a race.
        existing = _booked_with_external_id(gateway, external_client, external_id)
        if existing is not None:
            return _same_or_conflict(existing, agreement, amount), False
    with transaction():
        if external_id is not None and not is_sqlite():
            existing = _booked_with_external_id(gateway, external_client, external_id)
            if existing is not None:
                return _same_or_conflict(existing, agreement, amount), False
        # A savepoint only where a racing duplicate external id must roll
        # back alone.  On SQLite a failed INSERT undoes itself alone and the
        # transaction goes on, so the unique index answers the race (a
        # lookup then, not before every booking): no savepoint either.
        guard = database.atomic() if external_id is not None and not is_sqlite() else contextlib.nullcontext()
        try:
            with guard:
                payment = insert_row(
                    Payment,
                    agreement=agreement.id,
                    amount=amount,
                    paid_at=paid_at,
                    document_number=document_number,
                    method=method,
                    gateway=gateway,
                    external_id=external_id,
                    external_client=external_client if external_id is not None else "",
                    payment_system_id=payment_system.id if payment_system is not None else None,
                    comment=(comment or "").strip(),
                    manager_id=who.manager_id,
                    actor=who.label,
                )
        except peewee.IntegrityError:
            existing = _booked_with_external_id(gateway, external_client, external_id)
            if existing is None:
                raise
            return _same_or_conflict(existing, agreement, amount), False
        entry, _ = post_entry(
            agreement.id,
            amount,
            "payment",
            actor=who,
            payment=payment,
            comment=document_number,
        )
        payment.entry = entry
        database.execute_sql(_SET_ENTRY_SQL.format(p=database.param), (entry.id, payment.id))
        audit.record(who, "payment.create", "agreement", agreement.id, after=_payment_dict(payment))
        events.payment_booked.send(payment=payment)
    return payment, True


# Fixed SQL text for what every booking does (Peewee building the same
# statements on each call cost more CPU than the database's own work).
_EXTERNAL_ID_SQL = (
    'SELECT "id", "agreement_id", "amount" FROM "payment" '
    'WHERE "gateway" = {p} AND "external_client" = {p} AND "external_id" = {p}'
)
_SET_ENTRY_SQL = 'UPDATE "payment" SET "entry_id" = {p} WHERE "id" = {p}'
_payment_by_id_sql: dict[type, str] = {}


def _booked_with_external_id(gateway: str, external_client: str, external_id: str) -> Payment | None:
    """The payment a client already booked under this external id, or None
    (the unique index answers it: one fixed-text query)."""
    row = database.execute_sql(_EXTERNAL_ID_SQL.format(p=database.param),
                               (gateway, external_client, external_id)).fetchone()
    return None if row is None else _payment_by_id(row[0])


def _payment_by_id(payment_id: int) -> Payment:
    key = type(database.obj)
    sql = _payment_by_id_sql.get(key)
    if sql is None:
        sql = _payment_by_id_sql[key] = Payment.select().where(Payment.id == 0).sql()[0]
    return next(iter(Payment.raw(sql, payment_id)))


def booked_before(payment_system, external_id: str, agreement: Agreement, amount: Decimal) -> Payment | None:
    """The payment `payment_system` already booked under `external_id`, or
    None: what post_payment answers a repeat with, asked without writing
    (a Conflict when that payment has another agreement or amount)."""
    existing = _booked_with_external_id(payment_system.kind, payment_system.code, str(external_id).strip())
    return None if existing is None else _same_or_conflict(existing, agreement, amount)


@dataclass
class PaymentItem:
    """One payment of a batch (post_payments): the arguments of
    post_payment that differ from payment to payment."""

    agreement: Agreement
    amount: object
    document_number: str
    external_id: str
    paid_at: object = None
    comment: str = ""


@dataclass
class Booked:
    """What became of one PaymentItem: the payment and whether it was
    booked now (False: its external id was booked before — a repeat), or
    the refusal (a ValidationError, or a Conflict for an id booked with
    other details) and no payment."""

    payment: Payment | None = None
    created: bool = False
    error: BillingError | None = None


def post_payments(items: list[PaymentItem], *, actor, payment_system, method: str = "bank") -> list[Booked]:
    """The batch form of post_payment for a payment system's many payments
    at once (a bank registry): one transaction, and per payment exactly
    the rules of the one-by-one door — amount, document number, pay date,
    external id checked; an external id the system already booked is a
    repeat (the first payment, nothing booked) or, with another agreement
    or amount, a Conflict; the same id twice in the batch is one payment;
    each payment gets its `payment` ledger entry (balances move and blocks
    lift, billing.ledger.post_payment_entries), its audit row (written
    together: audit.record_many) and its payment_booked event (notices,
    54-FZ receipts); the batch gets the payments_booked event (receivers
    with a batch form, like the receipts' outbox, work there at once).
    The rows are written a statement per table, not per payment.  Returns
    one Booked per item, in order."""
    gateway, external_client = payment_system.kind, payment_system.code
    if method not in PAYMENT_METHODS:
        raise ValidationError(N_("Unknown payment method."))
    who = actor_of(actor)
    out = [Booked() for _ in items]
    clean: list[tuple[int, dict]] = []
    for index, item in enumerate(items):
        try:
            external_id = str(item.external_id).strip()
            if not external_id or len(external_id) > 128:
                raise ValidationError(N_("External id must be 1 to 128 characters."),
                                      fields={"external_id": N_("1 to 128 characters.")})
            clean.append((index, {
                "agreement": _agreement(item.agreement), "amount": _clean_amount(item.amount),
                "document_number": _clean_document_number(item.document_number),
                "paid_at": _clean_paid_at(item.paid_at), "external_id": external_id,
                "comment": (item.comment or "").strip()}))
        except BillingError as exc:
            out[index].error = exc
    with transaction():
        booked = _booked_many(gateway, external_client, [c["external_id"] for _, c in clean])
        fresh: list[tuple[int, dict]] = []
        first_of: dict[str, tuple[int, dict]] = {}
        for index, values in clean:
            earlier = booked.get(values["external_id"])
            if earlier is not None:
                try:
                    out[index].payment = _same_or_conflict(earlier, values["agreement"], values["amount"])
                except Conflict as exc:
                    out[index].error = exc
                continue
            twin = first_of.get(values["external_id"])
            if twin is not None:  # the same id twice in the batch: one payment
                if twin[1]["agreement"].id != values["agreement"].id or twin[1]["amount"] != values["amount"]:
                    out[index].error = Conflict(
                        N_("A payment with this external id was already booked with other details."),
                        fields={"external_id": N_("Already used.")})
                else:
                    out[index].payment = twin  # resolved below, once the first one is written
                continue
            first_of[values["external_id"]] = (index, values)
            fresh.append((index, values))
        payment_ids = reserve_ids("payment", len(fresh))
        entry_ids = reserve_ids("ledger_entry", len(fresh))
        post_payment_entries([
            {"id": entry_id, "agreement_id": values["agreement"].id, "amount": values["amount"],
             "payment_id": payment_id, "comment": values["document_number"]}
            for (_, values), payment_id, entry_id in zip(fresh, payment_ids, entry_ids, strict=True)], actor=who)
        payments = []
        for (index, values), payment_id, entry_id in zip(fresh, payment_ids, entry_ids, strict=True):
            payment = Payment(
                id=payment_id, agreement=values["agreement"].id, amount=values["amount"], paid_at=values["paid_at"],
                document_number=values["document_number"], method=method, gateway=gateway,
                external_id=values["external_id"], external_client=external_client,
                payment_system_id=payment_system.id, comment=values["comment"], manager_id=who.manager_id,
                actor=who.label, entry=entry_id)
            payments.append(payment)
            out[index].payment, out[index].created = payment, True
        _insert_payments(payments)
        with peewee.__exception_wrapper__:
            audit.record_many(who, "payment.create", "agreement",
                              [(p.agreement_id, None, _payment_dict(p)) for p in payments])
        for payment in payments:
            payment._dirty.clear()
            events.payment_booked.send(payment=payment, in_batch=True)
        if payments:
            events.payments_booked.send(payments=payments)
    for result in out:
        if isinstance(result.payment, tuple):  # a twin in the batch: the first one's payment, not booked again
            result.payment, result.created = out[result.payment[0]].payment, False
    return out


def _booked_many(gateway: str, external_client: str, external_ids: list[str]) -> dict[str, Payment]:
    """Payments this client already booked under any of these ids (fixed
    SQL for the ids, 500 at a time; the rare payments found are then read
    whole)."""
    found: dict[str, Payment] = {}
    ids = sorted(set(external_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        sql = _EXTERNAL_IDS_SQL.format(p=database.param, ids=", ".join([database.param] * len(chunk)))
        for payment_id, external_id in database.execute_sql(sql, (gateway, external_client, *chunk)).fetchall():
            found[external_id] = _payment_by_id(payment_id)
    return found


_EXTERNAL_IDS_SQL = (
    'SELECT "id", "external_id" FROM "payment" '
    'WHERE "gateway" = {p} AND "external_client" = {p} AND "external_id" IN ({ids})'
)


def _insert_payments(payments: list[Payment]) -> None:
    """INSERT the payments with their reserved ids, one statement for all
    (executemany / execute_values), each value through its field's own
    conversion as Peewee would do."""
    fields = Payment._meta.sorted_fields
    insert_rows("payment", [f.column_name for f in fields],
                [tuple(storage_value(f.db_value(p.__data__.get(f.name))) for f in fields) for p in payments])


def _same_or_conflict(existing: Payment, agreement: Agreement, amount: Decimal) -> Payment:
    if existing.agreement_id != agreement.id or existing.amount != amount:
        raise Conflict(
            N_("A payment with this external id was already booked with other details."),
            fields={"external_id": N_("Already used.")},
        )
    return existing


def set_balance_to(agreement, target, document_number, *, actor, paid_at=None, comment: str = "",
                   method: str = "cash") -> Payment | LedgerEntry:
    """"Set balance to X" (seed 002): compute the amount that makes the
    balance X and book it.  Raising the balance books a payment; lowering it
    (a rule seed 002 leaves open) books a `correction` entry, because a
    negative payment is not a payment."""
    agreement = _agreement(agreement)
    try:
        target = parse_money(target)
    except MoneyError as exc:
        raise ValidationError(exc.message, fields={"target": exc.message}) from None
    document_number = _clean_document_number(document_number)
    with transaction():
        current = Agreement.get_by_id(agreement.id).balance
        amount = target - current
        if amount == 0:
            raise ValidationError(
                N_("The balance is already %(target)s."), fields={"target": N_("Nothing to change.")},
                target=str(target),
            )
        if amount > 0:
            payment, _ = post_payment(
                agreement, amount, document_number, actor=actor, paid_at=paid_at,
                comment=comment, method=method,
            )
            return payment
        entry, _ = post_entry(
            agreement.id, amount, "correction", actor=actor,
            comment=f"{document_number} {comment}".strip(),
        )
        audit.record(actor, "balance.set", "agreement", agreement.id,
                     before={"balance": str(current)}, after={"balance": str(target)})
        return entry


def cancel_payment(payment, *, actor, reason: str) -> Payment:
    """Cancel a payment by a reversing entry; the payment stays, marked
    cancelled with who, when and why.  A payment is cancelled once."""
    if not isinstance(payment, Payment):
        found = Payment.get_or_none(Payment.id == payment)
        if found is None:
            raise NotFound(N_("Payment not found."))
        payment = found
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(N_("Give a reason for cancelling."), fields={"reason": N_("Required.")})
    who = actor_of(actor)
    with transaction():
        payment = Payment.get_by_id(payment.id)
        if payment.cancelled_at is not None:
            raise Conflict(N_("The payment is already cancelled."))
        entry, _ = post_entry(
            payment.agreement_id,
            -payment.amount,
            "payment_reversal",
            actor=who,
            payment=payment,
            comment=reason,
            idempotency_key=f"reversal:{payment.id}",
        )
        payment.cancelled_at = now_utc()
        payment.cancelled_by = who.label
        payment.cancel_reason = reason
        payment.reversal_entry = entry
        payment.save()
        audit.record(who, "payment.cancel", "payment", payment.id, after={"reason": reason})
        events.payment_cancelled.send(payment=payment)
    return payment


def _payment_dict(payment: Payment) -> dict:
    return {
        "id": payment.id,
        "amount": str(payment.amount),
        "document_number": payment.document_number,
        "paid_at": payment.paid_at.isoformat(),
        "method": payment.method,
    }


def last_document_numbers(agreement_id: int | None = None, limit: int = 5) -> list[str]:
    """The reference panel: last document numbers of an agreement, or of the
    whole database when `agreement_id` is None (seed 002 «Справочно»)."""
    query = Payment.select(Payment.document_number).order_by(Payment.id.desc()).limit(limit)
    if agreement_id is not None:
        query = query.where(Payment.agreement == agreement_id)
    return [p.document_number for p in query]

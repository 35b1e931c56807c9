"""Payment document numbers assigned automatically, per operator: an
option beside seed 002's manual «Номер платёжного документа».

The rule: off (the default, as seed 002 works) the desk types the number
of the document it holds.  On, the number is `prefix` + the operator's
next number, taken when the payment is saved, inside the transaction
that books it — the counter (Counter "payment-number:<operator id>")
advances by one UPDATE … RETURNING, which on PostgreSQL locks its row
until the booking commits and on SQLite runs under the database's writer
lock (lanbill.db.transaction).  A booking that fails rolls its number
back with it, so the numbers of one operator run 1, 2, 3… without a gap
or a repeat, however many desks save at once.  Staff may move the next
number forward (a new paper book of receipts), never back, so a number
is never given twice."""

from __future__ import annotations

from dataclasses import dataclass

from lanbill.billing.payments import post_payment, set_balance_to
from lanbill.db import database, transaction
from lanbill.errors import N_, ValidationError
from lanbill.models import Agreement, Counter
from lanbill.models.payment_numbering import PaymentNumbering
from lanbill.records import CHECK, check_version
from lanbill.staff import audit

PREFIX_LIMIT = 16
LARGEST = 10**12


@dataclass(frozen=True)
class Numbering:
    operator_id: int
    is_enabled: bool
    prefix: str
    next_number: int
    version: int

    @property
    def next_text(self) -> str:
        """The number the next payment would get now, as printed."""
        return f"{self.prefix}{self.next_number}"


def counter_name(operator_id: int) -> str:
    return f"payment-number:{operator_id}"


def _last_taken(operator_id: int) -> int:
    row = Counter.get_or_none(Counter.name == counter_name(operator_id))
    return int(row.value) if row is not None else 0


def numbering_of(operator_id: int) -> Numbering:
    """The operator's choice (off when never set) and its next number."""
    row = PaymentNumbering.get_or_none(PaymentNumbering.operator == operator_id)
    return Numbering(operator_id, bool(row and row.is_enabled), row.prefix if row else "",
                     _last_taken(operator_id) + 1, row.version if row else 0)


def set_numbering(operator_id: int, *, enabled: bool, prefix: str, next_number, actor,
                  version: int | None = None) -> Numbering:
    """Switch automatic numbering on or off, set the prefix and (forward
    only) the next number — the module's rule."""
    prefix = (prefix or "").strip()
    errors = {}
    if len(prefix) > PREFIX_LIMIT:
        errors["prefix"] = N_("At most 16 characters.")
    try:
        wanted = int(str(next_number).strip()) if str(next_number or "").strip() else None
    except ValueError:
        wanted = -1
    if wanted is not None and not 1 <= wanted <= LARGEST:
        errors["next_number"] = N_("A whole number from 1.")
    with transaction():
        current = numbering_of(operator_id)
        if wanted is not None and wanted < current.next_number and "next_number" not in errors:
            errors["next_number"] = N_("Numbers are never given twice: the next number can only go forward.")
        if errors:
            raise ValidationError(CHECK, fields=errors)
        row = PaymentNumbering.get_or_none(PaymentNumbering.operator == operator_id)
        if row is not None:
            check_version(row, version)
        before = {"is_enabled": current.is_enabled, "prefix": current.prefix, "next_number": current.next_number}
        if row is None:
            PaymentNumbering.create(operator=operator_id, is_enabled=bool(enabled), prefix=prefix)
        else:
            PaymentNumbering.update(is_enabled=bool(enabled), prefix=prefix, version=PaymentNumbering.version + 1) \
                .where(PaymentNumbering.id == row.id).execute()
        if wanted is not None and wanted > current.next_number:
            name = counter_name(operator_id)
            Counter.insert(name=name, value=0).on_conflict_ignore().execute()
            Counter.update(value=wanted - 1).where(Counter.name == name).execute()
        after = {"is_enabled": bool(enabled), "prefix": prefix, "next_number": wanted or current.next_number}
        old, new = audit.diff(before, after)
        audit.record(actor, "operator.payment_numbering", "operator", operator_id, before=old, after=new)
    return numbering_of(operator_id)


def take_payment_number(operator_id: int) -> str:
    """The next number of the operator, taken for good; call inside the
    transaction that books the payment (the module's rule)."""
    if not database.in_transaction():
        raise RuntimeError("a payment number is taken inside the transaction that books the payment")
    row = PaymentNumbering.get_or_none(PaymentNumbering.operator == operator_id)
    name = counter_name(operator_id)
    Counter.insert(name=name, value=0).on_conflict_ignore().execute()
    taken = Counter.update(value=Counter.value + 1).where(Counter.name == name).returning(Counter.value).execute()
    return f"{row.prefix if row else ''}{list(taken)[0].value}"


def book_payment(agreement: Agreement, *, amount: str = "", target: str = "", document_number: str = "", actor,
                 paid_at=None, method: str = "cash", comment: str = ""):
    """A payment from the desk (seed 002 «Работа с платежами»): an amount,
    or "set the balance to"; the document number typed, or — with the
    operator's automatic numbering on — assigned here (a typed one is then
    not used).  Returns what billing.payments returns."""
    numbering = numbering_of(agreement.operator_id)
    if not numbering.is_enabled:
        return _book(agreement, amount, target, document_number, actor, paid_at, method, comment)
    with transaction():
        number = take_payment_number(agreement.operator_id)
        return _book(agreement, amount, target, number, actor, paid_at, method, comment)


def _book(agreement, amount, target, number, actor, paid_at, method, comment):
    if (amount or "").strip():
        payment, _created = post_payment(agreement, amount, number, actor=actor, paid_at=paid_at, method=method,
                                         comment=comment)
        return payment
    return set_balance_to(agreement, target, number, actor=actor, paid_at=paid_at, comment=comment, method=method)

"""Agreements: creation with a number from the configurable pattern, the
credit limit, lookups."""

from __future__ import annotations

import datetime as dt

from lanbill.billing import blocks
from lanbill.billing.currency import default_currency
from lanbill.clock import now_utc, today
from lanbill.customers.operators import default_operator
from lanbill.db import transaction
from lanbill.errors import N_, Conflict, NotFound, ValidationError
from lanbill.models import Agreement, Counter, Currency, Operator, Setting, Subscriber
from lanbill.money import MoneyError, parse_money
from lanbill.staff import audit

DEFAULT_PATTERN = "{year}-{seq:06d}"
PATTERN_KEY = "agreement_number_pattern"


def number_pattern() -> str:
    row = Setting.get_or_none(Setting.key == PATTERN_KEY)
    return row.value if row and row.value else DEFAULT_PATTERN


def set_number_pattern(pattern: str, *, actor) -> None:
    """Patterns use {seq} (required), {year}, {month}, {operator}."""
    if "{seq" not in pattern:
        raise ValidationError(N_("The pattern must contain {seq}."), fields={"pattern": N_("Needs {seq}.")})
    try:
        render_number(pattern, 1, 1, today())
    except (KeyError, ValueError, IndexError):
        raise ValidationError(N_("The pattern is not valid."), fields={"pattern": N_("Not valid.")}) from None
    with transaction():
        Setting.insert(key=PATTERN_KEY, value=pattern).on_conflict(
            conflict_target=[Setting.key], update={Setting.value: pattern}
        ).execute()
        audit.record(actor, "settings.update", "setting", PATTERN_KEY, after={"value": pattern})


def render_number(pattern: str, seq: int, operator_id: int, day: dt.date) -> str:
    return pattern.format(seq=seq, year=day.year, month=day.month, operator=operator_id)


def next_number(operator_id: int, day: dt.date) -> str:
    """Advance the operator's counter and render the next free number.
    Runs inside the caller's transaction; skips numbers typed by hand."""
    name = f"agreement:{operator_id}"
    Counter.insert(name=name, value=0).on_conflict_ignore().execute()
    pattern = number_pattern()
    while True:
        Counter.update(value=Counter.value + 1).where(Counter.name == name).execute()
        seq = Counter.get_by_id(name).value
        number = render_number(pattern, seq, operator_id, day)
        taken = Agreement.select().where(
            (Agreement.operator == operator_id) & (Agreement.number == number)
        ).exists()
        if not taken:
            return number


def create_agreement(subscriber, *, actor, number: str | None = None, operator=None,
                     currency=None, credit_limit="0", date: dt.date | None = None) -> Agreement:
    """Create an agreement.  The number comes from the pattern unless given;
    it is unique per operator."""
    if not isinstance(subscriber, Subscriber):
        subscriber = Subscriber.get_or_none(Subscriber.id == subscriber)
        if subscriber is None:
            raise NotFound(N_("Subscriber not found."), fields={"subscriber_id": N_("No such subscriber.")})
    if subscriber.is_template:
        raise ValidationError(N_("A template cannot have agreements."))
    operator = _resolve(operator, Operator, "operator_id", N_("No such operator.")) or default_operator()
    if isinstance(currency, str):
        found = Currency.get_or_none(Currency.code == currency.upper())
        if found is None:
            raise ValidationError(N_("Unknown currency."), fields={"currency": N_("Unknown currency.")})
        currency = found
    currency = _resolve(currency, Currency, "currency", N_("Unknown currency.")) or default_currency()
    try:
        credit = parse_money(credit_limit if credit_limit is not None else "0", allow_negative=False)
    except MoneyError as exc:
        raise ValidationError(exc.message, fields={"credit_limit": exc.message}) from None
    if number is not None:
        number = _clean_number(number)
    day = date or today()
    with transaction():
        if number is None:
            number = next_number(operator.id, day)
        else:
            _check_number_free(operator.id, number)
        agreement = Agreement.create(
            number=number, date=day, operator=operator, subscriber=subscriber,
            currency=currency, credit_limit=credit,
        )
        audit.record(actor, "agreement.create", "agreement", agreement.id,
                     after={"number": number, "subscriber": subscriber.id, "currency": currency.code,
                            "credit_limit": str(credit)})
    return agreement


def _clean_number(number) -> str:
    number = str(number).strip()
    if not number or len(number) > 64:
        raise ValidationError(N_("Agreement number must be 1 to 64 characters."),
                              fields={"number": N_("1 to 64 characters.")})
    return number


def _check_number_free(operator_id: int, number: str, agreement_id: int | None = None) -> None:
    query = Agreement.select().where((Agreement.operator == operator_id) & (Agreement.number == number))
    if agreement_id is not None:
        query = query.where(Agreement.id != agreement_id)
    if query.exists():
        raise Conflict(N_("Agreement number %(number)s is taken."), fields={"number": N_("Taken.")}, number=number)


def set_number(agreement: Agreement, number, *, actor) -> Agreement:
    """Change the agreement's number by hand (a paper agreement signed
    under another number): still unique per operator, audited.  The
    subscriber is stamped as changed so the search index picks the new
    number up on its next refresh."""
    number = _clean_number(number)
    with transaction():
        current = Agreement.get_by_id(agreement.id)
        if current.number == number:
            return current
        _check_number_free(current.operator_id, number, current.id)
        Agreement.update(number=number).where(Agreement.id == current.id).execute()
        Subscriber.update(updated_at=now_utc()).where(Subscriber.id == current.subscriber_id).execute()
        audit.record(actor, "agreement.number", "agreement", current.id,
                     before={"number": current.number}, after={"number": number})
    return Agreement.get_by_id(agreement.id)


def set_credit_limit(agreement: Agreement, amount, *, actor) -> Agreement:
    """Change the credit limit; the balance block follows at once (DESIGN §5)."""
    try:
        credit = parse_money(amount, allow_negative=False)
    except MoneyError as exc:
        raise ValidationError(exc.message, fields={"credit_limit": exc.message}) from None
    with transaction():
        before = Agreement.get_by_id(agreement.id).credit_limit
        Agreement.update(credit_limit=credit).where(Agreement.id == agreement.id).execute()
        audit.record(actor, "agreement.credit_limit", "agreement", agreement.id,
                     before={"credit_limit": str(before)}, after={"credit_limit": str(credit)})
        blocks.evaluate_agreement(agreement.id)
    return Agreement.get_by_id(agreement.id)


def get_agreement(agreement_id) -> Agreement:
    found = Agreement.get_or_none(Agreement.id == agreement_id)
    if found is None:
        raise NotFound(N_("Agreement not found."))
    return found


def _resolve(value, model, field, message):
    if value is None or isinstance(value, model):
        return value
    found = model.get_or_none(model.id == value)
    if found is None:
        raise ValidationError(message, fields={field: message})
    return found

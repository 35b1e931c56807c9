"""Exchange rates and conversion of charges between currencies (DESIGN §4).

A CurrencyRate row is the value of one unit of a currency in the default
currency on a date.  The rate of a day is the latest row on or before it
(rates are not published on holidays); the default currency is always 1.
A charge in another currency is converted at the day's rate and the rate
used is stored on the ledger entry with the original amount.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from lanbill.db import CENT, transaction
from lanbill.errors import N_, Conflict, ValidationError
from lanbill.models import Currency, CurrencyRate
from lanbill.records import CHECK, check_version, clean_text, get_record, raise_if_any
from lanbill.staff import audit

RATE_PLACES = Decimal("0.000001")  # RateField keeps millionths


class NoRate(ValidationError):
    """No rate is known for a currency on a day: the charge waits for it."""


def _currency(value) -> Currency:
    if isinstance(value, Currency):
        return value
    if isinstance(value, str):
        found = Currency.get_or_none(Currency.code == value.upper())
    else:
        found = Currency.get_or_none(Currency.id == value)
    if found is None:
        raise ValidationError(N_("Unknown currency."), fields={"currency": N_("Unknown currency.")})
    return found


def set_rate(currency, day, rate, *, actor) -> CurrencyRate:
    """Record the value of one unit of `currency` (a Currency, its id or its
    code) in the default currency on `day` (DESIGN §4: a charge in another
    currency uses that day's rate).  Setting a date again replaces its rate;
    the default currency has none.  `day` may be an ISO date string and
    `rate` a decimal string (`92,5` works); both are checked field by field."""
    errors: dict = {}
    if isinstance(day, str):
        try:
            day = dt.date.fromisoformat(day.strip())
        except ValueError:
            day = None
    if not isinstance(day, dt.date):
        errors["date"] = N_("A date.")
    try:
        value = parse_rate(rate)
    except ValidationError as exc:
        errors.update(exc.fields)
    raise_if_any(errors)
    with transaction():
        currency = _currency(currency)
        if currency.is_default:
            raise ValidationError(N_("The default currency has no rate."), fields={"rate": N_("Not needed.")})
        CurrencyRate.insert(currency=currency.id, date=day, rate=value).on_conflict(
            conflict_target=[CurrencyRate.currency, CurrencyRate.date], update={CurrencyRate.rate: value}
        ).execute()
        audit.record(actor, "currency.rate", "currency", currency.id, after={"date": str(day), "rate": str(value)})
    return CurrencyRate.get((CurrencyRate.currency == currency.id) & (CurrencyRate.date == day))


def rate_on(currency, day: dt.date) -> Decimal:
    """Value of one unit of `currency` in the default currency on `day`."""
    currency = _currency(currency)
    if currency.is_default:
        return Decimal(1)
    row = (
        CurrencyRate.select(CurrencyRate.rate)
        .where((CurrencyRate.currency == currency.id) & (CurrencyRate.date <= day))
        .order_by(CurrencyRate.date.desc())
        .first()
    )
    if row is None:
        raise NoRate(N_("No exchange rate for %(code)s on %(day)s."), code=currency.code, day=str(day))
    return row.rate


class RateBook:
    """Rates for one billing pass, looked up once per (currency, day)."""

    def __init__(self):
        self._cache: dict = {}
        self._currencies = {c.id: c for c in Currency.select()}

    def code(self, currency_id: int) -> str:
        return self._currencies[currency_id].code

    def rate(self, from_id: int, to_id: int, day: dt.date) -> Decimal:
        key = (from_id, to_id, day)
        if key not in self._cache:
            source = rate_on(self._currencies[from_id], day)
            target = rate_on(self._currencies[to_id], day)
            self._cache[key] = (source / target).quantize(RATE_PLACES)
        return self._cache[key]


def convert(amount: Decimal, from_currency, to_currency, day: dt.date, book: RateBook | None = None):
    """`amount` in `from_currency` → (amount in `to_currency`, rate), at the
    day's rate, rounded half-up to the kopeck.  Same currency: rate None."""
    from_id = from_currency if isinstance(from_currency, int) else _currency(from_currency).id
    to_id = to_currency if isinstance(to_currency, int) else _currency(to_currency).id
    if from_id == to_id:
        return Decimal(amount), None
    book = book or RateBook()
    rate = book.rate(from_id, to_id, day)
    return (Decimal(amount) * rate).quantize(CENT, rounding="ROUND_HALF_UP"), rate


# --- the currency list staff keep ------------------------------------------------


def default_currency() -> Currency:
    """The currency marked default, else the first one."""
    return Currency.select().order_by(Currency.is_default.desc(), Currency.id).first()



def parse_rate(value) -> Decimal:
    """A positive exchange rate with at most six decimals; `92,5` works."""
    if isinstance(value, float) or isinstance(value, bool):
        raise ValidationError(CHECK, fields={"rate": N_("A positive number, for example 92,5.")})
    text = str(value if value is not None else "").strip().replace(" ", "").replace(",", ".")
    try:
        rate = Decimal(text)
    except InvalidOperation:
        rate = None
    if rate is None or not rate.is_finite() or rate <= 0 or rate > Decimal(10) ** 9:
        raise ValidationError(CHECK, fields={"rate": N_("A positive number, for example 92,5.")})
    if rate != rate.quantize(Decimal("0.000001")):
        raise ValidationError(CHECK, fields={"rate": N_("At most six decimals.")})
    return rate


def clean_currency(data: dict, *, creating: bool) -> dict:
    errors: dict = {}
    out = {
        "name": clean_text(data, "name", errors, required=True, limit=64),
        "symbol": clean_text(data, "symbol", errors, limit=8),
    }
    if creating:
        code = clean_text(data, "code", errors, required=True, limit=3).upper()
        if code and not re.match(r"^[A-Z]{3}$", code):
            errors["code"] = N_("Three Latin letters, for example USD.")
        out["code"] = code
    raise_if_any(errors)
    return out


def create_currency(data: dict, *, actor) -> Currency:
    fields = clean_currency(data, creating=True)
    with transaction():
        if Currency.select().where(Currency.code == fields["code"]).exists():
            raise Conflict(N_("This currency exists."), fields={"code": N_("Taken.")})
        currency = Currency.create(**fields)
        audit.record(actor, "currency.create", "currency", currency.id, after=fields)
    return currency


def update_currency(currency_id, data: dict, *, actor, version=None) -> Currency:
    """Name and symbol only: the code is what agreements and tariffs use."""
    fields = clean_currency(data, creating=False)
    with transaction():
        current = get_record(Currency, currency_id)
        check_version(current, version)
        old, new = audit.diff({k: getattr(current, k) for k in fields}, fields)
        Currency.update(version=Currency.version + 1, **fields).where(Currency.id == current.id).execute()
        audit.record(actor, "currency.update", "currency", current.id, before=old, after=new)
    return Currency.get_by_id(current.id)


def delete_rate(rate_id, *, actor) -> None:
    with transaction():
        row = get_record(CurrencyRate, rate_id)
        audit.record(actor, "currency.rate_delete", "currency", row.currency_id,
                     before={"date": row.date.isoformat(), "rate": str(row.rate)})
        row.delete_instance()

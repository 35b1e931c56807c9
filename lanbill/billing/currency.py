"""Exchange rates and conversion of charges between currencies (DESIGN §4).

A CurrencyRate row is the value of one unit of a currency in the default
currency on a date.  The rate of a day is the latest row on or before it
(rates are not published on holidays); the default currency is always 1.
A charge in another currency is converted at the day's rate and the rate
used is stored on the ledger entry with the original amount.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from lanbill.billing import audit
from lanbill.billing.errors import N_, ValidationError
from lanbill.db import CENT, transaction
from lanbill.models import Currency, CurrencyRate

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


def set_rate(currency, day: dt.date, rate, *, actor) -> CurrencyRate:
    """Record the value of one unit of `currency` in the default currency on `day`."""
    currency = _currency(currency)
    if isinstance(rate, float):
        raise TypeError("rates must not be floats")
    try:
        value = Decimal(str(rate).replace(",", "."))
    except ArithmeticError:
        raise ValidationError(N_("The rate must be a number."), fields={"rate": N_("Not a number.")}) from None
    if not value.is_finite() or value <= 0:
        raise ValidationError(N_("The rate must be a positive number."), fields={"rate": N_("Must be positive.")})
    value = value.quantize(RATE_PLACES)
    with transaction():
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

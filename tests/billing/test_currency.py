"""Multi-currency (DESIGN §4): a tariff in USD on a RUB agreement is
charged at the day's rate, and the rate used is stored on the entry."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from lanbill.billing import currency
from lanbill.billing.payments import post_payment
from lanbill.errors import ValidationError
from lanbill.models import LedgerEntry
from tests.billing_helpers import simulate, travel
from tests.factories import ACTOR, make_account, make_agreement, make_tariff


def test_usd_tariff_on_a_rub_agreement_uses_the_days_rate(app):
    with travel("2026-01-01 00:00") as t:
        currency.set_rate("USD", dt.date(2025, 12, 31), "90.50", actor=ACTOR)
        currency.set_rate("USD", dt.date(2026, 1, 2), "91.25", actor=ACTOR)
        agreement = make_agreement()
        post_payment(agreement, "10000", "p", actor=ACTOR)
        account = make_account(agreement, tariff=make_tariff(scheme="daily", rent="31.00", currency="USD"))
        simulate(t, "2026-01-01", "2026-01-03")
    rows = list(LedgerEntry.select().where(LedgerEntry.account_id == account.id).order_by(LedgerEntry.period_start))
    # $1.00 a day (31.00/31); the 1st at the rate of Dec 31 (no rate on Jan 1), the 2nd and 3rd at 91.25
    assert [(r.original_amount, r.original_currency, r.rate, r.amount) for r in rows] == [
        (Decimal("-1.00"), "USD", Decimal("90.5"), Decimal("-90.50")),
        (Decimal("-1.00"), "USD", Decimal("91.25"), Decimal("-91.25")),
        (Decimal("-1.00"), "USD", Decimal("91.25"), Decimal("-91.25")),
    ]


def test_missing_rate_postpones_the_charge_until_the_rate_is_known(app):
    with travel("2026-01-01 00:00") as t:
        agreement = make_agreement()
        account = make_account(agreement, tariff=make_tariff(scheme="dynamic", rent="10.00", currency="EUR"))
        simulate(t, "2026-01-01", "2026-01-01")
        assert not LedgerEntry.select().where(LedgerEntry.account_id == account.id).exists()
        currency.set_rate("EUR", dt.date(2026, 1, 1), "100", actor=ACTOR)
        simulate(t, "2026-01-02", "2026-01-02")
    entry = LedgerEntry.select().where(LedgerEntry.account_id == account.id).get()
    assert (entry.amount, entry.original_amount, entry.rate) == (Decimal("-1000.00"), Decimal("-10.00"),
                                                                 Decimal("100"))


def test_convert_rounds_half_up_and_refuses_bad_rates(app):
    currency.set_rate("USD", dt.date(2026, 1, 1), "90.123457", actor=ACTOR)
    amount, rate = currency.convert(Decimal("10.00"), "USD", "RUB", dt.date(2026, 1, 5))
    assert (amount, rate) == (Decimal("901.23"), Decimal("90.123457"))
    assert currency.convert(Decimal("5.00"), "RUB", "RUB", dt.date(2026, 1, 5)) == (Decimal("5.00"), None)
    with pytest.raises(ValidationError):
        currency.set_rate("USD", dt.date(2026, 1, 2), "-1", actor=ACTOR)
    with pytest.raises(currency.NoRate):
        currency.rate_on("EUR", dt.date(2026, 1, 5))

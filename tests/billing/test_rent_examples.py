"""DESIGN §6's three worked examples, to the kopeck (R = 650, M = 31)."""

from __future__ import annotations

from decimal import Decimal

from lanbill.billing import blocks
from lanbill.billing.payments import post_payment
from tests.billing_helpers import balance, charged, run_days, state, travel
from tests.factories import ACTOR, make_account, make_agreement, make_tariff


def test_dynamic_staff_block_from_16th_charges_fifteen_days(app):
    with travel("2026-01-01 00:00") as t:
        tariff = make_tariff(scheme="dynamic", rent="650.00", rent_blocked="0")
        agreement = make_agreement()
        post_payment(agreement, "1000.00", "p-1", actor=ACTOR)
        account = make_account(agreement, tariff=tariff)

        def block():
            blocks.block_by_staff(account, actor=ACTOR, reason="equipment")

        run_days(t, "2026-01-01", "2026-02-01", events={"2026-01-16": block})
    # 650 on the 1st, then 16 corrections for the days 16..31
    assert charged(account, first="2026-01-01", last="2026-01-31") == Decimal("314.52")


def test_daily_staff_block_from_16th_charges_fifteen_days(app):
    with travel("2026-01-01 00:00") as t:
        tariff = make_tariff(scheme="daily", rent="650.00", rent_blocked="0")
        agreement = make_agreement()
        post_payment(agreement, "1000.00", "p-1", actor=ACTOR)
        account = make_account(agreement, tariff=tariff)

        def block():
            blocks.block_by_staff(account, actor=ACTOR, reason="equipment")

        run_days(t, "2026-01-01", "2026-02-01", events={"2026-01-16": block})
    assert charged(account, first="2026-01-01", last="2026-01-31") == Decimal("314.52")
    from lanbill.models import LedgerEntry

    amounts = sorted({e.amount for e in LedgerEntry.select().where(LedgerEntry.account_id == account.id)
                      if e.period_start.month == 1})
    assert amounts == [Decimal("-20.97"), Decimal("-20.96")]


def test_dynamic_balance_300_refunds_until_funds_positive(app):
    with travel("2025-12-31 12:00") as t:
        tariff = make_tariff(scheme="dynamic", rent="650.00", rent_blocked="0")
        agreement = make_agreement()
        post_payment(agreement, "300.00", "p-1", actor=ACTOR)
        t.move_to("2025-12-31 20:00:00+00:00")  # 2026-01-01 00:00 Moscow (UTC+3 - 1h) is 21:00 UTC
        t.move_to("2025-12-31 21:00:00+00:00")
        account = make_account(agreement, tariff=tariff)
        run_days(t, "2026-01-01", "2026-01-01")
        assert balance(agreement) == Decimal("-350.00")
        assert state(account) == "balance"
        run_days(t, "2026-01-02", "2026-01-17")
        assert state(account) == "balance"  # days 1..16 refunded so far: −350 + 335.48
        run_days(t, "2026-01-18", "2026-01-18")
        # the correction of the 17th brings the balance to +6.45 and lifts the block at 00:00 of the 18th
        assert balance(agreement) == Decimal("6.45")
        assert state(account) == "active"
        run_days(t, "2026-01-19", "2026-02-01")
    # 300 paid for the 14 days 18..31: 650·14/31 = 293.55; refunds of days 1..17: 356.45
    assert charged(account, first="2026-01-01", last="2026-01-31") == Decimal("293.55")

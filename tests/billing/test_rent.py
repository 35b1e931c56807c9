"""Worked months, computed by hand (DESIGN §6, seed 002 «Списание аренды»).

Notation: R = rent, M = days in the month, share(X, d) = round(X·d/M) −
round(X·(d−1)/M) (half-up to the kopeck), so the shares of days a..b add up
to round(X·b/M) − round(X·(a−1)/M).  The table's "total" is what the month
costs the account: every rent entry whose period starts in the month.
Each scenario starts with the account created at 00:00 of its first day on
an agreement with enough money (10 000.00) unless the row says otherwise,
and the billing runs at 00:00 of every day until the 1st of the next month.

 #  scheme   month (M)      what happens                           hand computation                              total
 1  dynamic  2026-01 (31)   nothing                                advance R                                    650.00
 2  dynamic  2026-04 (30)   nothing                                advance R                                    650.00
 3  daily    2026-02 (28)   nothing                                Σ share(650, 1..28) = round(650·28/28)       650.00
 4  daily    2028-02 (29)   nothing (leap year)                    round(650·29/29)                             650.00
 5  monthly  2026-01 (31)   nothing                                R at 00:00 of the 1st                        650.00
 6  dynamic  2026-01 (31)   assigned on the 10th                   650 − round(650·9/31) = 650 − 188.71         461.29
 7  daily    2026-01 (31)   assigned on the 10th                   same days 10..31                             461.29
 8  monthly  2026-01 (31)   assigned on the 10th                   R·22/31 by the days left                     461.29
 9  daily    2026-01 (31)   300.00 paid; balance block from the    days 1..15 charged (funds < 0 after the 15th's
                            16th; 1000.00 paid at 12:00 on 20th   charge), 16..20 blocked (Rb = 0), 21..31:
                                                                   314.52 + (650 − round(650·20/31) = 230.65)   545.17
10  dynamic  2026-01 (31)   credit limit 1000 → 0 at 12:00 on the  blocked at 00:00 of 16..20 (lifted by the
                            15th (balance block), 700.00 paid at   payment at 12:00 of the 20th): 650 −
                            12:00 on the 20th                      (round(650·20/31) − round(650·15/31))
                                                                   = 650 − (419.35 − 314.52)                    545.17
11  dynamic  2026-01 (31)   staff block 00:00 of the 10th, lifted  blocked 10..14: 650 − (round(650·14/31) −
                            00:00 of the 15th (5 days)             round(650·9/31)) = 650 − (293.55 − 188.71)  545.16
12  dynamic  2026-01 (31)   user block from the 5th on             Ru = R: charged as active                    650.00
13  dynamic  2026-01 (31)   disconnect date the 21st               advance 650, closed on the 21st:
                                                                   −(650 − round(650·20/31)) = −230.65          419.35
14  daily    2026-01 (31)   disconnect date the 21st               days 1..20: round(650·20/31)                 419.35
15  dynamic→ 2026-01 (31)   planned change to daily T2 (R 310) at  T1 days 1..10: round(650·10/31) = 209.68;
    daily                   00:00 of the 11th                      T2 days 11..31: 310 − round(310·10/31)
                                                                   = 310 − 100.00 = 210.00                      419.68
16  daily→   2026-01 (31)   change now at 14:00 on the 11th to     T1 days 1..10: 209.68 (the 11th's daily charge
    monthly                 monthly T2 (R 310)                     under T1 is refunded); T2 advance for the days
                                                                   left 11..31: 210.00                          419.68
17  dynamic  2026-01 (31)   Rb = 100, staff block from the 16th    314.52 + Σ share(100, 16..31) = 314.52 +
                            to the end (Ra defaults to Rb)         (100 − round(100·15/31) = 100 − 48.39)       366.13
18  dynamic  2026-01 (31)   V = 1000 MB, 800 MB used by the 15th,  floor round(650·800/1000) = 520.00: the
                            staff block from the 16th              corrections stop at 650 − 520 = 130.00       520.00
19  dynamic  2026-01 (31)   V = 1000 MB, 100 MB used, staff block  floor 65.00 does not bind: as example 1      314.52
                            from the 16th
20  monthly  2026-01 (31)   staff block from the 16th              no corrections within the month              650.00
21  daily    2026-01 (31)   Ru = 50, user block from the 21st      round(650·20/31) + (50 − round(50·20/31))
                                                                   = 419.35 + (50 − 32.26)                      437.09
22  dynamic  2026-01 (31)   staff block from the 16th; the bill    the history answers for every missed day:
                            runs only on the 1st and on Feb 1st    same as example 1                            314.52
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from lanbill.billing import blocks, tariff_schedule
from lanbill.billing.payments import post_payment
from lanbill.customers import accounts, agreements
from lanbill.models import Account, LedgerEntry, TrafficCategory, TrafficHourly
from tests.billing_helpers import charged, local, simulate, travel
from tests.factories import ACTOR, make_account, make_agreement, make_tariff


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _staff_block(ctx):
    blocks.block_by_staff(ctx["account"], actor=ACTOR, reason="test")


def _staff_unblock(ctx):
    blocks.unblock_by_staff(ctx["account"], actor=ACTOR)


def _user_block(ctx):
    blocks.set_user_block(ctx["account"], True, actor=ACTOR)


def _pay(amount):
    return lambda ctx: post_payment(ctx["agreement"], amount, "pay", actor=ACTOR)


def _credit(amount):
    return lambda ctx: agreements.set_credit_limit(ctx["agreement"], amount, actor=ACTOR)


def _disconnect(day):
    return lambda ctx: accounts.update_account(ctx["account"], {"disconnect_date": day}, actor=ACTOR)


def _plan(tariff_key, when):
    return lambda ctx: tariff_schedule.plan_change(ctx["account"], ctx[tariff_key], when, actor=ACTOR)


def _change_now(tariff_key):
    return lambda ctx: tariff_schedule.change_tariff_now(
        Account.get_by_id(ctx["account"].id), ctx[tariff_key], actor=ACTOR)


def _traffic(day, megabytes):
    def add(ctx):
        category = TrafficCategory.create(tariff=ctx["tariff"].id, name="Internet", prepaid=True)
        TrafficHourly.create(account_id=ctx["account"].id, category_id=category.id,
                             hour=dt.datetime.fromisoformat(f"{day} 09:00"), bytes_in=megabytes * 1_048_576)
    return add


T650 = {"rent": "650.00", "rent_blocked": "0"}

# (row, scheme, tariff fields, first day, payment, credit, events [(local time, action)], expected)
MONTHS = [
    (1, "dynamic", T650, "2026-01-01", "10000", "0", [], "650.00"),
    (2, "dynamic", T650, "2026-04-01", "10000", "0", [], "650.00"),
    (3, "daily", T650, "2026-02-01", "10000", "0", [], "650.00"),
    (4, "daily", T650, "2028-02-01", "10000", "0", [], "650.00"),
    (5, "monthly", T650, "2026-01-01", "10000", "0", [], "650.00"),
    (6, "dynamic", T650, "2026-01-10", "10000", "0", [], "461.29"),
    (7, "daily", T650, "2026-01-10", "10000", "0", [], "461.29"),
    (8, "monthly", T650, "2026-01-10", "10000", "0", [], "461.29"),
    (9, "daily", T650, "2026-01-01", "300", "0", [("2026-01-20 12:00", _pay("1000.00"))], "545.17"),
    (10, "dynamic", T650, "2026-01-01", None, "1000", [("2026-01-15 12:00", _credit("0")),
                                                      ("2026-01-20 12:00", _pay("700.00"))], "545.17"),
    (11, "dynamic", T650, "2026-01-01", "10000", "0", [("2026-01-10 00:00", _staff_block),
                                                      ("2026-01-15 00:00", _staff_unblock)], "545.16"),
    (12, "dynamic", T650, "2026-01-01", "10000", "0", [("2026-01-05 00:00", _user_block)], "650.00"),
    (13, "dynamic", T650, "2026-01-01", "10000", "0", [("2026-01-01 00:00", _disconnect("2026-01-21"))], "419.35"),
    (14, "daily", T650, "2026-01-01", "10000", "0", [("2026-01-01 00:00", _disconnect("2026-01-21"))], "419.35"),
    (15, "dynamic", T650, "2026-01-01", "10000", "0", [("2026-01-02 10:00", _plan("daily310", "2026-01-11"))],
     "419.68"),
    (16, "daily", T650, "2026-01-01", "10000", "0", [("2026-01-11 14:00", _change_now("monthly310"))], "419.68"),
    (17, "dynamic", {"rent": "650.00", "rent_blocked": "100.00"}, "2026-01-01", "10000", "0",
     [("2026-01-16 00:00", _staff_block)], "366.13"),
    (18, "dynamic", {**T650, "prepaid_mb": 1000}, "2026-01-01", "10000", "0",
     [("2026-01-10 10:00", _traffic("2026-01-10", 800)), ("2026-01-16 00:00", _staff_block)], "520.00"),
    (19, "dynamic", {**T650, "prepaid_mb": 1000}, "2026-01-01", "10000", "0",
     [("2026-01-10 10:00", _traffic("2026-01-10", 100)), ("2026-01-16 00:00", _staff_block)], "314.52"),
    (20, "monthly", T650, "2026-01-01", "10000", "0", [("2026-01-16 00:00", _staff_block)], "650.00"),
    (21, "daily", {**T650, "rent_user_blocked": "50.00"}, "2026-01-01", "10000", "0",
     [("2026-01-21 00:00", _user_block)], "437.09"),
]


@pytest.mark.parametrize("row,scheme,fields,first,payment,credit,events,expected", MONTHS,
                         ids=[f"row{m[0]}-{m[1]}" for m in MONTHS])
def test_worked_month(app, row, scheme, fields, first, payment, credit, events, expected):
    first_day = dt.date.fromisoformat(first)
    last_day = _next_month(first_day)
    with travel(f"{first} 00:00") as t:
        ctx = {"tariff": make_tariff(scheme=scheme, **fields),
               "daily310": make_tariff(scheme="daily", rent="310.00", rent_blocked="0"),
               "monthly310": make_tariff(scheme="monthly", rent="310.00", rent_blocked="0")}
        ctx["agreement"] = make_agreement(credit_limit=credit)
        if payment:
            post_payment(ctx["agreement"], payment, "first", actor=ACTOR)
        ctx["account"] = make_account(ctx["agreement"], tariff=ctx["tariff"])
        simulate(t, first, str(last_day), [(when, (lambda a=action: a(ctx))) for when, action in events])
    month_first = str(first_day.replace(day=1))
    month_last = str(last_day - dt.timedelta(days=1))
    assert charged(ctx["account"], first=month_first, last=month_last) == Decimal(expected)
    # nothing of the next month is mixed in, and the ledger explains the balance
    assert not LedgerEntry.select().where(
        (LedgerEntry.account_id == ctx["account"].id) & (LedgerEntry.period_start > last_day)).exists()


def test_catch_up_gives_the_same_as_punctual_runs(app):
    """Row 22: the bill runs on the 1st and then only on the 1st of the next
    month; each missed day is billed with its own period and its state at
    00:00 from the history."""
    with travel("2026-01-01 00:00") as t:
        tariff = make_tariff(scheme="dynamic", **T650)
        agreement = make_agreement()
        post_payment(agreement, "10000", "first", actor=ACTOR)
        account = make_account(agreement, tariff=tariff)
        ctx = {"account": account}
        simulate(t, "2026-01-01", "2026-01-01")
        t.move_to(local("2026-01-16 00:00"))
        _staff_block(ctx)
        simulate(t, "2026-02-01", "2026-02-01")
    assert charged(account, first="2026-01-01", last="2026-01-31") == Decimal("314.52")
    corrections = LedgerEntry.select().where(
        (LedgerEntry.account_id == account.id) & (LedgerEntry.kind == "rent_correction"))
    assert sorted(e.period_start.day for e in corrections) == list(range(16, 32))


def test_run_twice_charges_once(app):
    with travel("2026-01-01 00:00") as t:
        tariff = make_tariff(scheme="daily", **T650)
        agreement = make_agreement()
        post_payment(agreement, "10000", "first", actor=ACTOR)
        account = make_account(agreement, tariff=tariff)
        simulate(t, "2026-01-01", "2026-01-05")
        simulate(t, "2026-01-05", "2026-01-05")
        t.move_to(local("2026-01-05 13:00"))
        from lanbill.billing.run import run_due

        run_due()
    assert charged(account) == Decimal("104.84")  # round(650·5/31)


def test_state_at_answers_from_history(app):
    with travel("2026-01-01 00:00") as t:
        account = make_account()
        t.move_to(local("2026-01-10 15:00"))
        blocks.block_by_staff(account, actor=ACTOR, reason="x")
        t.move_to(local("2026-01-12 09:00"))
        blocks.unblock_by_staff(account, actor=ACTOR)
    from lanbill.clock import midnight_utc

    fresh = Account.get_by_id(account.id)
    states = [blocks.state_at(fresh, midnight_utc(dt.date(2026, 1, d))) for d in (10, 11, 12, 13)]
    assert states == ["active", "admin", "admin", "active"]

"""Volume charging (lanbill.billing.usage): prices per category beyond the
prepaid volume, cumulative rounding per period, idempotency, the
traffic-limit block, and the prepaid volume shrinking with blocked days."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import time_machine

from lanbill.billing import blocks, usage
from lanbill.clock import midnight_utc
from lanbill.models import Account, Agreement, LedgerEntry, TrafficHourly
from lanbill.network import traffic_categories
from tests.factories import ACTOR, make_account, make_agent, make_tariff

MB = 1_048_576
DAY = dt.date(2026, 1, 20)


def category(tariff, name, networks="", price_in="0", price_out="0", prepaid=True):
    return traffic_categories.create_category(tariff.id, {"name": name, "networks": networks, "price_in_mb": price_in,
                                                        "price_out_mb": price_out, "prepaid": prepaid}, actor=ACTOR)


def traffic(account, category_id, bytes_in, bytes_out=0, day=dt.date(2026, 1, 5), hour=10):
    at = midnight_utc(day) + dt.timedelta(hours=hour)
    TrafficHourly.create(account_id=account.id, category_id=category_id, hour=at, bytes_in=bytes_in,
                         bytes_out=bytes_out)


def volume_entries(account):
    return [e.amount for e in LedgerEntry.select().where((LedgerEntry.account_id == account.id)
                                                         & (LedgerEntry.kind == "volume")).order_by(LedgerEntry.id)]


def setup_account(ip="10.0.0.5/32", **tariff_fields):
    with time_machine.travel(dt.datetime(2026, 1, 1, 0, 0, 1, tzinfo=dt.UTC), tick=False):
        tariff = make_tariff(rent="0", **tariff_fields)
        account = make_account(tariff=tariff, agent=make_agent(type="netflow"), ips=[ip],
                               connect_date="2025-12-01")
    return tariff, account


def test_price_per_mb_in_and_out_without_prepaid(app):
    tariff, account = setup_account()
    internet = category(tariff, "Internet", price_in="1.00", price_out="0.50")
    traffic(account, internet.id, 3 * MB, 2 * MB)
    assert usage.charge_volume(account, DAY, actor=ACTOR) == Decimal("4.00")
    assert volume_entries(account) == [Decimal("-4.00")]
    assert Agreement.get_by_id(account.agreement_id).balance == Decimal("-4.00")


def test_exactly_at_the_prepaid_limit_is_free_and_one_byte_over_is_charged(app):
    tariff, account = setup_account(prepaid_mb=10)
    # a price of 1 048 576.00 per MB makes one byte cost exactly 1.00
    internet = category(tariff, "Internet", price_in="1048576.00", prepaid=True)
    traffic(account, internet.id, 10 * MB)
    assert usage.volume_cost(account, DAY).amount == Decimal("0.00")
    assert usage.charge_volume(account, DAY, actor=ACTOR) == Decimal("0.00")
    traffic(account, internet.id, 1, hour=11)
    cost = usage.volume_cost(account, DAY)
    assert (cost.charged_bytes, cost.amount) == (1, Decimal("1.00"))
    assert usage.charge_volume(account, DAY, actor=ACTOR) == Decimal("1.00")


def test_prepaid_volume_is_used_in_time_order_across_categories(app):
    tariff, account = setup_account(prepaid_mb=1)
    cheap = category(tariff, "Cheap", networks="192.168.0.0/16", price_in="1.00")
    dear = category(tariff, "Dear", price_in="10.00")
    traffic(account, dear.id, MB // 2, hour=1)  # first: free
    traffic(account, cheap.id, MB, hour=2)  # half free, half at 1.00
    traffic(account, dear.id, MB // 4, hour=3)  # all at 10.00
    assert usage.volume_cost(account, DAY).amount == Decimal("0.50") + Decimal("2.50")


def test_non_prepaid_category_does_not_use_the_prepaid_volume(app):
    tariff, account = setup_account(prepaid_mb=1)
    local = category(tariff, "Peering", networks="192.168.0.0/16", price_in="0.00", prepaid=False)
    internet = category(tariff, "Internet", price_in="2.00", prepaid=True)
    traffic(account, local.id, 50 * MB)
    traffic(account, internet.id, 2 * MB)
    cost = usage.volume_cost(account, DAY)
    assert (cost.prepaid_used, cost.amount) == (2 * MB, Decimal("2.00"))


def test_cumulative_rounding_adds_up_to_the_period_cost(app):
    tariff, account = setup_account()
    internet = category(tariff, "Internet", price_in="1.00")
    third = MB // 3  # 0.33333… each
    posted = []
    for hour in (1, 2, 3):
        traffic(account, internet.id, third + (1 if hour == 3 else 0), hour=hour)
        posted.append(usage.charge_volume(account, DAY, actor=ACTOR))
    assert posted == [Decimal("0.33"), Decimal("0.34"), Decimal("0.33")]
    assert sum(volume_entries(account)) == Decimal("-1.00")


def test_charging_twice_posts_once(app):
    tariff, account = setup_account()
    internet = category(tariff, "Internet", price_in="1.00")
    traffic(account, internet.id, 5 * MB)
    usage.charge_volume(account, DAY, actor=ACTOR)
    assert usage.charge_volume(account, DAY, actor=ACTOR) == Decimal("0.00")
    assert volume_entries(account) == [Decimal("-5.00")]


def test_rows_without_category_are_priced_by_the_catch_all_category(app):
    tariff, account = setup_account()
    category(tariff, "Peering", networks="192.168.0.0/16", price_in="5.00")
    category(tariff, "Internet", price_in="1.00", price_out="1.00")
    traffic(account, None, MB, MB)  # RADIUS accounting volume
    assert usage.volume_cost(account, DAY).amount == Decimal("2.00")


def test_traffic_limit_block_when_used_up_and_lifted_next_month(app):
    tariff, account = setup_account(traffic_limit_mb=1)
    internet = category(tariff, "Internet")
    traffic(account, internet.id, MB - 1)
    assert usage.enforce_traffic_limit(account, DAY, actor=ACTOR) is None
    assert Account.get_by_id(account.id).state == "active"
    traffic(account, internet.id, 1, hour=11)
    assert usage.enforce_traffic_limit(account, DAY, actor=ACTOR) is True
    assert Account.get_by_id(account.id).state == "traffic"
    assert usage.enforce_traffic_limit(account, dt.date(2026, 2, 1), actor=ACTOR) is False
    assert Account.get_by_id(account.id).state == "active"


def test_charge_all_charges_every_account_with_traffic(app):
    tariff, account = setup_account(traffic_limit_mb=1)
    internet = category(tariff, "Internet", price_in="1.00")
    traffic(account, internet.id, 3 * MB)
    with time_machine.travel(dt.datetime(2026, 1, 20, 12, tzinfo=dt.UTC), tick=False):
        result = usage.charge_all(DAY, actor=ACTOR)
    assert (result.accounts, result.posted, result.blocked, result.errors) == (1, Decimal("3.00"), 1, 0)


def test_prepaid_volume_shrinks_with_blocked_days(app):
    tariff, account = setup_account(prepaid_mb=31, scheme="daily")
    internet = category(tariff, "Internet", price_in="1.00", prepaid=True)
    # blocked by staff from 00:00 of the 11th to 00:00 of the 21st: 10 blocked days of 31
    with time_machine.travel(dt.datetime(2026, 1, 10, 21, 0, tzinfo=dt.UTC), tick=False):  # 00:00 MSK, 11th
        blocks.block_by_staff(account, actor=ACTOR, reason="test")
    with time_machine.travel(dt.datetime(2026, 1, 20, 21, 0, tzinfo=dt.UTC), tick=False):
        blocks.unblock_by_staff(account, actor=ACTOR)
    traffic(account, internet.id, 22 * MB, day=dt.date(2026, 1, 25))
    cost = usage.volume_cost(account, dt.date(2026, 1, 31))
    assert cost.prepaid_bytes == 21 * MB
    assert cost.amount == Decimal("1.00")


def test_tariff_in_another_currency_is_converted_at_the_days_rate(app):
    from lanbill.billing.currency import set_rate

    tariff, account = setup_account(currency="USD")
    internet = category(tariff, "Internet", price_in="1.50")
    set_rate("USD", dt.date(2026, 1, 1), "90.5", actor=ACTOR)
    traffic(account, internet.id, 2 * MB)
    assert usage.charge_volume(account, DAY, actor=ACTOR) == Decimal("3.00")  # in the tariff's currency
    entry = LedgerEntry.get((LedgerEntry.account_id == account.id) & (LedgerEntry.kind == "volume"))
    assert (entry.amount, entry.original_amount, entry.original_currency) == (Decimal("-271.50"), Decimal("-3.00"),
                                                                             "USD")
    traffic(account, internet.id, MB, hour=11)
    assert usage.charge_volume(account, DAY, actor=ACTOR) == Decimal("1.50")
    assert usage.charge_volume(account, DAY, actor=ACTOR) == Decimal("0.00")


def test_incremental_run_looks_only_at_accounts_whose_traffic_grew(app):
    tariff, account = setup_account()
    internet = category(tariff, "Internet", price_in="1.00")
    _, quiet = setup_account(ip="10.0.0.6/32")
    with time_machine.travel(dt.datetime(2026, 1, 20, 7, 0, tzinfo=dt.UTC), tick=False):
        traffic(quiet, None, MB, day=dt.date(2026, 1, 19))
    with time_machine.travel(dt.datetime(2026, 1, 20, 10, 0, tzinfo=dt.UTC), tick=False):
        traffic(account, internet.id, MB, day=dt.date(2026, 1, 19))
    with time_machine.travel(dt.datetime(2026, 1, 20, 10, 1, tzinfo=dt.UTC), tick=False):
        first = usage.charge_recent(actor=ACTOR)  # no checkpoint yet: everyone
    with time_machine.travel(dt.datetime(2026, 1, 20, 10, 30, tzinfo=dt.UTC), tick=False):
        traffic(account, internet.id, MB, day=dt.date(2026, 1, 19), hour=11)
        second = usage.charge_recent(actor=ACTOR)
    with time_machine.travel(dt.datetime(2026, 1, 20, 11, 0, tzinfo=dt.UTC), tick=False):
        third = usage.charge_recent(actor=ACTOR)  # 10:30's rows are within the safety margin: looked at again
    with time_machine.travel(dt.datetime(2026, 1, 20, 11, 30, tzinfo=dt.UTC), tick=False):
        fourth = usage.charge_recent(actor=ACTOR)
    assert (first.accounts, first.posted) == (2, Decimal("1.00"))
    assert (second.accounts, second.posted) == (1, Decimal("1.00"))
    assert (third.accounts, third.posted) == (1, Decimal("0.00"))
    assert fourth.accounts == 0

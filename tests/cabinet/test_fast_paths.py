"""What the cabinet's fast paths must keep: prepared selects answer exactly
as the Peewee queries they stand for; the forecast summed a month stretch
at a time is the day-by-day rule to the day; a page's texts follow the
chosen language; a login naming nobody costs the same argon2 check as a
real one (the dummy hash has the hasher's own cost)."""

from __future__ import annotations

import datetime as dt
import random
import time
from decimal import Decimal

import argon2
import pytest
from flask import g

from lanbill.billing import blocks, payments, tariff_schedule
from lanbill.billing.periods import cumulative, days_in_month, month_start
from lanbill.billing.rent import tariff_rates
from lanbill.clock import local_date_of, midnight_utc
from lanbill.customers import cabinet
from lanbill.db import Prepared, slot
from lanbill.models import Account, Agreement, Payment, Tariff
from lanbill.staff import managers
from tests.cabinet.helpers import PASSWORD, log_in, make_cabinet_subscriber, text_of
from tests.factories import ACTOR, make_account, make_agreement, make_subscriber, make_tariff

pytestmark = pytest.mark.usefixtures("app")
DAY = dt.date(2026, 3, 10)


# --- prepared selects -----------------------------------------------------------------


def test_a_prepared_select_answers_as_its_query_for_every_value():
    """Joined models come back joined, datetimes are compared as the field
    stores them, an empty first answer does not spoil the later ones, and
    each call has its own values."""
    by_agreement = Prepared(lambda: Payment.select().where(
        (Payment.agreement == slot("agreement")) & (Payment.paid_at >= slot("start", Payment.paid_at))
    ).order_by(Payment.id))
    with_tariff = Prepared(lambda: Account.select(Account, Tariff).join(Tariff)
                           .where(Account.agreement == slot("agreement")).order_by(Account.id))
    empty, full = make_agreement(), make_agreement()
    tariff = make_tariff(name="Prepared 100")
    for n in range(3):
        make_account(full, tariff=tariff, login=f"prep-{n}")
        payments.post_payment(full, Decimal("10.00") + n, f"P-{n}", actor=ACTOR,
                              paid_at=dt.datetime(2026, 1, 10 + n, 12, 0))
    start = dt.datetime(2026, 1, 11)
    assert by_agreement(agreement=empty.id, start=start) == []
    for _ in range(2):  # the second call reuses the first one's row layout
        rows = by_agreement(agreement=full.id, start=start)
        expected = list(Payment.select().where((Payment.agreement == full.id) & (Payment.paid_at >= start))
                        .order_by(Payment.id))
        assert [(p.id, p.amount, p.paid_at) for p in rows] == [(p.id, p.amount, p.paid_at) for p in expected]
        assert [p.amount for p in rows] == [Decimal("11.00"), Decimal("12.00")]
    accounts = with_tariff(agreement=full.id)
    assert [a.login for a in accounts] == ["prep-0", "prep-1", "prep-2"]
    assert {a.tariff.name for a in accounts} == {"Prepared 100"}
    assert with_tariff(agreement=empty.id) == []
    assert with_tariff.first(agreement=full.id).login == "prep-0"


def test_the_cabinet_lists_never_carry_the_internet_password():
    subscriber, agreement, account = make_cabinet_subscriber()
    listed = cabinet.own_accounts(subscriber)
    assert [a.id for a in listed] == [account.id]
    assert listed[0].password is None and listed[0].tariff.name
    assert cabinet.own_account(subscriber, account.id).password  # the one-account look-up has it


# --- the forecast ---------------------------------------------------------------------


def _day_by_day(agreement, day, plans_of):
    """The rule of balance_lasts_until walked one day at a time (how it
    was first written): the reference the stretch-wise sums must match."""
    funds = blocks.available_funds(agreement)
    if funds < 0:
        return cabinet.Forecast(exhausted=True)
    plans = plans_of
    if not any(rate for plan in plans for _, _, rate in plan):
        return cabinet.Forecast(unlimited=True)
    spent = Decimal(0)
    current = day + dt.timedelta(days=1)
    horizon = month_start(day).replace(year=day.year + cabinet.FORECAST_MONTHS // 12)
    while current < horizon:
        for plan in plans:
            _, scheme, rate = [p for p in plan if p[0] <= current][-1]
            if not rate:
                continue
            if scheme == "daily":
                month_days = days_in_month(current)
                spent += cumulative(rate, current.day, month_days) - cumulative(rate, current.day - 1, month_days)
            elif current.day == 1:
                spent += rate
        if spent > funds:
            return cabinet.Forecast(until=current - dt.timedelta(days=1))
        current += dt.timedelta(days=1)
    return cabinet.Forecast(unlimited=True)


def _plans(agreement):
    out = []
    for account in Account.select().where((Account.agreement == agreement.id) & (Account.deleted == False)):  # noqa: E712
        state = "off" if account.is_off else ("active" if account.state == "balance" else account.state)
        plan = [(dt.date.min, account.tariff.scheme, Decimal(tariff_rates(account.tariff)[state]))]
        for change in cabinet._pending_changes([account.id]).get(account.id, []):
            plan.append((local_date_of(change.at), change.tariff.scheme, Decimal(tariff_rates(change.tariff)[state])))
        if account.disconnect_date:
            plan.append((account.disconnect_date, "daily", Decimal(0)))
        out.append(sorted(plan, key=lambda step: step[0]))
    return out


def test_the_forecast_by_stretches_is_the_day_by_day_rule():
    """Daily and monthly tariffs side by side, a planned change in the
    middle of a month, a disconnection date, funds from a few kopecks to
    more than the horizon: the same last day every time."""
    rng = random.Random(7)
    agreement = make_agreement()
    daily = make_account(agreement, tariff=make_tariff(scheme="daily", rent="317.00"))
    monthly = make_account(agreement, tariff=make_tariff(scheme="monthly", rent="450.00"))
    change = tariff_schedule.plan_change(daily, make_tariff(scheme="daily", rent="95.50"), "2099-01-01",
                                         actor=ACTOR)
    change.at = midnight_utc(dt.date(2026, 5, 17))
    change.save()
    Account.update(disconnect_date=dt.date(2027, 2, 11)).where(Account.id == monthly.id).execute()
    amounts = ["0.00", "0.01", "10.22", "449.99", "450.00", "1234.56", "5000.00", "99999.00"]
    amounts += [f"{rng.randint(0, 2_000_000) / 100:.2f}" for _ in range(12)]
    for amount in dict.fromkeys(amounts):
        if Agreement.get_by_id(agreement.id).balance != Decimal(amount):
            payments.set_balance_to(agreement, amount, "DOC-F", actor=ACTOR)
        fresh = Agreement.get_by_id(agreement.id)
        for day in (DAY, dt.date(2026, 2, 28), dt.date(2026, 12, 31)):
            assert cabinet.balance_lasts_until(fresh, day=day) == _day_by_day(fresh, day, _plans(fresh)), (amount, day)


# --- texts in the page's language ------------------------------------------------------


def _new_request_locale():
    # The tests share one application context between requests, and Babel
    # keeps the locale it chose in its `g`; a real request starts without.
    g.pop("_flask_babel", None)


def test_page_texts_and_menu_follow_the_chosen_language(client):
    subscriber, agreement, account = make_cabinet_subscriber()
    log_in(client, agreement.number)
    russian = text_of(client.get("/"))
    assert "Работает" in russian and ">Платежи<" in russian and "Баланс" in russian
    client.set_cookie("lang", "en")
    _new_request_locale()
    english = text_of(client.get("/"))
    assert "Working" in english and ">Payments<" in english and "Balance" in english
    assert "Работает" not in english
    client.set_cookie("lang", "ru")
    _new_request_locale()
    assert ">Платежи<" in text_of(client.get("/payments"))


# --- logins cost one argon2 check, whoever they name -----------------------------------


def test_the_dummy_hash_has_the_hashers_cost_and_matches_nothing():
    assert argon2.extract_parameters(managers.DUMMY_HASH) == argon2.extract_parameters(
        managers.hash_password("anything-1"))
    assert not managers.verify_password(managers.DUMMY_HASH, "anything-1")
    assert not managers.verify_password(managers.DUMMY_HASH, "")


def _cpu_of(call) -> float:
    started = time.process_time()
    call()
    return time.process_time() - started


def test_an_unknown_login_costs_the_same_argon2_check_as_a_real_one():
    """The time an answer takes does not tell which logins exist (nor
    which subscribers have a cabinet password): each attempt runs one
    argon2 check at the production cost."""
    subscriber, agreement, account = make_cabinet_subscriber()
    without_password = make_agreement(make_subscriber())

    def attempt(login, password):
        def run():
            with pytest.raises(cabinet.CabinetLoginRefused):
                cabinet.authenticate(login, password, ip="192.0.2.77", free_failures=100, free_per_address=100)
        return run

    check = min(_cpu_of(lambda: managers.verify_password(managers.DUMMY_HASH, "x1-password")) for _ in range(2))
    for login in ("nobody-here", agreement.number, without_password.number):
        spent = min(_cpu_of(attempt(login, "Wrong-pass1")) for _ in range(2))
        assert spent > 0.6 * check, (login, spent, check)
    assert cabinet.authenticate(agreement.number, PASSWORD, ip="192.0.2.77").id == subscriber.id

"""The nightly notices: money running out within N days (N per group,
default 3) — the same forecast as the cabinet's "your balance lasts
until" — and tomorrow's planned tariff changes; each once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from lanbill.billing.ledger import post_entry
from lanbill.billing.tariff_schedule import plan_change
from lanbill.clock import today
from lanbill.customers.cabinet import balance_lasts_until
from lanbill.models import Agreement, Group
from lanbill.models.notify import GroupNotifyRule, OutboxMessage
from lanbill.notify import outbox
from lanbill.notify.nightly import forecast_all, low_balance, tariff_changes_tomorrow
from tests.factories import ACTOR, make_account, make_agreement, make_subscriber, make_tariff
from tests.notify.harness import confirm_contacts

DAY = dt.date(2026, 3, 10)


def _with_funds(agreement, target):
    agreement = Agreement.get_by_id(agreement.id)
    if agreement.balance != Decimal(target):
        post_entry(agreement.id, Decimal(target) - agreement.balance, "correction", actor=ACTOR, comment="test")
    return Agreement.get_by_id(agreement.id)


def _client(settings, smtp, balance, *, rent="310.00", scheme="daily", groups=(), email=None):
    subscriber = make_subscriber(groups=groups)
    agreement = make_agreement(subscriber)
    _with_funds(agreement, "10000.00")
    make_account(agreement, tariff=make_tariff(scheme=scheme, rent=rent))
    agreement = _with_funds(agreement, balance)
    if email:
        confirm_contacts(subscriber, settings, smtp=smtp, email_address=email)
    return subscriber, agreement


def test_money_running_out_within_three_days_is_told_once(app, settings, smtp, sms):
    _, short = _client(settings, smtp, "25.00", email="short@example.ru")  # 10,00 a day in March
    _, enough = _client(settings, smtp, "35.00", email="enough@example.ru")
    smtp.sink.clear()
    result = low_balance(settings, day=DAY)
    assert result == {"warned": 1, "queued": 1}
    assert low_balance(settings, day=DAY)["queued"] == 0  # the same forecast: no second message
    outbox.send_due(settings)
    [mail] = smtp.sink.to("short@example.ru")
    text = mail.get_body().get_content()
    assert "хватит до 12.03.2026" in text and "25,00" in text
    assert smtp.sink.to("enough@example.ru") == []
    assert balance_lasts_until(short, day=DAY).until == dt.date(2026, 3, 12)
    assert balance_lasts_until(enough, day=DAY).until == dt.date(2026, 3, 13)


def test_the_batch_forecast_agrees_with_the_cabinets(app, settings, smtp):
    cases = [("25.00", "daily", "310.00"), ("35.00", "daily", "310.00"), ("0.00", "daily", "310.00"),
             ("100.00", "monthly", "650.00"), ("700.00", "dynamic", "650.00"), ("5.00", "daily", "0")]
    made = [_client(settings, smtp, balance, scheme=scheme, rent=rent)[1] for balance, scheme, rent in cases]
    for day in (DAY, dt.date(2026, 3, 29), dt.date(2026, 3, 30)):
        found = forecast_all(day, {}, 3)
        for agreement in made:
            forecast = balance_lasts_until(Agreement.get_by_id(agreement.id), day=day)
            runs_out = forecast.until is not None and (forecast.until - day).days < 3
            assert (agreement.id in found) == runs_out, (agreement.balance, day)
            if runs_out:
                assert found[agreement.id] == forecast.until


def test_a_monthly_rent_due_on_the_first_is_warned_before_the_month_ends(app, settings, smtp):
    _, agreement = _client(settings, smtp, "100.00", scheme="monthly", rent="650.00")
    assert forecast_all(dt.date(2026, 3, 29), {}, 3) == {agreement.id: dt.date(2026, 3, 31)}
    assert forecast_all(dt.date(2026, 3, 27), {}, 3) == {}


def test_days_ahead_are_set_per_group_and_zero_switches_the_warning_off(app, settings, smtp):
    early = Group.create(name="Заранее")
    never = Group.create(name="Без предупреждений")
    GroupNotifyRule.create(group=early, low_balance_days=7)
    GroupNotifyRule.create(group=never, low_balance_days=0)
    _, seven = _client(settings, smtp, "65.00", groups=[early.id])
    _, default = _client(settings, smtp, "65.00")
    _, off = _client(settings, smtp, "15.00", groups=[never.id])
    from lanbill.notify.nightly import warning_days

    by_subscriber, fallback = warning_days(3)
    found = forecast_all(DAY, by_subscriber, fallback)
    assert found == {seven.id: dt.date(2026, 3, 16)}
    assert default.id not in found and off.id not in found


def test_funds_already_below_zero_get_no_warning(app, settings, smtp):
    _, agreement = _client(settings, smtp, "-5.00")
    assert forecast_all(DAY, {}, 3) == {}


def test_a_tariff_change_tomorrow_is_told_once(app, settings, smtp):
    subscriber = make_subscriber()
    agreement = make_agreement(subscriber)
    _with_funds(agreement, "5000.00")
    account = make_account(agreement, tariff=make_tariff(name="Базовый", scheme="daily", rent="310.00"))
    confirm_contacts(subscriber, settings, smtp=smtp, email_address="tariff@example.ru")
    smtp.sink.clear()
    tomorrow = today() + dt.timedelta(days=1)
    plan_change(account, make_tariff(name="Быстрый", scheme="daily", rent="500.00"), tomorrow, actor=ACTOR)
    plan_change(make_account(agreement), make_tariff(), tomorrow + dt.timedelta(days=1), actor=ACTOR)  # not tomorrow
    assert tariff_changes_tomorrow(day=today()) == {"changes": 1, "queued": 1}
    assert tariff_changes_tomorrow(day=today())["queued"] == 0
    outbox.send_due(settings)
    [mail] = smtp.sink.to("tariff@example.ru")
    text = mail.get_body().get_content()
    assert "«Базовый»" in text and "«Быстрый»" in text and tomorrow.strftime("%d.%m.%Y") in text


def test_flask_outbox_nightly(app, runner, settings, smtp):
    _client(settings, smtp, "25.00", email="cli@example.ru")
    result = runner.invoke(args=["outbox", "nightly", "--date", DAY.isoformat()])
    assert result.exit_code == 0, result.output
    assert "'warned': 1" in result.output
    assert OutboxMessage.select().where(OutboxMessage.event == "low_balance").count() == 1


def test_a_planned_change_to_a_dearer_tariff_is_foreseen(app, settings, smtp):
    subscriber = make_subscriber()
    agreement = make_agreement(subscriber)
    _with_funds(agreement, "1000.00")
    account = make_account(agreement, tariff=make_tariff(scheme="daily", rent="0"))
    _with_funds(agreement, "150.00")
    day = today()
    plan_change(account, make_tariff(scheme="daily", rent="9300.00"), day + dt.timedelta(days=1), actor=ACTOR)
    found = forecast_all(day, {}, 3)
    forecast = balance_lasts_until(Agreement.get_by_id(agreement.id), day=day)
    assert found == {agreement.id: forecast.until}


def test_a_tariff_in_another_currency_is_converted(app, settings, smtp):
    from lanbill.billing.currency import set_rate
    from lanbill.models import Currency

    usd = Currency.get(Currency.code == "USD")
    set_rate(usd.id, DAY, "90", actor=ACTOR)
    subscriber = make_subscriber()
    agreement = make_agreement(subscriber)
    _with_funds(agreement, "1000.00")
    make_account(agreement, tariff=make_tariff(scheme="daily", rent="31.00", currency="USD"))
    agreement = _with_funds(agreement, "250.00")  # 90,00 a day in March at 90 ₽ per dollar
    assert forecast_all(DAY, {}, 3) == {agreement.id: dt.date(2026, 3, 12)}
    assert balance_lasts_until(agreement, day=DAY).until == dt.date(2026, 3, 12)

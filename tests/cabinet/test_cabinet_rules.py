"""The cabinet's domain rules (lanbill/customers/cabinet.py): "at the
current tariff your balance lasts until", what belongs to the subscriber,
the Internet password rules, generated passwords."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from lanbill.billing import blocks, payments, tariff_schedule
from lanbill.clock import midnight_utc
from lanbill.customers import cabinet
from lanbill.errors import NotFound, ValidationError
from lanbill.models import Agreement
from lanbill.staff.managers import password_problem
from tests.factories import ACTOR, make_account, make_agreement, make_subscriber, make_tariff

pytestmark = pytest.mark.usefixtures("app")
DAY = dt.date(2026, 3, 10)  # March: 31 days


def _funds(agreement, amount: str) -> Agreement:
    """Make the agreement's available funds exactly `amount`."""
    payments.set_balance_to(agreement, amount, "DOC-1", actor=ACTOR)
    return Agreement.get_by_id(agreement.id)


def test_daily_tariff_lasts_day_by_day():
    """310 a month in March is 10.00 a day: 100.00 pays the 11th–20th."""
    agreement = make_agreement()
    make_account(agreement, tariff=make_tariff(scheme="daily", rent="310.00"))
    forecast = cabinet.balance_lasts_until(_funds(agreement, "100.00"), day=DAY)
    assert forecast.until == dt.date(2026, 3, 20)
    assert not forecast.exhausted and not forecast.unlimited


def test_monthly_and_dynamic_tariffs_take_the_whole_month_on_the_first():
    """650 paid in advance each 1st: 650.00 pays April, not May."""
    for scheme in ("dynamic", "monthly"):
        agreement = make_agreement()
        make_account(agreement, tariff=make_tariff(scheme=scheme, rent="650.00"))
        forecast = cabinet.balance_lasts_until(_funds(agreement, "650.00"), day=DAY)
        assert forecast.until == dt.date(2026, 4, 30), scheme
        short = cabinet.balance_lasts_until(_funds(agreement, "649.99"), day=DAY)
        assert short.until == dt.date(2026, 3, 31), scheme


def test_credit_and_promised_payment_count_as_funds():
    agreement = make_agreement(credit_limit="50.00")
    make_account(agreement, tariff=make_tariff(scheme="daily", rent="310.00"))
    agreement = _funds(agreement, "50.00")
    assert blocks.available_funds(agreement) == Decimal("100.00")
    assert cabinet.balance_lasts_until(agreement, day=DAY).until == dt.date(2026, 3, 20)


def test_funds_below_zero_are_exhausted_and_nothing_charged_is_unlimited():
    agreement = make_agreement()
    make_account(agreement, tariff=make_tariff(scheme="daily", rent="310.00"))
    assert cabinet.balance_lasts_until(_funds(agreement, "-1.00"), day=DAY).exhausted
    free = make_agreement()
    make_account(free, tariff=make_tariff(scheme="daily", rent="0"))
    assert cabinet.balance_lasts_until(_funds(free, "10.00"), day=DAY).unlimited


def test_the_state_sets_the_rate():
    """User-blocked: Ru (here 0, so nothing is charged); a balance block is
    counted as active, since paying lifts it."""
    agreement = make_agreement()
    account = make_account(agreement, tariff=make_tariff(scheme="daily", rent="310.00", rent_user_blocked="0"))
    blocks.set_user_block(account, True, actor=ACTOR)
    assert cabinet.balance_lasts_until(_funds(agreement, "100.00"), day=DAY).unlimited
    blocks.set_flag(account, "balance", True, actor=ACTOR)
    assert cabinet.balance_lasts_until(Agreement.get_by_id(agreement.id), day=DAY).until == dt.date(2026, 3, 20)


def test_a_planned_tariff_change_counts_from_its_date():
    agreement = make_agreement()
    account = make_account(agreement, tariff=make_tariff(scheme="daily", rent="310.00"))
    cheaper = make_tariff(scheme="daily", rent="0")
    change = tariff_schedule.plan_change(account, cheaper, "2099-01-01", actor=ACTOR)
    change.at = midnight_utc(dt.date(2026, 3, 16))
    change.save()
    # 10.00 a day for the 11th–15th, then nothing: 60.00 lasts
    assert cabinet.balance_lasts_until(_funds(agreement, "60.00"), day=DAY).unlimited
    assert cabinet.balance_lasts_until(_funds(agreement, "40.00"), day=DAY).until == dt.date(2026, 3, 14)


def test_someone_elses_agreement_and_account_are_not_found():
    mine = make_subscriber()
    other_account = make_account()
    with pytest.raises(NotFound):
        cabinet.own_account(mine, other_account.id)
    with pytest.raises(NotFound):
        cabinet.own_agreement(mine, other_account.agreement_id)
    with pytest.raises(NotFound):
        cabinet.own_account(mine, "1 or 1=1")
    with pytest.raises(NotFound):
        cabinet.set_user_block(mine, other_account.id, True, actor=ACTOR)
    assert not other_account.blocked_user


@pytest.mark.parametrize("password", ["", "short", "with space1", "пароль-123", "x" * 129])
def test_internet_password_rules_refuse_bad_ones(password):
    assert cabinet.service_password_problem(password) is not None


def test_internet_password_change_goes_through_the_account_records():
    account = make_account()
    subscriber = account.subscriber
    with pytest.raises(ValidationError):
        cabinet.change_service_password(subscriber, account.id, "", "", actor=ACTOR)
    with pytest.raises(ValidationError):
        cabinet.change_service_password(subscriber, account.id, "new-pass-1", "new-pass-2", actor=ACTOR)
    assert type(account).get_by_id(account.id).password == "pw-123456"
    cabinet.change_service_password(subscriber, account.id, "new-pass-1", "new-pass-1", actor=ACTOR)
    assert type(account).get_by_id(account.id).password == "new-pass-1"


def test_generated_passwords_follow_the_rules_and_differ():
    seen = {cabinet.generate_password() for _ in range(20)}
    assert len(seen) == 20
    assert all(password_problem(p) is None and len(p) == 10 for p in seen)
    assert not any(ch in p for p in seen for ch in "0O1lI")

"""Cabinet pages through what they render (seed 002 «Приложение 1»): the
home page's figures, the histories for a period, the user block, the
Internet and cabinet passwords, the promised payment, traffic statistics
with CSV — each scoped to the logged-in subscriber."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from lanbill import clock
from lanbill.billing import payments, tariff_schedule
from lanbill.clock import midnight_utc
from lanbill.customers import agreements as agreement_records
from lanbill.models import Account, AccountStateChange, Agreement, Group, SubscriberGroup, TrafficHourly
from lanbill.network import traffic_categories
from tests.admin_helpers import ru
from tests.cabinet.helpers import PASSWORD, log_in, make_cabinet_subscriber, submit, text_of
from tests.factories import ACTOR, make_account, make_tariff, table_counts

MB = 1024 * 1024


@pytest.fixture
def me(client):
    subscriber, agreement, account = make_cabinet_subscriber(name="Сидорова Анна")
    log_in(client, agreement.number)
    return subscriber, agreement, account


def test_home_shows_the_figures_of_seed_002(client, me):
    subscriber, agreement, account = me
    payments.post_payment(agreement, "1000.00", "PP-1", actor=ACTOR)
    agreement_records.set_credit_limit(agreement, "200.00", actor=ACTOR)
    next_tariff = make_tariff(name="Быстрый 100")
    tariff_schedule.plan_change(account, next_tariff, "2099-02-01", actor=ACTOR)
    balance = Agreement.get_by_id(agreement.id).balance
    page = text_of(client.get("/"))
    assert "Сидорова Анна" in page
    assert agreement.number in page
    assert 'id="server-time"' in page
    assert account.login in page and account.tariff.name in page
    assert "Быстрый 100" in page and "01.02.2099" in page
    assert ru("Working") in page
    assert format_rub(balance) in page
    assert format_rub(balance + 200) in page  # available funds include the credit
    assert "По текущему тарифу средств хватит до" in page


def format_rub(value) -> str:
    from lanbill.money import format_money

    return format_money(value)


def test_someone_elses_ids_answer_404(client, me):
    other = make_account()
    assert client.get(f"/payments?agreement={other.agreement_id}").status_code == 404
    assert client.get(f"/charges?agreement={other.agreement_id}").status_code == 404
    assert client.get(f"/blocks?account={other.id}").status_code == 404
    assert client.get(f"/accounts/{other.id}/password").status_code == 404
    assert client.post(f"/accounts/{other.id}/password", data={"password": "x-123456", "repeat": "x-123456"}
                       ).status_code == 404
    assert client.post(f"/accounts/{other.id}/block", data={"value": "on"}).status_code == 404
    assert client.get(f"/agreements/{other.agreement_id}/promise").status_code == 404
    assert client.get(f"/traffic/{other.id}").status_code == 404
    assert client.get(f"/traffic/{other.id}?format=csv").status_code == 404
    assert not Account.get_by_id(other.id).blocked_user
    assert Account.get_by_id(other.id).password == "pw-123456"


def test_payment_history_for_a_chosen_period(client, me):
    _, agreement, _ = me
    payments.post_payment(agreement, "300.00", "PP-OLD", actor=ACTOR, paid_at="2026-01-15")
    payments.post_payment(agreement, "500.00", "PP-NEW", actor=ACTOR, paid_at="2026-02-10")
    page = text_of(client.get("/payments?from=2026-02-01&to=2026-02-28"))
    assert "PP-NEW" in page and "PP-OLD" not in page
    wide = text_of(client.get("/payments?from=2026-01-01&to=2026-02-28"))
    assert "PP-NEW" in wide and "PP-OLD" in wide
    bad = text_of(client.get("/payments?from=2026-03-01&to=2026-02-01"))
    assert ru("The period ends before it starts.") in bad
    assert text_of(client.get("/payments?from=garbage")).count(ru("Not a date.")) == 1


def test_charge_history_shows_the_monthly_fee(client, me):
    _, agreement, _ = me
    from lanbill.billing.ledger import post_entry

    post_entry(agreement, "-650.00", "rent", actor=ACTOR, period_start=dt.date(2026, 2, 1),
               period_end=dt.date(2026, 2, 28))
    today = clock.today()
    page = text_of(client.get(f"/charges?from={(today - dt.timedelta(days=3)).isoformat()}&to={today.isoformat()}"))
    assert ru("Monthly fee") in page
    assert "650,00" in page


def test_user_block_on_and_off_through_the_home_page(client, me):
    subscriber, agreement, account = me
    response = submit(client, "/", {}, action=f"/accounts/{account.id}/block")
    assert response.status_code == 302
    fresh = Account.get_by_id(account.id)
    assert fresh.blocked_user and fresh.state == "user"
    change = AccountStateChange.select().where(AccountStateChange.account == account.id).order_by(
        AccountStateChange.id.desc()).first()
    assert change.actor == f"subscriber:{subscriber.id}" and change.flag == "user"
    page = text_of(client.get("/"))
    assert ru("Blocked at your request") in page
    assert ru("Lift my block") in page
    history = text_of(client.get(f"/blocks?account={account.id}"))
    assert ru("Blocked at your request") in history
    submit(client, "/", {}, action=f"/accounts/{account.id}/block")
    assert Account.get_by_id(account.id).state == "active"


def test_a_forged_block_value_changes_nothing(client, me):
    _, _, account = me
    before = table_counts()
    response = client.post(f"/accounts/{account.id}/block", data={"value": "maybe"})
    assert response.status_code == 302
    assert ru("The request was not understood; nothing is changed.") in text_of(client.get("/"))
    assert table_counts() == before


def test_internet_password_change_through_its_form(client, me):
    _, _, account = me
    url = f"/accounts/{account.id}/password"
    before = table_counts()
    empty = submit(client, url, {"password": "", "repeat": ""})
    assert empty.status_code == 422 and ru("Enter a password.") in text_of(empty)
    mismatch = submit(client, url, {"password": "new-pass-1", "repeat": "new-pass-2"})
    assert mismatch.status_code == 422 and ru("The passwords do not match.") in text_of(mismatch)
    cyrillic = submit(client, url, {"password": "пароль-123", "repeat": "пароль-123"})
    assert cyrillic.status_code == 422
    assert ru("Latin letters, digits and symbols only, without spaces.") in text_of(cyrillic)
    assert table_counts() == before
    done = submit(client, url, {"password": "new-pass-1", "repeat": "new-pass-1"})
    assert done.status_code == 302
    assert Account.get_by_id(account.id).password == "new-pass-1"


def test_cabinet_password_change_asks_for_the_current_one(app, client, me):
    _, agreement, _ = me
    wrong = submit(client, "/settings/password", {"current": "nope-nope-1", "password": "Fresh-pass9",
                                                  "repeat": "Fresh-pass9"})
    assert wrong.status_code == 422 and ru("The current password is wrong.") in text_of(wrong)
    weak = submit(client, "/settings/password", {"current": PASSWORD, "password": "weak", "repeat": "weak"})
    assert weak.status_code == 422
    other_browser = app.test_client()
    log_in(other_browser, agreement.number)
    done = submit(client, "/settings/password", {"current": PASSWORD, "password": "Fresh-pass9",
                                                 "repeat": "Fresh-pass9"})
    assert done.status_code == 302
    assert client.get("/payments").status_code == 200  # this session stays
    assert other_browser.get("/payments").status_code == 302  # the other one ends
    log_in(app.test_client(), agreement.number, "Fresh-pass9")


def test_promised_payment_refused_in_russian_then_given_by_group_rules(client, me):
    subscriber, agreement, _ = me
    url = f"/agreements/{agreement.id}/promise"
    before = table_counts()
    refused = submit(client, url, {"amount": "100"})
    assert refused.status_code == 422
    assert ru("Promised payments are not allowed for this subscriber's groups.") in text_of(refused)
    assert table_counts() == before
    group = Group.create(name="Обещанные", promise_allowed=True, promise_max_amount="300.00", promise_days=3)
    SubscriberGroup.create(subscriber=subscriber, group=group)
    too_much = submit(client, url, {"amount": "301,00"})
    assert too_much.status_code == 422
    assert ru("A promised payment may be at most %(amount)s.", amount="300.00") in text_of(too_much)
    given = submit(client, url, {"amount": "250,50"})
    assert given.status_code == 302
    assert str(Agreement.get_by_id(agreement.id).promised_amount) == "250.50"
    again = submit(client, url, {"amount": "10"})
    assert ru("A promised payment is already open.") in text_of(again)


def test_traffic_statistics_with_totals_cost_and_csv(client):
    with time_machine.travel(dt.datetime(2026, 1, 1, 0, 0, 1, tzinfo=dt.UTC), tick=False):
        subscriber, agreement, _ = make_cabinet_subscriber()
        tariff = make_tariff(rent="0")
        account = make_account(agreement, tariff=tariff, connect_date="2025-12-01")
    internet = traffic_categories.create_category(tariff.id, {"name": "Интернет", "price_in_mb": "1.00",
                                                            "price_out_mb": "0.50"}, actor=ACTOR)
    for day, hour, bytes_in, bytes_out in [(dt.date(2026, 1, 5), 1, 2 * MB, MB), (dt.date(2026, 1, 6), 5, MB, 0)]:
        TrafficHourly.create(account_id=account.id, category_id=internet.id,
                             hour=midnight_utc(day) + dt.timedelta(hours=hour), bytes_in=bytes_in, bytes_out=bytes_out)
    log_in(client, agreement.number)
    period = "from=2026-01-01&to=2026-01-31"
    summary = text_of(client.get(f"/traffic?{period}"))
    assert account.login in summary and "3,00" in summary and "3,50" in summary
    by_day = text_of(client.get(f"/traffic/{account.id}?{period}"))
    assert "2026-01-05" in by_day and "2026-01-06" in by_day and "2,50" in by_day
    by_hour = text_of(client.get(f"/traffic/{account.id}?group=hour&{period}"))
    assert "2026-01-05 01:00" in by_hour
    by_category = text_of(client.get(f"/traffic/{account.id}?group=category&{period}"))
    assert "Интернет" in by_category
    csv = client.get(f"/traffic/{account.id}?group=day&format=csv&{period}")
    assert csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[1].startswith("2026-01-05;2,00;1,00;3,00;2,50")
    assert lines[-1].endswith(";3,50")
    assert client.get(f"/traffic/{account.id}?group=everything").status_code == 404

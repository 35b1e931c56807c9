"""The dashboard: states of subscribers and accounts, payments of today and
this month, and the SVG chart of payments and charges per day."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine

from lanbill.admin.dashboard import render_chart
from lanbill.billing import blocks, ledger, payments
from lanbill.models import Group, Manager, Role, RoleGroup
from lanbill.staff.managers import create_manager, hash_password
from tests.factories import ACTOR, make_account, make_agreement, make_subscriber

NOW = dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.UTC)  # 12:00 in Moscow


@pytest.fixture
def admin_client(client, admin, login_as):
    login_as()
    return client


def bars(page: str, kind: str) -> list[str]:
    """The days of the bars of one series in the chart."""
    return re.findall(rf'<rect class="bar {kind}" data-day="([0-9-]+)"', page)


@time_machine.travel(NOW, tick=False)
def test_chart_has_one_bar_per_day_with_money(client, admin, login_as):
    login_as()  # inside the travelled time: the session is fresh
    admin_client = client
    agreement = make_agreement()
    # Payments on three local days (two on the 18th add up to one bar), one
    # cancelled payment that must not show, one 61 days ago (outside).
    payments.post_payment(agreement, "100.00", "D-1", actor=ACTOR, paid_at=dt.date(2026, 3, 18))
    payments.post_payment(agreement, "50.00", "D-2", actor=ACTOR, paid_at=dt.datetime(2026, 3, 18, 23, 30))
    payments.post_payment(agreement, "70.00", "D-3", actor=ACTOR, paid_at=dt.date(2026, 3, 1))
    payments.post_payment(agreement, "30.00", "D-4", actor=ACTOR, paid_at=dt.date(2026, 1, 20))
    cancelled, _ = payments.post_payment(agreement, "999.00", "D-5", actor=ACTOR, paid_at=dt.date(2026, 3, 10))
    payments.cancel_payment(cancelled, actor=ACTOR, reason="mistake")
    payments.post_payment(agreement, "10.00", "D-6", actor=ACTOR, paid_at=dt.date(2026, 1, 19))  # 61 days ago
    # Charges: rent today (posted now), and a staff correction that is not a charge.
    ledger.post_entry(agreement, Decimal("-650.00"), "rent", actor=ACTOR)
    ledger.post_entry(agreement, Decimal("-5.00"), "correction", actor=ACTOR)

    response = admin_client.get("/admin/dashboard")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page[:2000]
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert sorted(bars(svg, "payment")) == ["2026-01-20", "2026-03-01", "2026-03-18"]
    assert bars(svg, "charge") == ["2026-03-20"]
    # Tooltips carry the day's sum: 100 + 50 on the 18th.
    assert "18.03: 150,00" in svg
    # Today's and this month's payments: none today, 220,00 in March (3 payments, the cancelled one excluded).
    assert re.search(r'id="payments-today">.*?0,00', page, re.S)
    month = re.search(r'id="payments-month">(.*?)</td>', page, re.S).group(1)
    assert "220,00" in month and "(3)" in month


def test_chart_with_known_series_draws_exactly_the_nonzero_days():
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(60)]
    pay = [Decimal(i % 3) for i in range(60)]  # zero on every third day
    charge = [Decimal(5)] * 60
    svg = str(render_chart(days, pay, charge))
    assert svg.count('class="bar payment"') == 40
    assert svg.count('class="bar charge"') == 60
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    # The tallest bar fills the plot: 5 is the peak, charges are all full height.
    heights = {float(h) for h in re.findall(r'class="bar charge"[^>]* height="([0-9.]+)"', svg)}
    assert heights == {200.0}


def test_empty_chart_has_no_bars():
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(60)]
    svg = str(render_chart(days, [Decimal(0)] * 60, [Decimal(0)] * 60))
    assert 'class="bar' not in svg
    assert "<svg" in svg


def test_states_count_subscribers_by_their_best_account(admin_client):
    active = make_account()
    blocked = make_account()
    blocks.block_by_staff(blocked, actor=ACTOR, reason="test")
    # A subscriber with one active and one blocked account counts as active.
    both = make_account()
    second = make_account(agreement=both.agreement)
    blocks.block_by_staff(second, actor=ACTOR, reason="test")
    make_subscriber()  # no accounts
    page = admin_client.get("/admin/dashboard").get_data(as_text=True)
    subscribers = page[page.index('id="subscriber-states"'):page.index('id="account-states"')]
    accounts = page[page.index('id="account-states"'):]
    assert re.search(r'data-state="active">2<', subscribers)
    assert re.search(r'data-state="admin">1<', subscribers)
    assert re.search(r'data-state="none">1<', subscribers)
    assert re.search(r'data-state="active">2<', accounts)
    assert re.search(r'data-state="admin">2<', accounts)
    assert active.id and "<svg" in page


def test_manager_limited_to_a_group_counts_only_its_subscribers(app, client, admin, login_as):
    group = Group.create(name="Район 1")
    make_account(agreement=make_agreement(make_subscriber(groups=[group.id])))
    make_account()
    make_account()
    role = Role.create(name="Кассир района", permissions=["subscribers.view"], all_groups=False)
    RoleGroup.create(role=role, group=group)
    manager = create_manager("kassir", role=role, actor=ACTOR)
    Manager.update(password_hash=hash_password("Secret-pass1")).where(Manager.id == manager.id).execute()
    login_as("kassir")
    response = client.get("/admin/dashboard")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    accounts = page[page.index('id="account-states"'):]
    assert re.search(r'data-state="active">1<', accounts)
    # No "reports.view": no money on the page.
    assert "<svg" not in page and 'id="payments-today"' not in page


def test_home_shows_the_dashboard(admin_client):
    page = admin_client.get("/admin/").get_data(as_text=True)
    assert 'id="account-states"' in page and "Сводка" in page


def test_online_count_comes_from_open_radius_sessions(admin_client):
    radius = pytest.importorskip("lanbill.models.radius")
    from lanbill.db import database

    if not database.table_exists(radius.RadiusSession._meta.table_name):
        pytest.skip("RADIUS tables are not migrated yet")
    account = make_account()
    other = make_account()
    now = dt.datetime(2026, 3, 20, 9, 0)
    common = {"agent_id": account.agent_id, "nas_id": 1, "login": "x", "started_at": now, "updated_at": now,
              "state_changed_at": now}
    radius.RadiusSession.create(account_id=account.id, acct_session_id="a", **common)
    radius.RadiusSession.create(account_id=account.id, acct_session_id="b", **common)
    radius.RadiusSession.create(account_id=other.id, acct_session_id="c", stopped_at=now, **common)
    page = admin_client.get("/admin/dashboard").get_data(as_text=True)
    assert re.search(r'id="online">1<', page)


def test_first_steps_of_seed_004_until_they_are_done(admin_client):
    from lanbill.models import Operator
    from tests.factories import make_nas, make_tariff

    page = admin_client.get("/admin/dashboard").get_data(as_text=True)
    assert "Первые шаги" in page
    assert re.search(r'data-step="operator"><a href="/admin/operators">Укажите название', page)
    Operator.update(name="ООО «Сеть»").execute()
    make_nas(agent_id=make_account().agent_id)  # an account brings an agent and a tariff
    page = admin_client.get("/admin/dashboard").get_data(as_text=True)
    assert re.search(r'data-step="operator"><s>', page) and re.search(r'data-step="tariff"><s>', page)
    assert re.search(r'data-step="staff"><a href="/admin/staff/new">', page)
    make_tariff()
    create_manager("second", role=Role.get(Role.name == "Administrator"), actor=ACTOR)
    assert 'id="first-steps"' not in admin_client.get("/admin/dashboard").get_data(as_text=True)

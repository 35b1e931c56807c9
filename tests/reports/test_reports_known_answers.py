"""Payments, debtors, ARPU, movement and tariffs on the hand-made ledger
(tests/reports/scenario.py): the known answers, the figures recomputed
from the ledger and payment rows, and the group scope."""

from __future__ import annotations

import datetime as dt

import pytest

from lanbill.billing.payments import post_payment
from lanbill.customers.agreements import set_credit_limit
from lanbill.models import Account, Manager
from lanbill.models.radius import RadiusSession
from lanbill.models.traffic import TrafficHourly
from lanbill.reports import run_report
from tests.admin_helpers import make_manager
from tests.factories import ACTOR, make_account, make_agent, make_agreement, make_subscriber
from tests.reports.scenario import D, Scenario, at, ledger_by_month, payments_of


@pytest.fixture
def data(app):
    scenario = Scenario()
    with at("2026-03-05 12:00:00"):
        yield scenario


def admin():
    return Manager.get(Manager.login == "admin")


def test_payments_by_day_system_and_group(data):
    period = {"from": "2026-01-01", "to": "2026-02-28"}
    report = run_report("payments", period, admin())
    live, cancelled = payments_of(dt.date(2026, 1, 1), dt.date(2026, 2, 28))
    assert report.totals == {"count": len(live), "amount": sum(live), "cancelled_count": len(cancelled),
                             "cancelled_amount": sum(cancelled)}
    assert report.totals["amount"] == D("1750.00") and report.totals["cancelled_amount"] == D("500.00")
    days = {r["day"]: r for r in report.rows}
    # 23:59 Moscow on 31 January is still January the 31st (20:59 UTC)
    assert days[dt.date(2026, 1, 31)]["amount"] == D("100.00")
    assert days[dt.date(2026, 1, 20)]["cancelled_count"] == 1 and days[dt.date(2026, 1, 20)]["count"] == 0
    by_system = {r["name"]: r["amount"] for r in run_report("payments", dict(period, by="system"), admin()).rows}
    assert by_system == {"Cash": D("1650.00"), "Card": D("100.00"), "Bank transfer": D("0.00")}
    by_group = run_report("payments", dict(period, by="group"), admin())
    assert {r["name"]: r["amount"] for r in by_group.rows} == {"Север": D("1750.00"), "Юг": D("750.00")}
    assert by_group.totals["amount"] == D("1750.00")  # the member of both groups counted once


def test_payments_scoped_to_the_managers_group(data):
    manager = make_manager("south", groups=[data.south])
    report = run_report("payments", {"from": "2026-01-01", "to": "2026-02-28"}, manager)
    ids = {data.agreements[1].id, data.agreements[2].id}
    live, cancelled = payments_of(dt.date(2026, 1, 1), dt.date(2026, 2, 28), ids)
    assert report.totals["amount"] == sum(live) == D("750.00")
    assert report.totals["cancelled_amount"] == sum(cancelled) == D("500.00")


def test_debtors_since_when_last_payment_and_filters(data):
    report = run_report("debtors", {}, admin())
    rows = {r["agreement_id"]: r for r in report.rows}
    a1, a2, a3 = data.agreements
    assert report.totals["debt"] == D("3112.34")
    # a1 was back above zero after the payment of 10 January: in debt since the rent of 1 February
    assert rows[a1.id]["since"] == dt.date(2026, 2, 1) and rows[a1.id]["days"] == 32
    assert rows[a1.id]["last_payment"] == dt.date(2026, 1, 10)
    assert rows[a1.id]["last_payment_amount"] == D("1000.00")
    # a3 has been below zero since the first rent; a2's only payment was cancelled
    assert rows[a3.id]["since"] == dt.date(2026, 1, 1) and rows[a3.id]["last_payment"] == dt.date(2026, 2, 15)
    assert rows[a2.id]["last_payment"] is None and rows[a2.id]["state"] == "balance"
    assert [r["agreement_id"] for r in run_report("debtors", {"days": "40"}, admin()).rows] == [a3.id]
    assert {r["agreement_id"] for r in run_report("debtors", {"amount": "900"}, admin()).rows} == {a1.id, a3.id}
    assert {r["agreement_id"] for r in run_report("debtors", {"group": str(data.south.id)}, admin()).rows} == {
        a2.id, a3.id}
    set_credit_limit(a2, "1000", actor=ACTOR)
    credit = run_report("debtors", {"mode": "credit"}, admin())
    assert {r["agreement_id"] for r in credit.rows} == {a1.id, a3.id}


def test_debt_that_began_after_a_payment_counts_from_the_last_crossing(data):
    a1 = data.agreements[0]
    with at("2026-03-05 13:00:00"):
        post_payment(a1, "1000.00", "P-9", actor=ACTOR)  # a1 back to +37.66
    with at("2026-03-05 14:00:00"):
        rows = {r["agreement_id"]: r for r in run_report("debtors", {}, admin()).rows}
    assert a1.id not in rows


def test_arpu_known_answers_and_deviation(data):
    report = run_report("arpu", {"from": "2026-01", "to": "2026-03", "threshold": "7"}, admin())
    jan, feb, mar = report.rows
    assert (jan["revenue"], jan["payers"], jan["arpu"]) == (D("1600.00"), 3, D("533.33"))
    assert (feb["revenue"], feb["arpu"], feb["change"]) == (D("1712.34"), D("570.78"), D("7.0"))
    assert mar["change"] == D("-6.6")
    assert [r["deviates"] for r in report.rows] == [False, False, False]
    sums = ledger_by_month()
    for row in report.rows:
        month = row["month"].strftime("%Y-%m")
        revenue = -sum(v for (m, k), v in sums.items() if m == month and k not in (
            "payment", "payment_reversal", "correction"))
        assert row["revenue"] == revenue
    marked = run_report("arpu", {"from": "2026-01", "to": "2026-03", "threshold": "5"}, admin())
    assert [r["deviates"] for r in marked.rows] == [False, True, True]
    assert marked.chart.marks == [1, 2]


def test_tariffs_counts_and_revenue(data):
    report = run_report("tariffs", {"month": "2026-02"}, admin())
    rows = {r["name"]: r for r in report.rows}
    assert rows["Тариф А"]["subscribers"] == 2 and rows["Тариф Б"]["subscribers"] == 1
    assert rows["Тариф А"]["revenue"] == D("1412.34") and rows["Тариф Б"]["revenue"] == D("300.00")
    assert report.totals["revenue"] == D("1712.34") and report.totals["subscribers"] == 3
    scoped = run_report("tariffs", {"month": "2026-02"}, make_manager("south", groups=[data.south]))
    assert scoped.totals["subscribers"] == 2 and scoped.totals["revenue"] == D("1050.00")


def test_movement_new_left_long_blocked_and_shadow_churn(data):
    agent = make_agent()
    with at("2026-02-10 10:00:00"):
        newcomer = make_subscriber()
        account = make_account(make_agreement(newcomer), agent=agent, tariff=data.tariff_a,
                               connect_date="2026-02-10", disconnect_date="2026-03-02")
    Account.update(is_off=True, state="off").where(Account.id == account.id).execute()
    report = run_report("movement", {"from": "2026-01", "to": "2026-03", "blocked_days": "30"}, admin())
    jan, feb, mar = report.rows
    assert (feb["new"], mar["left"], mar["net"]) == (1, 1, -1)
    # blocked since 1 January (a3) is long-blocked at the end of January (31 days), a1 and a2
    # were unblocked in January and blocked again on 1 February: 32 days by 5 March
    assert (jan["long_blocked"], feb["long_blocked"], mar["long_blocked"]) == (1, 1, 3)
    assert report.totals["shadow_churn"] == 0  # every account of the scenario is blocked, none active

    # an active account with neither a session nor traffic for 30 days is shadow churn; one with traffic is not
    quiet = make_account(make_agreement(), agent=agent, tariff=data.tariff_b, connect_date="2025-11-01")
    busy = make_account(make_agreement(), agent=agent, tariff=data.tariff_b, connect_date="2025-11-01")
    online = make_account(make_agreement(), agent=agent, tariff=data.tariff_b, connect_date="2025-11-01")
    TrafficHourly.create(account_id=busy.id, hour=dt.datetime(2026, 3, 1, 10), bytes_in=1000, bytes_out=10)
    now = dt.datetime(2026, 3, 5, 9)
    RadiusSession.create(agent_id=agent.id, nas_id=1, account_id=online.id, login=online.login,
                         acct_session_id="s1", started_at=now, updated_at=now, state_changed_at=now)
    RadiusSession.create(agent_id=agent.id, nas_id=1, account_id=quiet.id, login=quiet.login, acct_session_id="s0",
                         started_at=dt.datetime(2026, 1, 1), updated_at=dt.datetime(2026, 1, 2),
                         stopped_at=dt.datetime(2026, 1, 2), state_changed_at=dt.datetime(2026, 1, 2))
    shadow = run_report("movement", {"view": "shadow"}, admin())
    assert [r["login"] for r in shadow.rows] == [quiet.login]
    assert shadow.rows[0]["last_session"] == dt.date(2026, 1, 1)

"""Charges against payments: every row reconciles (closing = opening +
paid − charged), the figures equal the ledger's own sums by local month,
and a manager limited to a group sees only that group's agreements."""

from __future__ import annotations

import datetime as dt

from lanbill.models import Manager
from lanbill.reports import run_report
from tests.admin_helpers import make_manager
from tests.reports.scenario import D, Scenario, at, balance_before, balances, ledger_by_month

PERIOD = {"from": "2026-01", "to": "2026-03"}


def admin():
    return Manager.get(Manager.login == "admin")


def test_hand_made_ledger_known_answers(app):
    Scenario()
    with at("2026-03-05 12:00:00"):
        report = run_report("charges-vs-payments", PERIOD, admin())
    jan, feb, mar = report.rows
    assert (jan["opening"], jan["rent"], jan["payments"], jan["closing"]) == (D("0.00"), D("1600.00"),
                                                                            D("1600.00"), D("0.00"))
    assert (feb["rent"], feb["services"], feb["traffic"], feb["corrections"]) == (
        D("1600.00"), D("100.00"), D("12.34"), D("-50.00"))
    assert feb["charges"] == D("1662.34") and feb["payments"] == D("150.00")
    assert feb["closing"] == D("-1512.34") and mar["closing"] == D("-3112.34")
    assert report.totals["closing"] == balances() == D("-3112.34")
    assert report.totals["charges"] == D("4862.34") and report.totals["payments"] == D("1750.00")


def test_each_month_equals_the_ledger_sums(app):
    Scenario()
    with at("2026-03-05 12:00:00"):
        report = run_report("charges-vs-payments", {"from": "2026-02", "to": "2026-03"}, admin())
    sums = ledger_by_month()
    assert report.rows[0]["opening"] == balance_before(dt.date(2026, 2, 1))
    for row in report.rows:
        month = row["month"].strftime("%Y-%m")
        kinds = {k: v for (m, k), v in sums.items() if m == month}
        assert row["payments"] == kinds.get("payment", 0) + kinds.get("payment_reversal", 0)
        assert row["charges"] == -sum(v for k, v in kinds.items() if k not in ("payment", "payment_reversal"))
        assert row["closing"] == row["opening"] + row["payments"] - row["charges"]


def test_by_group_counts_a_member_of_two_groups_in_both_and_once_in_total(app):
    s = Scenario()
    with at("2026-03-05 12:00:00"):
        report = run_report("charges-vs-payments", dict(PERIOD, by="group"), admin())
    north = [r for r in report.rows if r["name"] == "Север"]
    south = [r for r in report.rows if r["name"] == "Юг"]
    north_ids = {s.agreements[0].id, s.agreements[2].id}
    assert north[-1]["closing"] == balances(north_ids) == D("-2262.34")
    assert south[-1]["closing"] == balances({s.agreements[1].id, s.agreements[2].id})
    assert report.totals["closing"] == balances()


def test_by_tariff_and_operator_rows_add_up_to_the_total(app):
    Scenario()
    with at("2026-03-05 12:00:00"):
        for by in ("tariff", "operator"):
            report = run_report("charges-vs-payments", dict(PERIOD, by=by), admin())
            for column in ("charges", "payments"):
                assert sum(r[column] for r in report.rows) == report.totals[column]
            last = [r for r in report.rows if r["month"] == dt.date(2026, 3, 1)]
            assert sum(r["closing"] for r in last) == report.totals["closing"]


def test_group_scope_limits_rows_and_totals(app):
    s = Scenario()
    manager = make_manager("north", groups=[s.north])
    with at("2026-03-05 12:00:00"):
        report = run_report("charges-vs-payments", dict(PERIOD, by="group"), manager)
    assert {r["name"] for r in report.rows} == {"Север"}
    assert report.totals["closing"] == balances({s.agreements[0].id, s.agreements[2].id})

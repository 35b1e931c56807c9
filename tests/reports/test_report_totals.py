"""The reports' aggregated figures on the hand-made scenario: `flask
reports rebuild` and `refresh`, what the aggregate tables hold, the
triggers that mark moved subscribers and re-tariffed agreements, a
back-dated entry and a late cancellation after the aggregates — the
report figures stay those of the ledger."""

from __future__ import annotations

import datetime as dt

from lanbill.billing.ledger import post_entry
from lanbill.billing.payments import cancel_payment, post_payment
from lanbill.customers.subscribers import add_to_group, remove_from_group
from lanbill.models import (
    Account,
    Agreement,
    Manager,
    ReportAgreementCell,
    ReportDirty,
    ReportLedgerMonth,
    ReportPaymentDay,
    ReportTotalsState,
)
from lanbill.reports import run_report, totals
from tests.factories import ACTOR
from tests.reports.scenario import D, Scenario, at, balance_before, ledger_by_month


def _cvp(manager, **args):
    with at("2026-03-15 12:00:00"):
        return run_report("charges-vs-payments", dict({"from": "2026-01", "to": "2026-03"}, **args), manager)


def _pays(manager, **args):
    with at("2026-03-15 12:00:00"):
        return run_report("payments", dict({"from": "2026-01-01", "to": "2026-03-15"}, **args), manager)


def _figures(reports) -> list:
    """Rows (in any order) and totals of each report."""
    return [(sorted(repr(sorted(row.items())) for row in r.rows), r.totals) for r in reports]


def test_rebuild_command_fills_the_aggregates_and_reports_read_them(app, runner):
    s = Scenario()
    admin = Manager.get(Manager.login == "admin")
    raw = _cvp(admin, by="group")
    with at("2026-03-15 12:00:00"):
        result = runner.invoke(args=["reports", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "report totals: 3 agreements" in result.output
    state = ReportTotalsState.get()
    assert state.timezone == "Europe/Moscow" and state.ledger_id > 0 and state.payment_id > 0
    assert ReportAgreementCell.select().count() >= 3
    january = {r.cell_id: r for r in ReportLedgerMonth.select().where(ReportLedgerMonth.month == dt.date(2026, 1, 1))}
    assert -sum(r.rent for r in january.values()) == 650_00 + 300_00 + 650_00
    assert sum(r.payers for r in january.values()) == 3
    # the cancelled payment stays on its day, counted as cancelled
    day = ReportPaymentDay.get(ReportPaymentDay.day == dt.date(2026, 1, 20))
    assert (day.count, day.cancelled_count, day.cancelled_amount) == (0, 1, 500_00)
    assert ReportDirty.select().count() == 0
    assert _cvp(admin, by="group").rows == raw.rows
    sums = ledger_by_month()
    february = [r for r in _cvp(admin).rows if r["month"] == dt.date(2026, 2, 1)][0]
    assert february["payments"] == sums[("2026-02", "payment")] + sums[("2026-02", "payment_reversal")]
    assert _cvp(admin).rows[0]["opening"] == balance_before(dt.date(2026, 1, 1))
    del s


def test_changes_after_the_aggregates_are_read_raw_then_folded_in_by_refresh(app, runner):
    s = Scenario()
    admin = Manager.get(Manager.login == "admin")
    with at("2026-03-15 12:00:00"):
        totals.rebuild()
    a1, a2, a3 = s.agreements
    # a subscriber leaves a group, an account changes tariff: the triggers mark them
    remove_from_group(s.subs[2], s.north, actor=ACTOR)
    add_to_group(s.subs[0], s.south, actor=ACTOR)
    Account.update(tariff=s.tariff_b).where(Account.id == s.accounts[0].id).execute()
    assert ReportDirty.select().count() >= 3
    # an entry back-dated into January (already aggregated), a late cancellation, a back-dated payment
    with at("2026-01-05 10:00:00"):
        post_entry(a2.id, D("-40.00"), "one_off", actor=ACTOR)
        late = post_payment(a1, "70.00", "P-5", actor=ACTOR, method="cash")[0]
    with at("2026-03-10 10:00:00"):
        cancel_payment(late, actor=ACTOR, reason="ошибка")
    screens = [dict(by=by) for by in ("none", "group", "tariff", "operator")]
    live = [_cvp(admin, **args) for args in screens] + [_pays(admin, by=by) for by in ("day", "group", "system")]
    north = [r for r in live[1].rows if r["key"] == s.north.id]
    assert north[-1]["closing"] == Agreement.get_by_id(a1.id).balance  # North is now the first subscriber only
    january = [r for r in live[0].rows if r["month"] == dt.date(2026, 1, 1)][0]
    assert january["services"] == D("40.00")
    assert live[4].totals["cancelled_count"] == 2
    with at("2026-03-15 12:00:00"):
        result = runner.invoke(args=["reports", "refresh"])
    assert result.exit_code == 0, result.output
    assert ReportDirty.select().count() == 0
    again = [_cvp(admin, **args) for args in screens] + [_pays(admin, by=by) for by in ("day", "group", "system")]
    assert _figures(again) == _figures(live)
    ReportTotalsState.delete().execute()  # raw
    raw = [_cvp(admin, **args) for args in screens] + [_pays(admin, by=by) for by in ("day", "group", "system")]
    assert _figures(raw) == _figures(live)


def test_aggregates_of_another_time_zone_are_ignored_until_rebuilt(app):
    s = Scenario()
    admin = Manager.get(Manager.login == "admin")
    with at("2026-03-15 12:00:00"):
        totals.rebuild()
    before = _cvp(admin)
    ReportTotalsState.update(timezone="Asia/Vladivostok").execute()
    ReportLedgerMonth.update(rent=ReportLedgerMonth.rent - 1_00).execute()  # would show if they were read
    assert _cvp(admin).rows == before.rows
    with at("2026-03-15 12:00:00"):
        assert totals.refresh()["rebuilt"] is True
    assert ReportTotalsState.get().timezone == "Europe/Moscow"
    assert _cvp(admin).rows == before.rows
    del s

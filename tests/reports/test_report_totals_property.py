"""Property: the reports read from the pre-aggregated figures
(lanbill.reports.totals) give the SAME numbers as read from the raw
ledger and payments, and those equal the sums computed here from the
rows — whatever happened after the aggregates were built: entries
back-dated into closed months, payments cancelled later, subscribers
moved between groups, an account's tariff changed, new agreements; and
after the worker's refresh and after a full rebuild, for a manager who
sees everything and for one limited to a group."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lanbill.billing.ledger import post_entry
from lanbill.billing.payments import cancel_payment, post_payment
from lanbill.clock import local_date_of
from lanbill.customers.subscribers import add_to_group, remove_from_group
from lanbill.errors import Conflict
from lanbill.models import Account, Agreement, LedgerEntry, Payment, ReportTotalsState, SubscriberGroup
from lanbill.reports import run_report, totals
from tests.admin_helpers import make_manager
from tests.factories import ACTOR, make_account, make_agent, make_agreement, make_subscriber, make_tariff
from tests.reports.scenario import at

_names = itertools.count(1)
START = dt.datetime(2025, 11, 1)
MINUTES = int((dt.datetime(2026, 3, 31, 23, 59) - START).total_seconds() // 60)
amounts = st.integers(min_value=1, max_value=5_000_00).map(lambda k: Decimal(k) / 100)
moments = st.integers(min_value=0, max_value=MINUTES).map(lambda m: START + dt.timedelta(minutes=m))
operations = st.lists(st.tuples(
    st.sampled_from(["pay", "cancel", "rent", "rent_correction", "service", "one_off", "volume", "time",
                     "correction", "move", "tariff"]),
    amounts, moments, st.integers(min_value=0, max_value=3), st.booleans()), min_size=1, max_size=24)
memberships = st.lists(st.sampled_from([(), (0,), (1,), (0, 1)]), min_size=4, max_size=4)
SCREENS = [
    ("charges-vs-payments", {"from": "2025-12", "to": "2026-03"}),
    ("charges-vs-payments", {"from": "2025-12", "to": "2026-03", "by": "group"}),
    ("charges-vs-payments", {"from": "2026-01", "to": "2026-02", "by": "tariff"}),
    ("charges-vs-payments", {"from": "2025-11", "to": "2026-04", "by": "operator"}),
    ("arpu", {"from": "2025-12", "to": "2026-03"}),
    ("arpu", {"from": "2025-12", "to": "2026-03", "by": "tariff"}),
    ("arpu", {"from": "2026-01", "to": "2026-03", "by": "group"}),
    ("tariffs", {"month": "2026-02"}),
    ("payments", {"from": "2025-11-01", "to": "2026-03-31"}),
    ("payments", {"from": "2025-12-15", "to": "2026-02-10", "by": "system"}),
    ("payments", {"from": "2025-11-01", "to": "2026-03-31", "by": "group"}),
    ("payments", {"from": "2025-11-01", "to": "2026-03-31", "by": "manager"}),
    ("payments", {"from": "2025-11-01", "to": "2026-03-31", "by": "operator"}),
]


def _month(value: dt.datetime) -> str:
    return local_date_of(value).strftime("%Y-%m")


def _figures(managers, group_id) -> list:
    """Every screen for every manager, in a form to compare (rows sorted)."""
    screens = SCREENS + [
        ("charges-vs-payments", {"from": "2025-12", "to": "2026-03", "group": str(group_id)}),
        ("arpu", {"from": "2025-12", "to": "2026-03", "group": str(group_id)}),
        ("payments", {"from": "2025-11-01", "to": "2026-03-31", "by": "day", "group": str(group_id)}),
    ]
    out = []
    with at("2026-04-01 12:00:00"):
        for manager in managers:
            for name, args in screens:
                report = run_report(name, args, manager)
                out.append((name, sorted(repr(sorted(r.items())) for r in report.rows),
                            repr(sorted(report.totals.items()))))
    return out


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations, groups_of=memberships, built=st.integers(min_value=0, max_value=24),
       refreshed=st.integers(min_value=0, max_value=24))
def test_aggregated_reports_equal_the_raw_ledger(app, ops, groups_of, built, refreshed):
    n = next(_names)
    from lanbill.models import Group, Manager, Operator

    operator = Operator.create(name=f"Оператор {n}")
    groups = [Group.create(name=f"Г{n}-{i}") for i in range(2)]
    tariffs = [make_tariff(name=f"Т{n}-{i}", rent="100.00") for i in range(2)]
    agent = make_agent()
    subscribers, agreements = [], []
    for i, member_of in enumerate(groups_of):
        subscriber = make_subscriber()
        for g in member_of:
            add_to_group(subscriber, groups[g], actor=ACTOR)
        agreement = make_agreement(subscriber, operator=operator)
        if i < 3:  # the fourth agreement has no account (no tariff)
            make_account(agreement, agent=agent, tariff=tariffs[i % 2], connect_date="2025-10-01")
        subscribers.append(subscriber)
        agreements.append(agreement)
    admin = Manager.get(Manager.login == "admin")
    limited = make_manager(f"limited{n}", groups=[groups[0]])

    # the first `built` operations in time order, then the aggregates, then the rest in the drawn
    # order: entries back-dated into closed (aggregated) months, late cancellations, moves
    ordered = sorted(ops[:built], key=lambda op: op[2]) + list(ops[built:])
    paid = []
    for step, (kind, amount, moment, which, sign) in enumerate(ordered):
        if step == built:
            totals.rebuild()
        if step == refreshed and step > built:
            totals.refresh()
        agreement, subscriber = agreements[which], subscribers[which]
        with at(moment.isoformat(sep=" ")):
            if kind == "pay":
                paid.append(post_payment(agreement, amount, "P", actor=ACTOR, method="cash" if sign else "bank")[0])
            elif kind == "cancel":
                if paid:
                    try:
                        cancel_payment(paid[int(amount * 100) % len(paid)], actor=ACTOR, reason="r")
                    except Conflict:
                        pass
            elif kind == "move":
                group = groups[int(amount * 100) % 2]
                if sign:
                    add_to_group(subscriber, group, actor=ACTOR)
                else:
                    remove_from_group(subscriber, group, actor=ACTOR)
            elif kind == "tariff":
                Account.update(tariff=tariffs[int(amount * 100) % 2]).where(
                    Account.agreement == agreement.id).execute()
            else:
                signed = amount if (kind == "correction" and sign) else -amount
                post_entry(agreement.id, signed, kind, actor=ACTOR)
    if built >= len(ordered):
        totals.rebuild()
    # and always, after the aggregates: a move, a tariff change, a late cancellation, entries and a
    # payment back-dated into a closed month
    with at("2026-03-20 10:00:00"):
        if groups[1].id in {m.group_id for m in SubscriberGroup.select().where(
                SubscriberGroup.subscriber == subscribers[0].id)}:
            remove_from_group(subscribers[0], groups[1], actor=ACTOR)
        else:
            add_to_group(subscribers[0], groups[1], actor=ACTOR)
        account = Account.get(Account.agreement == agreements[1].id)
        Account.update(tariff=tariffs[0] if account.tariff_id == tariffs[1].id else tariffs[1]).where(
            Account.id == account.id).execute()
        live_payments = [p for p in paid if Payment.get_by_id(p.id).cancelled_at is None]
        if live_payments:
            cancel_payment(live_payments[0], actor=ACTOR, reason="late")
    with at("2025-11-15 10:00:00"):
        post_entry(agreements[2].id, Decimal("-7.77"), "service", actor=ACTOR)
        post_payment(agreements[3], Decimal("55.00"), "B", actor=ACTOR, method="card")

    managers = [admin, limited]
    live = _figures(managers, groups[0].id)          # aggregates + what changed since
    totals.refresh()
    refreshed_figures = _figures(managers, groups[0].id)
    totals.rebuild()
    rebuilt = _figures(managers, groups[0].id)
    ReportTotalsState.delete().execute()              # no aggregates: everything read raw
    raw = _figures(managers, groups[0].id)
    assert live == raw
    assert refreshed_figures == raw
    assert rebuilt == raw

    # and the raw figures are the ledger's (computed here from the rows)
    totals.rebuild()
    ids = {a.id for a in agreements}
    entries = [e for e in LedgerEntry.select() if e.agreement_id in ids]
    balances = {a.id: a.balance for a in Agreement.select().where(Agreement.id.in_(ids))}
    with at("2026-04-01 12:00:00"):
        cvp = run_report("charges-vs-payments", {"from": "2025-12", "to": "2026-03", "operator": str(operator.id)},
                         admin)
        mine = run_report("charges-vs-payments", {"from": "2025-12", "to": "2026-03", "operator": str(operator.id)},
                          limited)
        pays = run_report("payments", {"from": "2025-11-01", "to": "2026-03-31", "operator": str(operator.id)},
                          admin)
    assert cvp.rows[0]["opening"] == sum((e.amount for e in entries if _month(e.created_at) < "2025-12"), Decimal(0))
    for row in cvp.rows:
        month = row["month"].strftime("%Y-%m")
        moved = [e for e in entries if _month(e.created_at) == month]
        assert row["payments"] == sum((e.amount for e in moved if e.kind.startswith("payment")), Decimal(0))
        assert row["charges"] == -sum((e.amount for e in moved if not e.kind.startswith("payment")), Decimal(0))
    assert cvp.totals["closing"] == sum(balances.values())
    in_group = {m.subscriber_id for m in SubscriberGroup.select().where(SubscriberGroup.group == groups[0].id)}
    members = {a.id for a in agreements if a.subscriber_id in in_group}
    assert mine.totals["closing"] == sum((balances[a] for a in members), Decimal(0))
    payments = [p for p in Payment.select() if p.agreement_id in ids]
    assert pays.totals["amount"] == sum((p.amount for p in payments if not p.cancelled_at), Decimal(0))
    assert pays.totals["cancelled_amount"] == sum((p.amount for p in payments if p.cancelled_at), Decimal(0))

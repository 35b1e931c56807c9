"""Property: over random ledgers (charges of every kind, payments and
cancellations at random moments, subscribers in random groups), the
reports' figures equal the sums computed here from the LedgerEntry and
Payment rows, every row reconciles, and the last closing balance is the
agreements' balance — to the kopeck."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lanbill.billing.ledger import post_entry
from lanbill.billing.payments import cancel_payment, post_payment
from lanbill.clock import local_date_of
from lanbill.customers.subscribers import add_to_group
from lanbill.errors import Conflict
from lanbill.models import Agreement, Group, LedgerEntry, Manager, Operator, Payment
from lanbill.reports import run_report
from tests.factories import ACTOR, make_agreement, make_subscriber
from tests.reports.scenario import at

_names = itertools.count(1)
START = dt.datetime(2025, 11, 1)
MINUTES = int((dt.datetime(2026, 3, 31, 23, 59) - START).total_seconds() // 60)
amounts = st.integers(min_value=1, max_value=5_000_00).map(lambda k: Decimal(k) / 100)
moments = st.integers(min_value=0, max_value=MINUTES).map(lambda m: START + dt.timedelta(minutes=m))
operations = st.lists(st.tuples(
    st.sampled_from(["pay", "cancel", "rent", "rent_correction", "service", "one_off", "volume", "time",
                     "correction"]),
    amounts, moments, st.integers(min_value=0, max_value=2), st.booleans()), min_size=1, max_size=20)
memberships = st.lists(st.sampled_from([(), (0,), (1,), (0, 1)]), min_size=3, max_size=3)


def _month(value: dt.datetime) -> str:
    return local_date_of(value).strftime("%Y-%m")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations, groups_of=memberships)
def test_reports_equal_the_ledger_on_random_data(app, ops, groups_of):
    n = next(_names)
    operator = Operator.create(name=f"Оператор {n}")
    groups = [Group.create(name=f"Г{n}-{i}") for i in range(2)]
    agreements = []
    for member_of in groups_of:
        subscriber = make_subscriber()
        for i in member_of:
            add_to_group(subscriber, groups[i], actor=ACTOR)
        agreements.append(make_agreement(subscriber, operator=operator))
    paid = []
    for kind, amount, moment, which, sign in sorted(ops, key=lambda op: op[2]):
        agreement = agreements[which]
        with at(moment.isoformat(sep=" ")):
            if kind == "pay":
                paid.append(post_payment(agreement, amount, "P", actor=ACTOR)[0])
            elif kind == "cancel":
                if paid:
                    try:
                        cancel_payment(paid[int(amount * 100) % len(paid)], actor=ACTOR, reason="r")
                    except Conflict:
                        pass
            else:
                signed = amount if (kind == "correction" and sign) else -amount
                post_entry(agreement.id, signed, kind, actor=ACTOR)

    ids = {a.id for a in agreements}
    entries = [e for e in LedgerEntry.select() if e.agreement_id in ids]
    balances = {a.id: a.balance for a in Agreement.select().where(Agreement.id.in_(ids))}
    admin = Manager.get(Manager.login == "admin")
    with at("2026-04-01 12:00:00"):
        cvp = run_report("charges-vs-payments", {"from": "2025-12", "to": "2026-03", "operator": str(operator.id)},
                         admin)
        by_group = run_report("charges-vs-payments", {"from": "2025-12", "to": "2026-03", "by": "group",
                                                      "operator": str(operator.id)}, admin)
        pays = run_report("payments", {"from": "2025-11-01", "to": "2026-03-31", "operator": str(operator.id)},
                          admin)
        debtors = run_report("debtors", {"operator": str(operator.id)}, admin)
        arpu = run_report("arpu", {"from": "2025-12", "to": "2026-03"}, admin)

    assert cvp.rows[0]["opening"] == sum((e.amount for e in entries if _month(e.created_at) < "2025-12"), Decimal(0))
    for row in cvp.rows:
        month = row["month"].strftime("%Y-%m")
        mine = [e for e in entries if _month(e.created_at) == month]
        assert row["payments"] == sum((e.amount for e in mine if e.kind.startswith("payment")), Decimal(0))
        assert row["charges"] == -sum((e.amount for e in mine if not e.kind.startswith("payment")), Decimal(0))
        assert row["closing"] == row["opening"] + row["payments"] - row["charges"]
    assert cvp.totals["closing"] == sum(balances.values())
    for i, group in enumerate(groups):
        members = {a.id for a, member_of in zip(agreements, groups_of, strict=True) if i in member_of}
        rows = [r for r in by_group.rows if r["key"] == group.id]
        if rows:
            assert rows[-1]["closing"] == sum(balances[a] for a in members)
        else:  # a group whose every figure is zero has no rows
            assert sum(balances[a] for a in members) == 0
            assert not any(e.agreement_id in members and _month(e.created_at) >= "2025-12" for e in entries)
    assert by_group.totals == cvp.totals

    payments = [p for p in Payment.select() if p.agreement_id in ids]
    assert pays.totals["amount"] == sum((p.amount for p in payments if not p.cancelled_at), Decimal(0))
    assert pays.totals["cancelled_count"] == sum(1 for p in payments if p.cancelled_at)
    assert debtors.totals["debt"] == -sum((b for b in balances.values() if b < 0), Decimal(0))

    all_entries = list(LedgerEntry.select())
    for row in arpu.rows:
        month = row["month"].strftime("%Y-%m")
        revenue = -sum((e.amount for e in all_entries if _month(e.created_at) == month and e.kind in (
            "rent", "rent_correction", "service", "one_off", "volume", "time")), Decimal(0))
        assert row["revenue"] == revenue

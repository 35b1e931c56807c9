"""Property: for random sequences of payments, cancellations and charges,
balance = sum(ledger) and periodic keys never charge twice."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lanbill.billing import ledger, payments
from lanbill.errors import Conflict
from lanbill.models import Agreement, LedgerEntry, Payment
from tests.factories import ACTOR, make_agreement

amounts = st.integers(min_value=1, max_value=10_000_00).map(lambda k: Decimal(k) / 100)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), amounts),
        st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=20)),
        st.tuples(st.just("charge"), amounts, st.integers(min_value=1, max_value=5)),
    ),
    max_size=25,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_balance_equals_ledger_under_random_operations(app, ops):
    agreement = make_agreement()
    paid = []
    charged_days = set()
    for op in ops:
        if op[0] == "pay":
            paid.append(payments.post_payment(agreement, op[1], "P", actor=ACTOR)[0])
        elif op[0] == "cancel" and paid:
            try:
                payments.cancel_payment(paid[op[1] % len(paid)], actor=ACTOR, reason="r")
            except Conflict:
                pass
        elif op[0] == "charge":
            day = dt.date(2026, 1, op[2])
            key = ledger.idempotency_key(agreement.id, 1, "rent", None, day)
            ledger.post_entry(agreement, -op[1], "rent", actor=ACTOR, idempotency_key=key, period_start=day)
            charged_days.add(day)
    assert ledger.check_invariant() == []
    rent_entries = LedgerEntry.select().where((LedgerEntry.agreement == agreement.id) & (LedgerEntry.kind == "rent"))
    assert sorted(e.period_start for e in rent_entries) == sorted(charged_days)
    live = sum((p.amount for p in Payment.select().where(
        (Payment.agreement == agreement.id) & Payment.cancelled_at.is_null())), Decimal(0))
    rent = sum((e.amount for e in rent_entries), Decimal(0))
    assert Agreement.get_by_id(agreement.id).balance == live + rent

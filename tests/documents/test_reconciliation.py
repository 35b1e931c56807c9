"""The reconciliation statement equals the ledger to the kopeck for any
period (DESIGN §12, §4): opening balance = the entries before it, one row
per entry in it, closing = opening + credit − debit = the entries up to
its end; a property test over random ledgers and periods."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lanbill.clock import midnight_utc
from lanbill.db import database
from lanbill.documents import content
from lanbill.documents.issue import load_agreement
from lanbill.models import LedgerEntry
from tests.billing_helpers import local
from tests.documents.helpers import agreement_with, charge, pay, set_requisites

START = dt.date(2026, 1, 1)
entries = st.lists(st.tuples(st.integers(0, 364), st.integers(0, 23), st.sampled_from(["pay", "rent", "volume"]),
                             st.integers(1, 200_000)), min_size=0, max_size=25)
periods = st.lists(st.tuples(st.integers(0, 380), st.integers(0, 120)), min_size=1, max_size=4)


def _ledger_sum(agreement_id, until: dt.date) -> Decimal:
    rows = LedgerEntry.select(LedgerEntry.amount).where(
        (LedgerEntry.agreement == agreement_id) & (LedgerEntry.created_at < midnight_utc(until)))
    return sum((r.amount for r in rows), Decimal("0.00"))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ledger=entries, windows=periods)
def test_statement_equals_the_ledger_for_random_periods(app, ledger, windows):
    with database.atomic() as transaction:  # each example starts from the same database
        set_requisites()
        agreement = agreement_with()
        for day, hour, kind, kopecks in sorted(ledger):
            when = START + dt.timedelta(days=day)
            amount = f"{Decimal(kopecks) / 100:.2f}"
            with time_machine.travel(local(f"{when} {hour:02d}:30"), tick=False):
                if kind == "pay":
                    pay(agreement, amount, f"P{day}")
                else:
                    charge(agreement, amount, kind=kind, day=when)
        loaded = load_agreement(agreement.id)
        for offset, length in windows:
            first = START + dt.timedelta(days=offset)
            last = first + dt.timedelta(days=length)
            built = content.build("reconciliation", loaded, on=last, period=(first, last))
            data = built.data
            opening, closing = Decimal(data["opening"]), Decimal(data["closing"])
            assert opening == _ledger_sum(agreement.id, first)
            assert closing == _ledger_sum(agreement.id, last + dt.timedelta(days=1)) == built.amount
            debit = sum((Decimal(r["debit"]) for r in data["rows"] if r["debit"]), Decimal("0.00"))
            credit = sum((Decimal(r["credit"]) for r in data["rows"] if r["credit"]), Decimal("0.00"))
            assert (debit, credit) == (Decimal(data["debit_total"]), Decimal(data["credit_total"]))
            assert opening + credit - debit == closing
            in_period = LedgerEntry.select().where(
                (LedgerEntry.agreement == agreement.id) & (LedgerEntry.created_at >= midnight_utc(first))
                & (LedgerEntry.created_at < midnight_utc(last + dt.timedelta(days=1)))).count()
            assert len(data["rows"]) == in_period
            assert all(first <= dt.date.fromisoformat(r["date"]) <= last for r in data["rows"])
        transaction.rollback()

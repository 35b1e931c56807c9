"""The ledger (DESIGN §4): one posting function, reversals, the invariant,
idempotency keys."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from lanbill.billing import ledger, payments
from lanbill.billing.errors import ValidationError
from lanbill.models import Agreement, LedgerEntry
from tests.factories import ACTOR, make_agreement


def test_post_entry_moves_balance_and_records_row(app):
    agreement = make_agreement()
    entry, created = ledger.post_entry(agreement, Decimal("-650.00"), "rent", actor=ACTOR,
                                       period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 1, 31))
    assert created
    assert Agreement.get_by_id(agreement.id).balance == Decimal("-650.00")
    stored = LedgerEntry.get_by_id(entry.id)
    assert stored.amount == Decimal("-650.00") and stored.kind == "rent"
    assert stored.period_end == dt.date(2026, 1, 31)


def test_idempotency_key_charges_once(app):
    agreement = make_agreement()
    key = ledger.idempotency_key(agreement.id, 7, "rent", None, dt.date(2026, 1, 5))
    first, created1 = ledger.post_entry(agreement, Decimal("-20.97"), "rent", actor=ACTOR, idempotency_key=key)
    second, created2 = ledger.post_entry(agreement, Decimal("-20.97"), "rent", actor=ACTOR, idempotency_key=key)
    assert created1 and not created2 and first.id == second.id
    assert Agreement.get_by_id(agreement.id).balance == Decimal("-20.97")
    assert LedgerEntry.select().where(LedgerEntry.agreement == agreement.id).count() == 1


def test_float_and_three_decimals_are_refused(app):
    agreement = make_agreement()
    with pytest.raises(TypeError):
        ledger.post_entry(agreement, 1.5, "correction", actor=ACTOR)
    with pytest.raises(ValidationError):
        ledger.post_entry(agreement, Decimal("1.005"), "correction", actor=ACTOR)
    assert LedgerEntry.select().count() == 0


def test_check_finds_tampered_balance_and_cli_exits_nonzero(app, runner):
    agreement = make_agreement()
    payments.post_payment(agreement, "100", "PP-1", actor=ACTOR)
    assert ledger.check_invariant() == []
    result = runner.invoke(args=["check"])
    assert result.exit_code == 0, result.output
    Agreement.update(balance=Decimal("99.99")).where(Agreement.id == agreement.id).execute()
    wrong = ledger.check_invariant()
    assert wrong == [(agreement.id, agreement.number, Decimal("99.99"), Decimal("100.00"))]
    result = runner.invoke(args=["check"])
    assert result.exit_code == 1
    assert "99.99" in result.output

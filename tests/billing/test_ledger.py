"""The ledger (DESIGN §4): one posting function, reversals, the invariant,
idempotency keys."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from lanbill.billing import ledger, payments
from lanbill.errors import ValidationError
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


def test_insert_row_stores_what_model_create_would(app):
    """The hot-path insert (cached SQL) keeps defaults and conversions."""
    from lanbill.db import insert_row

    agreement = make_agreement()
    fast = insert_row(LedgerEntry, agreement=agreement.id, amount=Decimal("12.34"), kind="correction",
                      comment="fast", original_amount=Decimal("1.50"))
    slow = LedgerEntry.create(agreement=agreement.id, amount=Decimal("12.34"), kind="correction",
                              comment="slow", original_amount=Decimal("1.50"))
    assert fast.id and fast.id != slow.id
    a, b = LedgerEntry.get_by_id(fast.id), LedgerEntry.get_by_id(slow.id)
    for field in LedgerEntry._meta.sorted_fields:
        if field.name not in ("id", "comment", "created_at"):
            assert getattr(a, field.name) == getattr(b, field.name), field.name
    assert a.amount == Decimal("12.34") and a.original_amount == Decimal("1.50")
    assert a.created_at is not None and abs((b.created_at - a.created_at).total_seconds()) < 5


def test_writer_lock_serialises_processes_without_losing_payments(app, tmp_path):
    """Writers of several processes queue on the SQLite writer lock; every
    payment of every process is booked (SQLite only: PostgreSQL has its own
    row locks)."""
    import multiprocessing

    from lanbill.db import is_sqlite

    if not is_sqlite():
        pytest.skip("the writer lock is SQLite's")
    agreement = make_agreement()
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=_pay_many, args=(app.config["DATABASE_URL"], agreement.id, 40, n))
             for n in range(3)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
        assert proc.exitcode == 0
    assert Agreement.get_by_id(agreement.id).balance == Decimal("120.00")
    assert ledger.check_invariant() == []


def _pay_many(url, agreement_id, count, n):
    from lanbill.db import bind_database, database

    bind_database(url)
    database.connect()
    for i in range(count):
        payments.post_payment(agreement_id, "1.00", f"p{n}-{i}", actor=ACTOR)
    database.close()


def test_balance_after_each_entry_follows_booking_order(app):
    """The running balance beside each ledger entry: the sum of the
    agreement's entries up to it (created_at, then id), whatever page or
    filter shows it; another agreement's entries do not count."""
    import datetime as dt
    from decimal import Decimal

    from lanbill.billing.ledger import balances_after, post_entry
    from lanbill.models import LedgerEntry
    from tests.factories import make_agreement

    agreement, other = make_agreement(), make_agreement()
    amounts = ["100.00", "-33.33", "-0.01", "250.50", "-17.16"]
    entries = [post_entry(agreement.id, Decimal(a), "correction", actor="system")[0] for a in amounts]
    post_entry(other.id, Decimal("999"), "correction", actor="system")
    # two entries at the same instant are ordered by id
    same = dt.datetime(2026, 1, 1, 12, 0)
    LedgerEntry.update(created_at=same).where(LedgerEntry.id.in_([entries[1].id, entries[2].id])).execute()
    LedgerEntry.update(created_at=same - dt.timedelta(days=1)).where(LedgerEntry.id == entries[0].id).execute()
    LedgerEntry.update(created_at=same + dt.timedelta(days=1)).where(
        LedgerEntry.id.in_([entries[3].id, entries[4].id])).execute()
    got = balances_after(agreement.id, [e.id for e in entries[1:4]])
    assert got == {entries[1].id: Decimal("66.67"), entries[2].id: Decimal("66.66"), entries[3].id: Decimal("317.16")}
    assert balances_after(agreement.id, [entries[4].id]) == {entries[4].id: Decimal("300.00")}
    assert balances_after(agreement.id, []) == {}

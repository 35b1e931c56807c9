"""Payments (seed 002 «Работа с платежами»)."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
import time_machine

from lanbill.actor import Actor
from lanbill.billing import ledger, payments
from lanbill.db import database
from lanbill.errors import Conflict, ValidationError
from lanbill.models import Agreement, LedgerEntry, Payment
from tests.factories import ACTOR, make_agreement


def balance(agreement) -> Decimal:
    return Agreement.get_by_id(agreement.id).balance


def test_payment_accepts_comma_and_books_one_entry(app):
    agreement = make_agreement()
    payment, created = payments.post_payment(agreement, "650,50", "ПП-17", actor=ACTOR, comment="касса")
    assert created and payment.amount == Decimal("650.50")
    assert balance(agreement) == Decimal("650.50")
    entry = LedgerEntry.get(LedgerEntry.payment_id == payment.id)
    assert entry.kind == "payment" and entry.amount == Decimal("650.50")


@pytest.mark.parametrize("amount", ["-5", "0", "1.005", "abc", "", 1.5])
def test_bad_amounts_change_nothing(app, amount):
    agreement = make_agreement()
    with pytest.raises(ValidationError) as info:
        payments.post_payment(agreement, amount, "PP", actor=ACTOR)
    assert "amount" in info.value.fields
    assert Payment.select().count() == 0 and balance(agreement) == 0


def test_document_number_is_required(app):
    agreement = make_agreement()
    with pytest.raises(ValidationError) as info:
        payments.post_payment(agreement, "10", "  ", actor=ACTOR)
    assert "document_number" in info.value.fields


@time_machine.travel(dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC))
def test_backdated_payment_allowed_future_refused(app):
    agreement = make_agreement()
    payment, _ = payments.post_payment(agreement, "10", "A-1", actor=ACTOR, paid_at="2026-01-15")
    # 2026-01-15 00:00 Moscow is 2026-01-14 21:00 UTC
    assert payment.paid_at == dt.datetime(2026, 1, 14, 21, 0)
    with pytest.raises(ValidationError):
        payments.post_payment(agreement, "10", "A-2", actor=ACTOR, paid_at="2026-03-12")


@time_machine.travel(dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC), tick=False)
def test_pay_date_of_today_means_now_an_earlier_day_its_start(app):
    """Today's date (as a date or as text) books the payment at the moment
    it is entered; an earlier day is back-dated to that day's 00:00 local."""
    agreement = make_agreement()
    now = dt.datetime(2026, 3, 10, 12, 0)
    by_date, _ = payments.post_payment(agreement, "10", "T-1", actor=ACTOR, paid_at=dt.date(2026, 3, 10))
    by_text, _ = payments.post_payment(agreement, "10", "T-2", actor=ACTOR, paid_at="2026-03-10")
    by_default, _ = payments.post_payment(agreement, "10", "T-3", actor=ACTOR)
    assert by_date.paid_at == by_text.paid_at == by_default.paid_at == now
    yesterday, _ = payments.post_payment(agreement, "10", "T-4", actor=ACTOR, paid_at=dt.date(2026, 3, 9))
    assert yesterday.paid_at == dt.datetime(2026, 3, 8, 21, 0)  # 2026-03-09 00:00 Moscow
    midnight, _ = payments.post_payment(agreement, "10", "T-5", actor=ACTOR, paid_at="2026-03-10T00:00:00")
    assert midnight.paid_at == dt.datetime(2026, 3, 9, 21, 0)  # a time given is kept


def test_external_id_books_once_and_conflicts_on_other_amount(app):
    agreement = make_agreement()
    first, created = payments.post_payment(agreement, "100", "G-1", actor=ACTOR, external_id="tx-1", gateway="api")
    again, created_again = payments.post_payment(agreement, "100", "G-1", actor=ACTOR, external_id="tx-1",
                                                 gateway="api")
    assert created and not created_again and first.id == again.id
    assert balance(agreement) == Decimal("100.00")
    with pytest.raises(Conflict):
        payments.post_payment(agreement, "101", "G-1", actor=ACTOR, external_id="tx-1", gateway="api")
    assert Payment.select().count() == 1


def test_cancel_posts_reversal_and_keeps_payment(app):
    agreement = make_agreement()
    payment, _ = payments.post_payment(agreement, "300", "K-1", actor=ACTOR)
    payments.cancel_payment(payment, actor=ACTOR, reason="ошибка кассира")
    assert balance(agreement) == Decimal("0.00")
    stored = Payment.get_by_id(payment.id)
    assert stored.cancelled_at is not None and stored.cancel_reason == "ошибка кассира"
    kinds = [e.kind for e in LedgerEntry.select().order_by(LedgerEntry.id)]
    assert kinds == ["payment", "payment_reversal"]
    with pytest.raises(Conflict):
        payments.cancel_payment(payment, actor=ACTOR, reason="again")
    with pytest.raises(ValidationError):
        payments.cancel_payment(payments.post_payment(agreement, "1", "K-2", actor=ACTOR)[0], actor=ACTOR, reason="")


def test_set_balance_to_computes_the_amount(app):
    agreement = make_agreement()
    payments.post_payment(agreement, "120", "S-1", actor=ACTOR)
    result = payments.set_balance_to(agreement, "500,00", "S-2", actor=ACTOR)
    assert isinstance(result, Payment) and result.amount == Decimal("380.00")
    assert balance(agreement) == Decimal("500.00")
    lowered = payments.set_balance_to(agreement, "-20", "S-3", actor=ACTOR)
    assert isinstance(lowered, LedgerEntry) and lowered.kind == "correction"
    assert lowered.amount == Decimal("-520.00") and balance(agreement) == Decimal("-20.00")


def test_reference_panel_lists_last_document_numbers(app):
    first = make_agreement()
    other = make_agreement()
    for n in range(3):
        payments.post_payment(first, "1", f"A-{n}", actor=ACTOR)
    payments.post_payment(other, "1", "B-9", actor=ACTOR)
    assert payments.last_document_numbers(first.id) == ["A-2", "A-1", "A-0"]
    assert payments.last_document_numbers(None, limit=2) == ["B-9", "A-2"]


def test_concurrent_payments_lose_nothing(app):
    """Several threads pay into one agreement at once; every kopeck lands."""
    agreement = make_agreement()
    database.close()
    errors = []
    per_thread, threads_count = 15, 6

    def pay(n):
        try:
            with database.connection_context():
                for i in range(per_thread):
                    payments.post_payment(agreement.id, "1.01", f"T{n}-{i}", actor=ACTOR)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=pay, args=(n,)) for n in range(threads_count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    database.connect(reuse_if_open=True)
    assert errors == []
    total = Decimal("1.01") * per_thread * threads_count
    assert balance(agreement) == total
    assert Payment.select().count() == per_thread * threads_count
    assert ledger.check_invariant() == []


def test_an_external_id_is_unique_per_gateway_and_client(app):
    """Two clients of one gateway may use the same id; one client's repeat
    is answered with its first payment and books nothing."""
    agreement = make_agreement()
    first, created = payments.post_payment(agreement, "10", "A", actor=ACTOR, external_id="tx-1", gateway="api",
                                           external_client="manager:1")
    other, other_created = payments.post_payment(agreement, "20", "B", actor=ACTOR, external_id="tx-1",
                                                 gateway="api", external_client="manager:2")
    again, again_created = payments.post_payment(agreement, "10", "A", actor=ACTOR, external_id="tx-1",
                                                 gateway="api", external_client="manager:1")
    assert created and other_created and not again_created
    assert other.id != first.id and again.id == first.id
    assert balance(agreement) == Decimal("30.00")
    with pytest.raises(Conflict) as info:
        payments.post_payment(agreement, "99", "A", actor=ACTOR, external_id="tx-1", gateway="api",
                              external_client="manager:2")
    assert str(first.id) not in str(info.value) and "manager:1" not in str(info.value)
    assert Payment.select().count() == 2


def test_migration_0062_moves_the_external_id_index_to_gateway_and_client(app):
    """An existing database (external ids unique per gateway, tokens without
    expiry or scope) is upgraded on SQLite and PostgreSQL alike; API
    payments booked before belong to the manager who booked them."""
    from lanbill.migrations import applied, upgrade_database

    agreement = make_agreement()
    payments.post_payment(agreement, "10", "A", actor=Actor("api:admin", manager_id=1), external_id="old-1",
                          gateway="api", external_client="manager:1")
    database.execute_sql('DROP INDEX "payment_gateway_external_client_external_id"')
    database.execute_sql('ALTER TABLE "payment" DROP COLUMN "external_client"')
    database.execute_sql('ALTER TABLE "api_token" DROP COLUMN "expires_at"')
    database.execute_sql('ALTER TABLE "api_token" DROP COLUMN "scope"')
    database.execute_sql('CREATE UNIQUE INDEX "payment_gateway_external_id" ON "payment" ("gateway", "external_id")')
    database.execute_sql("DELETE FROM schema_migration WHERE name = '0062_api_clients'")

    assert upgrade_database() == ["0062_api_clients"]
    assert "0062_api_clients" in applied()
    indexes = {index.name: index for index in database.get_indexes("payment")}
    assert "payment_gateway_external_id" not in indexes
    assert indexes["payment_gateway_external_client_external_id"].unique
    assert Payment.get(Payment.external_id == "old-1").external_client == "manager:1"
    assert {"expires_at", "scope"} <= {c.name for c in database.get_columns("api_token")}
    # The old id from another client now books its own payment.
    _, created = payments.post_payment(agreement, "10", "A", actor=ACTOR, external_id="old-1", gateway="api",
                                       external_client="manager:2")
    assert created
    assert upgrade_database() == []


def test_booking_and_cancelling_a_payment_tell_the_listeners_once(app):
    """Other rooms (notifications, receipts) learn of payments through
    lanbill.events, once per booking — a repeated external id is silent."""
    from lanbill import events
    from lanbill.billing.payments import cancel_payment, post_payment
    from tests.factories import make_agreement

    agreement = make_agreement()
    heard = []

    def booked(sender, payment):
        heard.append(("booked", payment.id))

    def cancelled(sender, payment):
        heard.append(("cancelled", payment.id))

    events.payment_booked.connect(booked)
    events.payment_cancelled.connect(cancelled)
    try:
        payment, _ = post_payment(agreement, "100", "N-1", actor="system", external_id="x1", gateway="t")
        post_payment(agreement, "100", "N-1", actor="system", external_id="x1", gateway="t")
        cancel_payment(payment, actor="system", reason="test")
    finally:
        events.payment_booked.disconnect(booked)
        events.payment_cancelled.disconnect(cancelled)
    assert heard == [("booked", payment.id), ("cancelled", payment.id)]

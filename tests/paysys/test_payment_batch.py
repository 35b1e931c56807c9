"""The batch form of the payment door (billing.payments.post_payments, what
a registry posts through): per payment the same rules as post_payment —
repeats book nothing, the same id with other details is a conflict, the
same id twice in a batch is one payment, bad items are refused alone —
and every booked payment has its ledger entry, its balance move, its
lifted block, its audit row and its event."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from lanbill import events
from lanbill.billing.ledger import check_invariant, post_entry
from lanbill.billing.payments import PaymentItem, post_payment, post_payments
from lanbill.clock import today
from lanbill.errors import Conflict, ValidationError
from lanbill.models import Account, Agreement, AuditLog, LedgerEntry, Payment
from tests.factories import ACTOR, make_account, make_agreement
from tests.paysys.helpers import make_registry_system


def item(agreement, amount, txn, **kw):
    return PaymentItem(agreement=agreement, amount=amount, document_number=f"П/П {txn}", external_id=txn, **kw)


def test_a_batch_books_each_payment_like_the_single_door(app):
    system = make_registry_system()
    debtor = make_agreement()
    account = make_account(debtor)
    post_entry(debtor.id, Decimal("-100.00"), "correction", actor=ACTOR, comment="debt")
    assert Account.get_by_id(account.id).blocked_balance
    other = make_agreement()
    heard = []

    def listen(sender=None, payment=None, **kw):
        heard.append(payment.external_id)

    events.payment_booked.connect(listen)
    try:
        results = post_payments([item(debtor, "150.00", "T1", paid_at=today() - dt.timedelta(days=1)),
                                 item(other, "20.50", "T2", comment=" за ноябрь ")],
                                actor=ACTOR, payment_system=system)
    finally:
        events.payment_booked.disconnect(listen)
    assert [r.created for r in results] == [True, True] and all(r.error is None for r in results)
    first, second = (r.payment for r in results)
    stored = Payment.get_by_id(first.id)
    assert stored.amount == Decimal("150.00") and stored.gateway == "registry" and stored.external_client == "bank"
    assert stored.payment_system_id == system.id and stored.method == "bank" and stored.document_number == "П/П T1"
    entry = LedgerEntry.get_by_id(stored.entry_id)
    assert entry.payment_id == stored.id and entry.kind == "payment" and entry.amount == Decimal("150.00")
    assert Payment.get_by_id(second.id).comment == "за ноябрь"
    assert Agreement.get_by_id(debtor.id).balance == Decimal("50.00")
    assert not Account.get_by_id(account.id).blocked_balance  # the block lifted
    assert sorted(heard) == ["T1", "T2"]
    audits = AuditLog.select().where(AuditLog.action == "payment.create")
    assert sorted(a.object_id for a in audits) == sorted([str(debtor.id), str(other.id)])
    assert check_invariant() == []


def test_repeats_conflicts_twins_and_bad_items_in_one_batch(app):
    system = make_registry_system()
    agreement = make_agreement()
    earlier, _ = post_payment(agreement, "10.00", "1", actor=ACTOR, method="bank", payment_system=system,
                              external_id="OLD")
    results = post_payments([
        item(agreement, "10.00", "OLD"),  # a repeat: the first payment, nothing booked
        item(agreement, "99.00", "OLD"),  # the same id, another amount: a conflict
        item(agreement, "5.00", "NEW"),
        item(agreement, "5.00", "NEW"),  # twice in the batch: one payment
        item(agreement, "6.00", "NEW"),  # twice with other details: a conflict
        item(agreement, "0", "ZERO"),  # refused alone
        item(agreement, "1.00", "LATE", paid_at=today() + dt.timedelta(days=3)),
    ], actor=ACTOR, payment_system=system)
    assert results[0].payment.id == earlier.id and not results[0].created and results[0].error is None
    assert isinstance(results[1].error, Conflict) and results[1].payment is None
    assert results[2].created and results[3].payment.id == results[2].payment.id and not results[3].created
    assert isinstance(results[4].error, Conflict)
    assert isinstance(results[5].error, ValidationError) and isinstance(results[6].error, ValidationError)
    assert Payment.select().count() == 2
    assert Agreement.get_by_id(agreement.id).balance == Decimal("15.00")
    assert check_invariant() == []


def test_a_batch_is_one_transaction_with_ids_the_single_door_continues(app):
    system = make_registry_system()
    agreement = make_agreement()
    results = post_payments([item(agreement, "1.00", f"B{n}") for n in range(30)], actor=ACTOR,
                            payment_system=system)
    ids = [r.payment.id for r in results]
    assert ids == sorted(ids) and len(set(ids)) == 30
    after, _ = post_payment(agreement, "2.00", "X", actor=ACTOR, method="bank", payment_system=system,
                            external_id="AFTER")
    assert after.id > max(ids)
    entry_ids = [Payment.get_by_id(i).entry_id for i in ids]
    assert LedgerEntry.select().where(LedgerEntry.id.in_(entry_ids)).count() == 30
    assert LedgerEntry.get_by_id(after.entry_id).id > max(entry_ids)
    assert Agreement.get_by_id(agreement.id).balance == Decimal("32.00")

"""Automatic payment document numbers per operator: off by default (the
desk types the number, seed 002); switched on from the operator's page,
the payment form shows the number read-only and the payment gets prefix +
next number on saving — per operator, without gaps (a refused payment
gives its number back) or repeats (threads saving at once), and the next
number only moves forward."""

from __future__ import annotations

import threading

from lanbill.billing import payment_numbers
from lanbill.db import database
from lanbill.models import AuditLog, Operator, Payment
from tests.admin_helpers import ru
from tests.factories import ACTOR, make_agreement, make_subscriber
from tests.rendered_forms import form_values


def _switch_on(client, operator_id, prefix="R-", next_number=None):
    page = client.get(f"/admin/operators/{operator_id}").get_data(as_text=True)
    assert ru("Automatic numbering of payment documents") in page
    fields = form_values(page, "numbering-prefix")
    fields.update({"numbering-is_enabled": "y", "numbering-prefix": prefix})
    if next_number is not None:
        fields["numbering-next_number"] = str(next_number)
    return client.post(f"/admin/operators/{operator_id}/payment-numbering", data=fields, follow_redirects=True)


def _pay(client, agreement, amount="100", number=None):
    page = client.get(f"/admin/payments?agreement={agreement.id}").get_data(as_text=True)
    fields = form_values(page, "amount")
    fields["amount"] = amount
    if number is not None:
        fields["document_number"] = number
    return client.post(f"/admin/payments/{agreement.id}", data=fields)


def test_off_by_default_the_number_is_typed_and_required(client, admin, login_as):
    agreement = make_agreement(make_subscriber())
    login_as()
    page = client.get(f"/admin/payments?agreement={agreement.id}").get_data(as_text=True)
    assert 'name="document_number"' in page and "readonly" not in page.split('name="document_number"')[0][-200:]
    assert _pay(client, agreement, number="").status_code == 422
    assert Payment.select().count() == 0
    assert _pay(client, agreement, number="ПКО-77").status_code == 302
    assert Payment.get().document_number == "ПКО-77"


def test_switched_on_the_form_shows_the_next_number_and_saving_assigns_it(client, admin, login_as):
    agreement = make_agreement(make_subscriber())
    login_as()
    saved = _switch_on(client, agreement.operator_id, prefix="R-").get_data(as_text=True)
    assert ru("The numbering of payment documents is saved.") in saved
    page = client.get(f"/admin/payments?agreement={agreement.id}").get_data(as_text=True)
    assert 'value="R-1"' in page and "readonly" in page
    assert ru("Assigned automatically on saving: the next number of the operator "
              "(shown is the one it would get now).") in page
    assert _pay(client, agreement).status_code == 302
    # a number typed into the (read-only) field is not used
    assert _pay(client, agreement, number="HAND-1").status_code == 302
    assert [p.document_number for p in Payment.select().order_by(Payment.id)] == ["R-1", "R-2"]
    assert 'value="R-3"' in client.get(f"/admin/payments?agreement={agreement.id}").get_data(as_text=True)
    assert AuditLog.select().where(AuditLog.action == "operator.payment_numbering").exists()


def test_a_refused_payment_gives_its_number_back(client, admin, login_as):
    agreement = make_agreement(make_subscriber())
    login_as()
    _switch_on(client, agreement.operator_id)
    assert _pay(client, agreement, amount="abc").status_code == 422
    assert Payment.select().count() == 0
    assert _pay(client, agreement, amount="50").status_code == 302
    assert Payment.get().document_number == "R-1"


def test_next_number_moves_forward_only(client, admin, login_as):
    agreement = make_agreement(make_subscriber())
    login_as()
    _switch_on(client, agreement.operator_id, prefix="", next_number=500)
    assert _pay(client, agreement).status_code == 302
    assert Payment.get().document_number == "500"
    refused = _switch_on(client, agreement.operator_id, prefix="", next_number=10).get_data(as_text=True)
    assert ru("Numbers are never given twice: the next number can only go forward.") in refused
    assert payment_numbers.numbering_of(agreement.operator_id).next_number == 501


def test_operators_count_separately(app):
    first = make_agreement(make_subscriber())
    branch = Operator.create(name="Филиал")
    second = make_agreement(make_subscriber(), operator=branch)
    payment_numbers.set_numbering(first.operator_id, enabled=True, prefix="A-", next_number=None, actor=ACTOR)
    payment_numbers.set_numbering(branch.id, enabled=True, prefix="B-", next_number=7, actor=ACTOR)
    assert payment_numbers.book_payment(first, amount="10", actor=ACTOR).document_number == "A-1"
    assert payment_numbers.book_payment(second, amount="10", actor=ACTOR).document_number == "B-7"
    assert payment_numbers.book_payment(first, amount="10", actor=ACTOR).document_number == "A-2"


def test_desks_saving_at_once_get_every_number_once(app):
    agreement = make_agreement(make_subscriber())
    payment_numbers.set_numbering(agreement.operator_id, enabled=True, prefix="N", next_number=None, actor=ACTOR)
    errors, barrier = [], threading.Barrier(5)

    def desk():
        try:
            database.connect(reuse_if_open=True)
            barrier.wait(30)
            for _ in range(4):
                payment_numbers.book_payment(agreement, amount="1", actor=ACTOR)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            database.close()

    threads = [threading.Thread(target=desk) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    numbers = sorted(int(p.document_number[1:]) for p in Payment.select())
    assert numbers == list(range(1, 21))

"""The payments form (seed 002 «Работа с платежами»)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from lanbill.clock import now_utc, today
from lanbill.models import Agreement, AuditLog, LedgerEntry, Payment
from tests.admin_helpers import PASSWORD, make_manager, ru
from tests.factories import make_agreement, make_subscriber


def test_search_pick_agreement_and_see_balance_and_reference(client, admin, login_as):
    subscriber = make_subscriber(name="Платёжкин Иван", phone="+79995554433")
    agreement = make_agreement(subscriber, number="P-55")
    login_as()
    page = client.get("/admin/payments?by=phone&q=5554").get_data(as_text=True)
    assert "Платёжкин Иван" in page
    page = client.get(f"/admin/payments?subscriber={subscriber.id}").get_data(as_text=True)
    assert "P-55" in page
    page = client.get(f"/admin/payments?agreement={agreement.id}").get_data(as_text=True)
    assert 'id="current-balance" value="0,00" readonly' in page
    assert 'id="ref-agreement"' in page


def test_amount_with_comma_or_point_and_required_document(client, admin, login_as):
    agreement = make_agreement()
    login_as()
    response = client.post(f"/admin/payments/{agreement.id}", data={"amount": "650,50", "document_number": ""})
    assert response.status_code == 422
    assert Payment.select().count() == 0
    assert client.post(f"/admin/payments/{agreement.id}",
                       data={"amount": "650,50", "document_number": "ПКО-1", "method": "cash"}).status_code == 302
    assert client.post(f"/admin/payments/{agreement.id}",
                       data={"amount": "100.25", "document_number": "ПКО-2", "method": "cash"}).status_code == 302
    assert Agreement.get_by_id(agreement.id).balance == Decimal("750.75")
    page = client.get(f"/admin/payments?agreement={agreement.id}").get_data(as_text=True)
    assert "ПКО-1" in page and "ПКО-2" in page
    bad = client.post(f"/admin/payments/{agreement.id}", data={"amount": "12,345", "document_number": "X"})
    assert bad.status_code == 422
    assert ru("Amount may have at most two decimals.") in bad.get_data(as_text=True)


def test_set_balance_to_and_back_dating(client, admin, login_as):
    agreement = make_agreement()
    login_as()
    day = (dt.date.today() - dt.timedelta(days=5)).isoformat()
    client.post(f"/admin/payments/{agreement.id}", data={"target_balance": "300", "document_number": "D-1",
                                                         "paid_at": day, "method": "bank"})
    assert Agreement.get_by_id(agreement.id).balance == Decimal("300.00")
    payment = Payment.get()
    assert payment.amount == Decimal("300.00") and payment.paid_at < dt.datetime.now() - dt.timedelta(days=4)
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    response = client.post(f"/admin/payments/{agreement.id}", data={"amount": "1", "document_number": "D-2",
                                                                    "paid_at": future})
    assert response.status_code == 422 and ru("Pay date cannot be in the future.") in response.get_data(as_text=True)


def test_cancel_with_reason_posts_a_reversal(client, admin, login_as):
    agreement = make_agreement()
    login_as()
    client.post(f"/admin/payments/{agreement.id}", data={"amount": "500", "document_number": "C-1"})
    payment = Payment.get()
    client.post(f"/admin/payments/cancel/{payment.id}", data={"x-reason": ""})
    assert Payment.get_by_id(payment.id).cancelled_at is None
    client.post(f"/admin/payments/cancel/{payment.id}", data={"x-reason": "Ошибка кассира"})
    assert Payment.get_by_id(payment.id).cancel_reason == "Ошибка кассира"
    assert Agreement.get_by_id(agreement.id).balance == Decimal("0.00")
    assert LedgerEntry.select().where(LedgerEntry.kind == "payment_reversal").count() == 1


def test_cancel_needs_its_own_permission(client, admin, login_as):
    agreement = make_agreement()
    login_as()
    client.post(f"/admin/payments/{agreement.id}", data={"amount": "500", "document_number": "C-1"})
    client.get("/logout")
    make_manager("cashier", permissions=["subscribers.view", "payments.create"])
    login_as("cashier", PASSWORD)
    assert "x-reason" not in client.get(f"/admin/payments?agreement={agreement.id}").get_data(as_text=True)
    assert client.post(f"/admin/payments/cancel/{Payment.get().id}", data={"x-reason": "x"}).status_code == 403


def test_promised_payment_from_the_agreement_page(client, admin, login_as):
    """Seed 002 «Обещанный платеж» by staff: within the group's maximum it
    is given and shown; above it the form says why and nothing changes."""
    from lanbill.models import Group, PromisedPayment, SubscriberGroup

    group = Group.create(name="Обещанные", promise_allowed=True, promise_max_amount=Decimal("500"),
                         promise_days=3, promise_interval_days=30)
    subscriber = make_subscriber()
    SubscriberGroup.create(subscriber=subscriber.id, group=group.id)
    agreement = make_agreement(subscriber)
    login_as()
    page = client.get(f"/admin/agreements/{agreement.id}").get_data(as_text=True)
    assert 'id="promise"' in page and "500,00" in page
    refused = client.post(f"/admin/agreements/{agreement.id}/promise", data={"p-amount": "900"})
    assert refused.status_code == 422
    assert "не больше 500" in refused.get_data(as_text=True)
    assert PromisedPayment.select().count() == 0
    given = client.post(f"/admin/agreements/{agreement.id}/promise", data={"p-amount": "300,00"})
    assert given.status_code == 302
    assert Agreement.get_by_id(agreement.id).promised_amount == Decimal("300.00")
    page = client.get(f"/admin/agreements/{agreement.id}").get_data(as_text=True)
    section = page[page.index('id="promise"'):]
    assert "Действует:" in section and "300,00" in section[:400] and "&lt;" not in section[:400], section[:400]


def test_promised_payment_not_allowed_changes_nothing(client, admin, login_as):
    agreement = make_agreement()
    login_as()
    page = client.get(f"/admin/agreements/{agreement.id}").get_data(as_text=True)
    assert "Сейчас невозможен" in page
    refused = client.post(f"/admin/agreements/{agreement.id}/promise", data={"p-amount": "100"})
    assert refused.status_code == 422
    assert "обещанный платёж не разрешён" in refused.get_data(as_text=True)
    assert Agreement.get_by_id(agreement.id).promised_amount == Decimal("0.00")


def test_agreement_number_is_edited_in_place_and_stays_unique(client, admin, login_as):
    from lanbill.customers import search_index
    from lanbill.models import AuditLog

    first = make_agreement(number="A-1")
    make_agreement(number="A-2")
    login_as()
    taken = client.post(f"/admin/agreements/{first.id}/number", data={"n-number": "A-2"})
    assert taken.status_code == 422
    assert "A-2 уже занят" in taken.get_data(as_text=True)
    assert Agreement.get_by_id(first.id).number == "A-1"
    search_index.refresh()
    saved = client.post(f"/admin/agreements/{first.id}/number", data={"n-number": "  Д-777 "})
    assert saved.status_code == 302
    assert Agreement.get_by_id(first.id).number == "Д-777"
    row = AuditLog.select().where(AuditLog.action == "agreement.number").get()
    assert row.before == {"number": "A-1"} and row.after == {"number": "Д-777"}
    # the search finds the agreement by its new number
    search_index.refresh()
    page = client.get("/admin/subscribers?q=Д-777").get_data(as_text=True)
    assert f"/admin/subscribers/{first.subscriber_id}" in page


def test_credit_limit_shown_and_typed_with_a_comma(client, admin, login_as):
    agreement = make_agreement()
    login_as()
    page = client.get(f"/admin/agreements/{agreement.id}").get_data(as_text=True)
    assert 'name="c-credit_limit"' in page and 'value="0,00"' in page
    saved = client.post(f"/admin/agreements/{agreement.id}/credit", data={"c-credit_limit": "1500,50"})
    assert saved.status_code == 302
    assert Agreement.get_by_id(agreement.id).credit_limit == Decimal("1500.50")
    refused = client.post(f"/admin/agreements/{agreement.id}/credit", data={"c-credit_limit": "-5"})
    assert refused.status_code == 422
    assert Agreement.get_by_id(agreement.id).credit_limit == Decimal("1500.50")


def test_pay_date_of_today_means_now(client, admin, login_as):
    """The form fills in today's date; billing.payments books it at the
    moment it is entered, as the API does."""
    agreement = make_agreement()
    login_as()
    before = now_utc().replace(microsecond=0)
    response = client.post(f"/admin/payments/{agreement.id}", data={
        "amount": "5", "document_number": "N-1", "method": "cash", "paid_at": today().isoformat()})
    assert response.status_code == 302
    assert before <= Payment.get().paid_at <= now_utc()


def test_payment_leaves_an_audit_row_with_the_client_address(client, admin, login_as):
    agreement = make_agreement()
    login_as()
    response = client.post(f"/admin/payments/{agreement.id}", environ_base={"REMOTE_ADDR": "198.51.100.4"},
                           data={"amount": "5", "document_number": "N-2", "method": "cash"})
    assert response.status_code == 302
    row = AuditLog.get(AuditLog.action == "payment.create")
    assert (row.actor, row.ip, row.object_id) == ("manager:admin", "198.51.100.4", str(agreement.id))

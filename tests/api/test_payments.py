"""API: payments — booking, idempotency by external_id, cancelling, and
every bad input refused with nothing written."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from lanbill.models import Agreement, AuditLog, LedgerEntry, Payment
from tests.factories import make_agreement, table_counts


def pay(api, agreement, **over):
    data = {"agreement_id": agreement.id, "amount": "650.00", "document_number": "ПП-1"}
    data.update(over)
    return api.post("/payments", json=data)


def test_payment_is_booked_and_returned_with_money_as_string(api):
    agreement = make_agreement()
    response = pay(api, agreement, amount="650,50", comment="касса", method="bank")
    assert response.status_code == 201
    body = response.json
    assert body["amount"] == "650.50" and body["method"] == "bank" and body["gateway"] == "api"
    assert body["comment"] == "касса" and body["cancelled"] is False
    assert body["paid_at"].endswith("Z")
    assert Agreement.get_by_id(agreement.id).balance == Payment.get_by_id(body["id"]).amount
    again = api.get(f"/payments/{body['id']}")
    assert again.status_code == 200 and again.json == body


def test_integer_amount_is_accepted(api):
    agreement = make_agreement()
    response = pay(api, agreement, amount=300)
    assert response.status_code == 201 and response.json["amount"] == "300.00"


def test_same_external_id_answers_200_with_the_same_payment_and_books_once(api):
    agreement = make_agreement()
    first = pay(api, agreement, external_id="bank-42")
    before = table_counts()
    second = pay(api, agreement, external_id="bank-42")
    assert first.status_code == 201 and second.status_code == 200
    assert second.json["id"] == first.json["id"]
    assert table_counts() == before
    assert Agreement.get_by_id(agreement.id).balance == 650
    assert LedgerEntry.select().where(LedgerEntry.kind == "payment").count() == 1


def test_same_external_id_with_another_amount_is_a_conflict(api):
    agreement = make_agreement()
    pay(api, agreement, external_id="bank-43")
    before = table_counts()
    response = pay(api, agreement, external_id="bank-43", amount="1.00")
    assert response.status_code == 409 and "external_id" in response.json["fields"]
    assert table_counts() == before


BAD_PAYMENTS = [
    ({"amount": "-5.00"}, 422, "amount"),
    ({"amount": "0"}, 422, "amount"),
    ({"amount": "10.005"}, 422, "amount"),
    ({"amount": 10.005}, 422, "amount"),  # a JSON number with three decimals
    ({"amount": 10.5}, 422, "amount"),  # any float: the exact amount is already lost
    ({"amount": True}, 422, "amount"),
    ({"amount": ["10"]}, 422, "amount"),
    ({"amount": "десять"}, 422, "amount"),
    ({"amount": None}, 422, "amount"),
    ({"document_number": ""}, 422, "document_number"),
    ({"document_number": 17}, 422, "document_number"),
    ({"agreement_id": "1"}, 422, "agreement_id"),
    ({"agreement_id": 999999}, 422, "agreement_id"),  # unknown agreement
    ({"external_id": 5}, 422, "external_id"),
    ({"paid_at": "yesterday"}, 422, "paid_at"),
    ({"paid_at": "2999-01-01"}, 422, "paid_at"),
    ({"method": "barter"}, 422, "method"),
    ({"comment": {"a": 1}}, 422, "comment"),
    ({"amont": "10"}, 422, "amont"),  # unknown field, a typo
]


def test_bad_payment_is_refused_and_nothing_is_written(api):
    agreement = make_agreement()
    for over, status, field in BAD_PAYMENTS:
        before = table_counts()
        response = pay(api, agreement, **over)
        assert response.status_code == status, (over, response.json)
        assert field in response.json["fields"], over
        assert response.json["error"]
        assert table_counts() == before, over


@pytest.mark.parametrize("missing", ["agreement_id", "amount", "document_number"])
def test_missing_field_is_refused_and_nothing_is_written(api, missing):
    agreement = make_agreement()
    data = {"agreement_id": agreement.id, "amount": "10", "document_number": "A"}
    del data[missing]
    before = table_counts()
    response = api.post("/payments", json=data)
    assert response.status_code == 422 and response.json["fields"][missing] == "Required."
    assert table_counts() == before


@pytest.mark.parametrize("raw", ["not json", "[1, 2]", '"text"', "{", ""])
def test_body_that_is_not_a_json_object_is_400(api, raw):
    before = table_counts()
    response = api.post("/payments", data=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json["error"] == "The request body must be a JSON object."
    assert table_counts() == before


@time_machine.travel(dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC))
def test_backdated_payment_keeps_its_pay_date(api):
    agreement = make_agreement()
    response = pay(api, agreement, paid_at="2026-01-15")
    assert response.status_code == 201
    # 2026-01-15 00:00 Moscow is 21:00 UTC the day before
    assert response.json["paid_at"] == "2026-01-14T21:00:00Z"


@time_machine.travel(dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC), tick=False)
def test_pay_date_of_today_means_now(api):
    """The same rule as the admin form (billing.payments): today's date is
    the moment the payment is booked, not 00:00."""
    agreement = make_agreement()
    response = pay(api, agreement, paid_at="2026-03-10")
    assert response.status_code == 201
    assert response.json["paid_at"] == "2026-03-10T12:00:00Z"


def test_payment_leaves_an_audit_row_with_the_client_address(api):
    agreement = make_agreement()
    response = api.post("/payments", json={"agreement_id": agreement.id, "amount": "10.00",
                                           "document_number": "IP-1"}, environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert response.status_code == 201
    row = AuditLog.get(AuditLog.action == "payment.create")
    assert (row.actor, row.ip, row.object_id) == ("api:admin", "203.0.113.9", str(agreement.id))


def test_cancel_posts_a_reversal_and_only_once(api):
    agreement = make_agreement()
    payment_id = pay(api, agreement).json["id"]
    response = api.post(f"/payments/{payment_id}/cancel", json={"reason": "ошибка кассира"})
    assert response.status_code == 200
    assert response.json["cancelled"] is True and response.json["cancel_reason"] == "ошибка кассира"
    assert response.json["cancelled_by"] == "api:admin"
    assert Agreement.get_by_id(agreement.id).balance == 0
    kinds = [e.kind for e in LedgerEntry.select().order_by(LedgerEntry.id)]
    assert kinds == ["payment", "payment_reversal"]
    before = table_counts()
    again = api.post(f"/payments/{payment_id}/cancel", json={"reason": "ещё раз"})
    assert again.status_code == 409
    assert table_counts() == before


def test_cancel_needs_a_reason_and_an_existing_payment(api):
    agreement = make_agreement()
    payment_id = pay(api, agreement).json["id"]
    before = table_counts()
    assert api.post(f"/payments/{payment_id}/cancel", json={"reason": "  "}).status_code == 422
    assert api.post(f"/payments/{payment_id}/cancel", json={}).status_code == 422
    assert api.post(f"/payments/{payment_id}/cancel", json={"reason": 5}).status_code == 422
    assert api.post("/payments/999999/cancel", json={"reason": "x"}).status_code == 404
    assert table_counts() == before


def test_unknown_payment_is_404(api):
    response = api.get("/payments/424242")
    assert response.status_code == 404 and response.json["error"] == "Payment not found."


def test_list_payments_newest_first_and_by_external_id(api):
    agreement = make_agreement()
    other = make_agreement()
    first = pay(api, agreement, external_id="ext-1").json
    second = pay(api, agreement, amount="5").json
    pay(api, other, amount="7")
    listed = api.get(f"/payments?agreement_id={agreement.id}").json
    assert [p["id"] for p in listed["items"]] == [second["id"], first["id"]]
    assert [p["id"] for p in api.get("/payments?external_id=ext-1").json["items"]] == [first["id"]]
    assert api.get("/payments").json["total"] == 3


def test_concurrent_repeats_of_one_external_id_book_once(api, app):
    """Six clients send the same gateway notification at once: one 201,
    five 200 with the same payment, one ledger entry."""
    import threading

    agreement = make_agreement()
    barrier = threading.Barrier(6)
    answers = []

    def send():
        client = app.test_client()
        barrier.wait()
        response = client.post("/api/v1/payments", json={
            "agreement_id": agreement.id, "amount": "99.90", "document_number": "RACE", "external_id": "race-1"},
            headers={"Authorization": f"Bearer {api.token}"})
        answers.append((response.status_code, response.json["id"]))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _ in answers) == [200] * 5 + [201]
    assert len({payment_id for _, payment_id in answers}) == 1
    assert Payment.select().count() == 1
    assert Agreement.get_by_id(agreement.id).balance == Payment.get().amount

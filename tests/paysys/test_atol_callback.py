"""ATOL Online's callback at /pay/atol/callback, over HTTP through the
application, against the local fake ATOL server: the body is never
trusted — the uuid must be one we sent, and the report is read back from
ATOL before the fiscal attributes are stored."""

from __future__ import annotations

import pytest

from lanbill.models.receipts import FiscalReceipt
from lanbill.paysys import receipts
from tests.factories import make_agreement
from tests.paysys.fake_atol import FakeAtol
from tests.paysys.test_receipts import fiscal, pay, receipt_of


@pytest.fixture
def atol():
    fake = FakeAtol().start()
    yield fake
    fake.stop()


def _sent_and_waiting(atol):
    fiscal(atol, callback_url="https://billing.example.ru/pay/atol/callback")
    payment = pay(make_agreement())
    atol.wait_polls = 1
    receipts.send_due()
    receipt = receipt_of(payment)
    assert receipt.status == "wait" and receipt.uuid
    return receipt


def test_the_sell_request_names_the_callback_address(app, atol):
    receipt = _sent_and_waiting(atol)
    sent = atol.documents[receipt.uuid]["body"]
    assert sent["service"]["callback_url"] == "https://billing.example.ru/pay/atol/callback"


def test_a_callback_is_read_back_and_atols_own_report_stored_not_the_body(app, client, atol):
    receipt = _sent_and_waiting(atol)
    forged = {"uuid": receipt.uuid, "status": "done", "error": None,
              "payload": {"fn_number": "1", "fiscal_document_number": "2", "fiscal_document_attribute": "3",
                          "ofd_receipt_url": "https://evil.example/"}}
    polls_before = atol.documents[receipt.uuid]["polls"]
    response = client.post(f"/pay/atol/callback/{receipt.uuid}", json=forged)
    assert response.status_code == 200 and response.get_json() == {"result": "done"}
    assert atol.documents[receipt.uuid]["polls"] == polls_before + 1  # asked ATOL itself
    done = FiscalReceipt.get_by_id(receipt.id)
    assert done.status == "done" and done.done_at is not None
    assert done.fn_number == "9999078900012345" and done.fiscal_document_attribute.startswith("38492160")
    assert done.ofd_receipt_url == f"https://ofd.example.ru/rec/{receipt.uuid}"
    # a repeated callback changes nothing and does not ask ATOL again
    again = client.post("/pay/atol/callback", json=forged)
    assert again.status_code == 200 and atol.documents[receipt.uuid]["polls"] == polls_before + 1


def test_a_callback_claiming_done_while_atol_says_wait_stores_nothing(app, client, atol):
    receipt = _sent_and_waiting(atol)
    atol.wait_polls = 10
    response = client.post("/pay/atol/callback", json={"uuid": receipt.uuid, "status": "done",
                                                       "payload": {"fn_number": "1"}})
    assert response.status_code == 200 and response.get_json() == {"result": "wait"}
    kept = FiscalReceipt.get_by_id(receipt.id)
    assert kept.status == "wait" and kept.fn_number == ""


def test_a_fail_report_read_back_marks_the_receipt_failed(app, client, atol):
    receipt = _sent_and_waiting(atol)
    atol.fail_reports.add(receipt.uuid)
    response = client.post("/pay/atol/callback", json={"uuid": receipt.uuid, "status": "done"})
    assert response.status_code == 200 and response.get_json() == {"result": "failed"}
    failed = FiscalReceipt.get_by_id(receipt.id)
    assert failed.status == "failed" and "НДС" in failed.last_error


def test_unknown_uuid_bad_body_and_mismatched_uuid_are_refused_without_asking_atol(app, client, atol):
    receipt = _sent_and_waiting(atol)
    asked = len(atol.requests)
    assert client.post("/pay/atol/callback", json={"uuid": "00000000-0000-0000-0000-000000000000"}).status_code == 404
    assert client.post("/pay/atol/callback", data="not json", content_type="application/json").status_code == 400
    assert client.post(f"/pay/atol/callback/{receipt.uuid}", json={"uuid": "other"}).status_code == 400
    assert client.post("/pay/atol/callback", json={}).status_code == 404
    assert len(atol.requests) == asked
    assert FiscalReceipt.get_by_id(receipt.id).status == "wait"


def test_atol_unreachable_answers_503_and_the_receipt_waits(app, client, atol):
    receipt = _sent_and_waiting(atol)
    atol.stop()
    response = client.post("/pay/atol/callback", json={"uuid": receipt.uuid})
    assert response.status_code == 503
    assert FiscalReceipt.get_by_id(receipt.id).status == "wait"


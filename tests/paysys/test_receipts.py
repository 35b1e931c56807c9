"""54-FZ receipts (DOMAIN-RULES §4) against a local fake ATOL Online v5
server: which payments get one, the body on the wire, retries with
back-off (a receipt that fails twice then succeeds), the refund on cancel,
token expiry, ATOL's own refusal, and the payment never failing because of
a receipt."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from lanbill.actor import Actor
from lanbill.billing.payments import cancel_payment, post_payment
from lanbill.clock import now_utc
from lanbill.customers.operators import default_operator
from lanbill.errors import ValidationError
from lanbill.models import Payment
from lanbill.models.receipts import FiscalReceipt, FiscalSettings
from lanbill.paysys import receipts
from tests.factories import make_agreement, make_subscriber
from tests.paysys.fake_atol import FakeAtol
from tests.paysys.helpers import make_registry_system

STAFF = Actor("manager:test", is_staff=True)


@pytest.fixture
def atol():
    fake = FakeAtol().start()
    yield fake
    fake.stop()


def fiscal(atol, **over):
    data = {"enabled": True, "api_url": atol.url, "login": atol.login, "password": atol.password,
            "group_code": atol.group, "inn": "4027000011", "sno": "usn_income",
            "payment_address": "https://lk.example.ru", "company_email": "kassa@example.ru", "vat": "none",
            "settlement_mode": "advance", "item_name": "Услуги связи по договору {agreement}"}
    data.update(over)
    return receipts.save_settings(default_operator().id, data, actor=STAFF)


def pay(agreement, amount="650.50", **kw):
    kw.setdefault("method", "cash")
    payment, _ = post_payment(agreement, amount, "ПКО-1", actor=STAFF, **kw)
    return payment


def receipt_of(payment, operation="sell"):
    return FiscalReceipt.get_or_none((FiscalReceipt.payment == payment.id) & (FiscalReceipt.operation == operation))


# --- which payments -------------------------------------------------------------------------


def test_no_fiscal_settings_no_receipt(app):
    assert receipt_of(pay(make_agreement())) is None


def test_which_staff_and_system_payments_get_a_receipt(app, atol):
    fiscal(atol)
    person = make_agreement(make_subscriber(kind="individual"))
    company = make_agreement(make_subscriber(kind="legal", name='ООО "Ромашка"', inn="4028011111"))
    assert receipt_of(pay(person, method="cash")) is not None
    assert receipt_of(pay(person, method="card")) is not None
    assert receipt_of(pay(person, method="bank")) is not None
    assert receipt_of(pay(company, method="bank")) is None
    assert receipt_of(pay(person, method="gateway")) is None
    with_receipt = make_registry_system(code="bank-people", needs_receipt=True)
    agent = make_registry_system(code="terminals", needs_receipt=False)
    assert receipt_of(pay(person, method="bank", payment_system=with_receipt, external_id="a1")) is not None
    assert receipt_of(pay(person, method="bank", payment_system=agent, external_id="b1")) is None


def test_switched_off_settings_send_nothing(app, atol):
    fiscal(atol, enabled=False)
    assert receipt_of(pay(make_agreement())) is None


def test_a_promised_payment_gets_no_receipt(app, atol):
    from lanbill.billing.promises import request_promise
    from lanbill.models import Agreement, Group

    fiscal(atol)
    Group.update(promise_allowed=True, promise_max_amount=Decimal("500.00")).where(Group.is_system == True).execute()  # noqa: E712
    agreement = make_agreement()
    request_promise(agreement, "100", actor=STAFF)
    assert Agreement.get_by_id(agreement.id).promised_amount == Decimal("100.00")
    assert FiscalReceipt.select().count() == 0


def test_a_failing_receipt_queue_never_fails_the_payment(app, atol):
    """The receiver writes in a savepoint: a database refusing the receipt
    row leaves the payment booked."""
    from lanbill.db import database, is_sqlite

    fiscal(atol)
    if is_sqlite():
        database.execute_sql("CREATE TRIGGER no_receipts BEFORE INSERT ON fiscal_receipt "
                             "BEGIN SELECT RAISE(ABORT, 'no space'); END")
    else:
        database.execute_sql("CREATE OR REPLACE FUNCTION no_receipts() RETURNS trigger AS $$ "
                             "BEGIN RAISE EXCEPTION 'no space'; END; $$ LANGUAGE plpgsql")
        database.execute_sql("CREATE TRIGGER no_receipts BEFORE INSERT ON fiscal_receipt FOR EACH ROW "
                             "EXECUTE FUNCTION no_receipts()")
    try:
        agreement = make_agreement()
        payment = pay(agreement)
    finally:
        database.execute_sql("DROP TRIGGER no_receipts" + ("" if is_sqlite() else " ON fiscal_receipt"))
    assert Payment.get_by_id(payment.id).amount == Decimal("650.50")
    assert receipt_of(payment) is None


# --- sending --------------------------------------------------------------------------------


def test_the_sell_body_on_the_wire_and_the_fiscal_attributes_stored(app, atol):
    fiscal(atol)
    agreement = make_agreement(make_subscriber(email="ivanov@example.ru"), number="D-77")
    payment = pay(agreement, "650.50")
    summary = receipts.send_due()
    assert summary.as_dict() == {"sent": 1, "done": 1, "retried": 0, "failed": 0}
    body = atol.sells()[0]
    assert body["external_id"] == f"pay-{payment.id}"
    receipt = body["receipt"]
    assert receipt["client"] == {"email": "ivanov@example.ru"}
    assert receipt["company"] == {"email": "kassa@example.ru", "sno": "usn_income", "inn": "4027000011",
                                  "payment_address": "https://lk.example.ru"}
    item = receipt["items"][0]
    assert item["name"] == "Услуги связи по договору D-77"
    assert (item["price"], item["sum"], item["quantity"], item["measure"]) == (
        Decimal("650.50"), Decimal("650.50"), 1, 0)
    assert (item["payment_method"], item["payment_object"], item["vat"]) == ("advance", 10, {"type": "none"})
    assert receipt["payments"] == [{"type": 0, "sum": Decimal("650.50")}]  # cash at the desk
    assert receipt["total"] == Decimal("650.50")
    stored = receipt_of(payment)
    assert stored.status == "done" and stored.fn_number == "9999078900012345"
    assert stored.fiscal_document_number == "1001" and stored.fiscal_document_attribute == "3849216001"
    assert stored.shift_number == "23" and stored.receipt_datetime == "07.12.2026 00:00:05"
    assert stored.ofd_receipt_url.startswith("https://ofd.example.ru/rec/")
    assert receipts.send_due().as_dict() == {"sent": 0, "done": 0, "retried": 0, "failed": 0}


def test_full_prepayment_mode_sends_a_service_item_and_cashless_payment(app, atol):
    fiscal(atol, settlement_mode="full_prepayment", vat="vat22")
    pay(make_agreement(), "100", method="card")
    receipts.send_due()
    item = atol.sells()[0]["receipt"]["items"][0]
    assert (item["payment_method"], item["payment_object"], item["vat"]) == (
        "full_prepayment", 4, {"type": "vat22"})
    assert atol.sells()[0]["receipt"]["payments"][0]["type"] == 1


def test_a_receipt_that_fails_twice_then_succeeds(app, atol):
    fiscal(atol)
    payment = pay(make_agreement())
    atol.fail_next = 2
    start = now_utc()
    assert receipts.send_due(start).retried == 1
    first = receipt_of(payment)
    assert (first.status, first.attempts) == ("pending", 1) and "Internal error" in first.last_error
    assert first.next_try_at == start + dt.timedelta(seconds=receipts.RETRY_BASE_SECONDS)
    assert receipts.send_due(start + dt.timedelta(seconds=30)).as_dict()["retried"] == 0  # not due yet
    second_try = start + dt.timedelta(seconds=61)
    assert receipts.send_due(second_try).retried == 1
    second = receipt_of(payment)
    assert second.attempts == 2 and second.next_try_at == second_try + dt.timedelta(seconds=120)
    summary = receipts.send_due(second_try + dt.timedelta(seconds=121))
    assert summary.done == 1
    done = receipt_of(payment)
    assert done.status == "done" and done.fn_number and done.last_error == ""
    assert len(atol.sells()) == 3 and {b["external_id"] for b in atol.sells()} == {f"pay-{payment.id}"}


def test_backoff_doubles_up_to_an_hour_and_then_the_receipt_fails(app, atol):
    assert [receipts.backoff(n).total_seconds() for n in (1, 2, 3, 7, 20)] == [60, 120, 240, 3600, 3600]
    fiscal(atol)
    payment = pay(make_agreement())
    atol.fail_next = 100
    moment = now_utc()
    for _ in range(receipts.MAX_ATTEMPTS):
        receipts.send_due(moment)
        moment += dt.timedelta(hours=2)
    failed = receipt_of(payment)
    assert failed.status == "failed" and failed.attempts == receipts.MAX_ATTEMPTS


def test_a_lost_answer_is_not_printed_twice(app, atol):
    """ATOL keeps one receipt per external_id: sending again after a lost
    answer returns the first one's uuid, which is then polled."""
    fiscal(atol)
    payment = pay(make_agreement())
    receipts.send_due()
    FiscalReceipt.update(status="pending", uuid="", fn_number="").where(FiscalReceipt.payment == payment.id).execute()
    receipts.send_due()
    receipts.send_due()
    assert receipt_of(payment).status == "done" and len(atol.documents) == 1


def test_refund_receipt_after_a_cancelled_payment(app, atol):
    fiscal(atol)
    payment = pay(make_agreement(make_subscriber(phone="8 (900) 123-45-67", email="")), "300")
    cancel_payment(payment, actor=STAFF, reason="ошибка кассира")
    refund = receipt_of(payment, "sell_refund")
    assert refund is not None and refund.status == "pending"
    receipts.send_due()  # the sale first, then the refund once the sale is done
    later = now_utc() + dt.timedelta(seconds=receipts.POLL_SECONDS + 1)
    receipts.send_due(later)
    assert receipt_of(payment).status == "done" and receipt_of(payment, "sell_refund").status == "done"
    refund_body = atol.sells("sell_refund")[0]
    assert refund_body["external_id"] == f"refund-{payment.id}"
    assert refund_body["receipt"]["client"] == {"phone": "+79001234567"}
    assert refund_body["receipt"]["total"] == Decimal("300.00")


def test_no_refund_receipt_for_a_payment_without_a_sale_receipt(app, atol):
    payment = pay(make_agreement())
    fiscal(atol)
    cancel_payment(payment, actor=STAFF, reason="x")
    assert FiscalReceipt.select().count() == 0


def test_an_expired_token_is_renewed_once_and_the_receipt_goes_through(app, atol):
    fiscal(atol)
    pay(make_agreement())
    receipts.send_due()
    assert atol.token_requests == 1
    stored = FiscalSettings.get()
    assert stored.token == "tok-1" and stored.token_expires_at > now_utc()
    second = pay(make_agreement())
    receipts.send_due()
    assert atol.token_requests == 1  # the stored token is used again
    atol.expire_tokens()
    third = pay(make_agreement())
    receipts.send_due()
    assert atol.token_requests == 2
    assert receipt_of(second).status == "done" and receipt_of(third).status == "done"
    assert FiscalSettings.get().token == "tok-2"


def test_wrong_login_fails_the_receipt_for_a_person_to_fix(app, atol):
    fiscal(atol, password="wrong")
    payment = pay(make_agreement())
    assert receipts.send_due().failed == 1
    assert receipt_of(payment).status == "failed"


def test_atols_refusal_and_fail_report_need_a_person_then_retry_works(app, atol):
    fiscal(atol)
    refused = pay(make_agreement())
    atol.refuse_next = 1
    receipts.send_due()
    assert receipt_of(refused).status == "failed" and "валидации" in receipt_of(refused).last_error
    receipts.retry(receipt_of(refused).id, actor=STAFF)
    assert receipt_of(refused).status == "pending"
    receipts.send_due()
    assert receipt_of(refused).status == "done"


def test_fail_report_marks_the_receipt_failed(app, atol):
    fiscal(atol)
    payment = pay(make_agreement())
    atol.wait_polls = 1
    receipts.send_due()
    receipt = receipt_of(payment)
    assert receipt.status == "wait"
    atol.fail_reports.add(receipt.uuid)
    receipts.send_due(now_utc() + dt.timedelta(seconds=receipts.POLL_SECONDS + 1))
    failed = receipt_of(payment)
    assert failed.status == "failed" and "НДС" in failed.last_error


def test_settings_validation_and_the_password_kept_encrypted(app, atol):
    with pytest.raises(ValidationError) as refused:
        receipts.save_settings(default_operator().id, {"api_url": "ftp://x", "inn": "12", "sno": "x"}, actor=STAFF)
    assert {"api_url", "inn", "sno", "password", "login"} <= set(refused.value.fields)
    settings = fiscal(atol)
    from lanbill.db import database

    raw = database.execute_sql(f"SELECT password FROM fiscal_settings WHERE id = {int(settings.id)}").fetchone()[0]
    assert raw != atol.password and atol.password not in raw
    data = {k: getattr(settings, k) for k in ("api_url", "login", "group_code", "inn", "sno", "payment_address",
                                              "company_email", "vat", "settlement_mode", "item_name")}
    kept = receipts.save_settings(default_operator().id, dict(data, enabled=True, password=""), actor=STAFF)
    assert kept.password == atol.password


def test_cli_receipts_send(app, atol, runner):
    fiscal(atol)
    pay(make_agreement())
    result = runner.invoke(args=["receipts", "send"])
    assert result.exit_code == 0 and "sent 1, done 1" in result.output


def test_the_worker_job_sends_due_receipts(app, atol):
    from lanbill.jobs import send_receipts

    fiscal(atol)
    payment = pay(make_agreement())
    assert send_receipts.call_local() == {"sent": 1, "done": 1, "retried": 0, "failed": 0}
    assert receipt_of(payment).status == "done"

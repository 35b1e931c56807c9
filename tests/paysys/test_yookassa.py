"""ЮKassa against a local fake ЮKassa (DOMAIN-RULES §3.5): the cabinet's
"Pay online" creates the payment with an Idempotence-Key and redirects;
a notification books only after the read-back agrees; repeats book
nothing; ЮKassa being down books nothing and asks to be called again."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest

from lanbill.models import Agreement, Payment
from lanbill.models.online_payments import AutoPayment, OnlinePayment
from lanbill.paysys import systems, yookassa
from tests.cabinet.helpers import log_in, make_cabinet_subscriber, submit, text_of
from tests.factories import ACTOR, table_counts
from tests.pay.helpers import fresh_system_cache  # noqa: F401 - autouse fixture
from tests.paysys.fake_yookassa import FakeYooKassa


@pytest.fixture
def fake():
    with FakeYooKassa() as server:
        yield server


@pytest.fixture
def kassa(app, fake):
    return systems.create_system({"code": "kassa", "name": "ЮKassa", "kind": "yookassa", "password": fake.secret,
                                  "options": {"shop_id": fake.shop_id, "api_url": fake.api_url},
                                  "min_amount": "1.00", "max_amount": "100000.00"}, actor=ACTOR)


@pytest.fixture
def subscriber(app):
    return make_cabinet_subscriber(name="Смирнова Анна")


def notification(fake, payment_id, event="payment.succeeded", **override):
    obj = {k: v for k, v in fake.payments[payment_id].items() if not k.startswith("_")}
    obj.update(override)
    return {"type": "notification", "event": event, "object": obj}


def start_payment(client, agreement, amount="650,00", method="bank_card", save=False):
    values = {"amount": amount, "method": method}
    if save:
        values["save_card"] = "y"
    response = submit(client, "/pay-online", values)
    assert response.status_code == 302, text_of(response)[:1500]
    return response


def test_pay_online_creates_the_payment_at_yookassa_and_redirects(client, kassa, fake, subscriber):
    sub, agreement, account = subscriber
    log_in(client, agreement.number)
    page = client.get("/pay-online")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'value="650,00"' in html  # what the next month needs: the 650 rent
    assert "form-action 'self' https://yoomoney.ru" in page.headers["Content-Security-Policy"]
    assert fake.url in page.headers["Content-Security-Policy"]
    response = start_payment(client, agreement, amount="700,50", method="sbp")
    online = OnlinePayment.get()
    assert response.headers["Location"] == f"{fake.url}/checkout/{online.provider_id}"
    sent = fake.requests[-1]
    body = json.loads(sent["body"])
    assert sent["headers"]["Idempotence-Key"] == online.idempotence_key
    token = base64.b64encode(f"{fake.shop_id}:{fake.secret}".encode()).decode()
    assert sent["headers"]["Authorization"] == f"Basic {token}"
    assert body["amount"] == {"value": "700.50", "currency": "RUB"}
    assert body["capture"] is True
    assert body["description"] == f"Оплата услуг связи по договору {agreement.number}"
    assert body["metadata"] == {"agreement": agreement.number, "agreement_id": str(agreement.id),
                                "online_payment": online.idempotence_key}
    assert body["payment_method_data"] == {"type": "sbp"}
    assert body["confirmation"]["type"] == "redirect"
    assert body["confirmation"]["return_url"].endswith(f"/pay-online/return/{online.idempotence_key}")
    assert "save_payment_method" not in body
    assert online.status == "pending" and online.amount == Decimal("700.50") and online.payment_id is None
    assert Payment.select().count() == 0


def test_notification_books_after_the_read_back_and_a_repeat_books_nothing(client, kassa, fake, subscriber):
    sub, agreement, account = subscriber
    log_in(client, agreement.number)
    start_payment(client, agreement)
    online = OnlinePayment.get()
    fake.pay(online.provider_id, notify=False)
    reads_before = sum(1 for r in fake.requests if r["method"] == "GET")
    answer = client.post("/pay/kassa/notify", json=notification(fake, online.provider_id))
    assert answer.status_code == 200 and answer.json == {"result": "booked"}
    assert sum(1 for r in fake.requests if r["method"] == "GET") == reads_before + 1  # read back
    payment = Payment.get()
    assert payment.external_id == online.provider_id and payment.gateway == "yookassa"
    assert payment.payment_system_id == kassa.id and payment.method == "card"
    assert Agreement.get_by_id(agreement.id).balance == Decimal("650.00")
    assert OnlinePayment.get_by_id(online.id).payment_id == payment.id
    for _ in range(3):
        assert client.post("/pay/kassa/notify", json=notification(fake, online.provider_id)).status_code == 200
    assert Payment.select().count() == 1
    assert Agreement.get_by_id(agreement.id).balance == Decimal("650.00")
    page = client.get(f"/pay-online/return/{online.idempotence_key}")
    assert "зачислен" in text_of(page)


@pytest.mark.parametrize("contradiction", [
    {"status": "pending"},
    {"amount": {"value": "65000.00", "currency": "RUB"}},
    {"amount": {"value": "650.00", "currency": "USD"}},
    {"metadata": {"agreement": "999999", "online_payment": "someone-else"}},
])
def test_a_notification_the_read_back_contradicts_books_nothing(client, kassa, fake, subscriber, contradiction):
    sub, agreement, account = subscriber
    log_in(client, agreement.number)
    start_payment(client, agreement)
    online = OnlinePayment.get()
    if contradiction.get("status") != "pending":
        fake.pay(online.provider_id, notify=False)
    fake.tamper = {k: v for k, v in contradiction.items() if k != "status"}
    # the notification itself claims success with our amount
    forged = notification(fake, online.provider_id, status="succeeded")
    before = table_counts()
    answer = client.post("/pay/kassa/notify", json=forged)
    assert answer.status_code == 200
    assert answer.json["result"] in ("pending", "mismatch")
    assert Payment.select().count() == 0
    assert Agreement.get_by_id(agreement.id).balance == 0
    assert table_counts()["payment"] == before["payment"]


def test_unknown_or_other_notifications_are_answered_and_ignored(client, kassa, fake):
    assert client.post("/pay/kassa/notify", json={"type": "notification", "event": "payment.succeeded",
                                                  "object": {"id": "not-ours"}}).json == {"result": "unknown"}
    assert client.post("/pay/kassa/notify", json={"type": "notification", "event": "refund.succeeded",
                                                  "object": {"id": "x"}}).json == {"result": "ignored"}
    assert client.post("/pay/kassa/notify", data="not json").status_code == 400
    assert client.post("/pay/nope/notify", json={}).status_code == 404
    assert Payment.select().count() == 0


def test_yookassa_down_answers_503_so_it_retries_and_books_nothing(client, kassa, fake, subscriber):
    sub, agreement, account = subscriber
    log_in(client, agreement.number)
    start_payment(client, agreement)
    online = OnlinePayment.get()
    fake.pay(online.provider_id, notify=False)
    fake.fail_with = 500
    assert client.post("/pay/kassa/notify", json=notification(fake, online.provider_id)).status_code == 503
    assert Payment.select().count() == 0
    fake.fail_with = None
    assert client.post("/pay/kassa/notify", json=notification(fake, online.provider_id)).json == {"result": "booked"}
    assert Payment.select().count() == 1


def test_cabinet_shows_a_clear_message_when_yookassa_is_down(client, kassa, fake, subscriber):
    sub, agreement, account = subscriber
    log_in(client, agreement.number)
    fake.fail_with = 503
    page = client.get("/pay-online")
    assert page.status_code == 200
    response = client.post("/pay-online", data={"agreement": agreement.id, "amount": "100", "method": "bank_card"})
    assert response.status_code == 503
    assert "не отвечает" in text_of(response)
    assert OnlinePayment.get().status == "failed"
    assert Payment.select().count() == 0


def test_return_page_reads_back_and_books_when_the_notification_is_late(client, kassa, fake, subscriber):
    sub, agreement, account = subscriber
    log_in(client, agreement.number)
    start_payment(client, agreement, save=True)
    online = OnlinePayment.get()
    assert online.save_method is True
    assert json.loads(fake.requests[-1]["body"])["save_payment_method"] is True
    page = client.get(f"/pay-online/return/{online.idempotence_key}")
    assert "не завершён" in text_of(page)
    fake.pay(online.provider_id, notify=False)
    page = client.get(f"/pay-online/return/{online.idempotence_key}")
    assert "зачислен" in text_of(page)
    assert Payment.select().count() == 1
    saved = AutoPayment.get(AutoPayment.agreement == agreement.id)
    assert saved.method_id == fake.payments[online.provider_id]["payment_method"]["id"]
    assert saved.enabled is False  # saving a card does not switch autopayment on by itself


def test_declined_payment_is_shown_and_not_booked(client, kassa, fake, subscriber):
    sub, agreement, account = subscriber
    log_in(client, agreement.number)
    start_payment(client, agreement)
    online = OnlinePayment.get()
    fake.cancel(online.provider_id)
    page = client.get(f"/pay-online/return/{online.idempotence_key}")
    assert "не прошёл" in text_of(page)
    assert OnlinePayment.get_by_id(online.id).status == "canceled"
    assert Payment.select().count() == 0


def test_someone_elses_return_page_is_404(client, kassa, fake, subscriber):
    sub, agreement, account = subscriber
    log_in(client, agreement.number)
    start_payment(client, agreement)
    online = OnlinePayment.get()
    other, other_agreement, _ = make_cabinet_subscriber()
    client.post("/sign-out", data={})
    client.delete_cookie("session")
    log_in(client, other_agreement.number)
    assert client.get(f"/pay-online/return/{online.idempotence_key}").status_code == 404


def test_amount_outside_the_limits_is_refused_in_russian(client, kassa, fake, subscriber):
    sub, agreement, account = subscriber
    log_in(client, agreement.number)
    response = client.post("/pay-online", data={"agreement": agreement.id, "amount": "200000", "method": "bank_card"})
    assert response.status_code == 422
    assert "больше" in text_of(response) or "Слишком" in text_of(response)
    response = client.post("/pay-online", data={"agreement": agreement.id, "amount": "abc", "method": "bank_card"})
    assert response.status_code == 422
    assert OnlinePayment.select().count() == 0


def test_menu_entry_and_page_exist_only_with_an_enabled_yookassa_system(client, fake, subscriber):
    sub, agreement, account = subscriber
    log_in(client, agreement.number)
    assert "/pay-online" not in client.get("/").get_data(as_text=True)
    assert client.get("/pay-online").status_code == 404
    system = systems.create_system({"code": "kassa", "name": "ЮKassa", "kind": "yookassa", "password": "s",
                                    "options": {"shop_id": "1", "api_url": fake.api_url}}, actor=ACTOR)
    assert "/pay-online" in client.get("/").get_data(as_text=True)
    systems.update_system(system.id, {"enabled": False}, actor=ACTOR)
    assert "/pay-online" not in client.get("/").get_data(as_text=True)


def test_notifications_from_outside_the_allowed_networks_are_refused(client, app, fake):
    systems.create_system({"code": "kassa", "name": "ЮKassa", "kind": "yookassa", "password": "s",
                           "allowed_networks": "185.71.76.0/27", "options": {"shop_id": "1", "api_url": fake.api_url}},
                          actor=ACTOR)
    response = client.post("/pay/kassa/notify", json={"type": "notification", "event": "payment.succeeded",
                                                      "object": {"id": "x"}})
    assert response.status_code == 403
    assert fake.requests == []


def test_create_payment_uses_the_key_as_idempotence_key_and_refuses_unknown_methods(kassa, fake, subscriber):
    sub, agreement, account = subscriber
    with pytest.raises(Exception) as refused:
        yookassa.create_payment(kassa, agreement, "100", method="cash", return_url="http://x/KEY")
    assert "method" in getattr(refused.value, "fields", {})
    online = yookassa.create_payment(kassa, agreement, "100", method="bank_card", return_url="http://x/KEY")
    assert fake.requests[-1]["headers"]["Idempotence-Key"] == online.idempotence_key
    assert json.loads(fake.requests[-1]["body"])["confirmation"]["return_url"] == f"http://x/{online.idempotence_key}"

"""Autopayment from a saved ЮKassa card (lanbill/paysys/autopay.py),
against the local fake ЮKassa: the notice before, the charge N days
before the monthly charge only when the funds fall short, once per
period, one retry then the subscriber is told, off and card removal at
once; the cabinet's switches and `flask autopay`."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from lanbill import events
from lanbill.billing.ledger import post_entry
from lanbill.errors import NotFound
from lanbill.models import Agreement, Payment
from lanbill.models.online_payments import AutoPayment, OnlinePayment
from lanbill.paysys import autopay, systems, yookassa
from tests.cabinet.helpers import log_in, make_cabinet_subscriber, submit, text_of
from tests.factories import ACTOR
from tests.pay.helpers import fresh_system_cache  # noqa: F401 - autouse fixture
from tests.paysys.fake_yookassa import FakeYooKassa

NOTICE_DAY, CHARGE_DAY = dt.date(2026, 1, 28), dt.date(2026, 1, 29)  # 3 days before 1 February


@pytest.fixture
def fake():
    with FakeYooKassa() as server:
        yield server


@pytest.fixture
def kassa(app, fake):
    return systems.create_system({"code": "kassa", "name": "ЮKassa", "kind": "yookassa", "password": fake.secret,
                                  "options": {"shop_id": fake.shop_id, "api_url": fake.api_url}}, actor=ACTOR)


@pytest.fixture
def saved(kassa):
    """A subscriber (one account, rent 650, balance 0) with a saved card and autopayment on."""
    subscriber, agreement, account = make_cabinet_subscriber()
    yookassa.remember_method(kassa, agreement, "pm-saved-1")
    autopay.set_autopayment(agreement, True, actor=ACTOR)
    return agreement


@pytest.fixture
def told():
    seen = {"failed": [], "upcoming": []}

    def failed(sender, **kw):
        seen["failed"].append(kw)

    def upcoming(sender, **kw):
        seen["upcoming"].append(kw)

    with events.autopayment_failed.connected_to(failed), events.autopayment_upcoming.connected_to(upcoming):
        yield seen


def charges(fake):
    return [json.loads(r["body"]) for r in fake.requests if r["method"] == "POST" and r["path"] == "/v3/payments"]


def test_notice_then_one_charge_of_the_shortfall_per_period(saved, fake, told):
    agreement = saved
    assert autopay.run_autopayments(day=dt.date(2026, 1, 20)).summary()["charged"] == 0
    assert told["upcoming"] == [] and charges(fake) == []
    result = autopay.run_autopayments(day=NOTICE_DAY)
    assert result.noticed == 1 and result.charged == 0
    assert told["upcoming"][0]["amount"] == Decimal("650.00")
    assert told["upcoming"][0]["charge_on"] == CHARGE_DAY
    assert autopay.run_autopayments(day=NOTICE_DAY).noticed == 0  # once
    result = autopay.run_autopayments(day=CHARGE_DAY)
    assert result.charged == 1
    sent = charges(fake)
    assert len(sent) == 1
    assert sent[0]["payment_method_id"] == "pm-saved-1" and sent[0]["amount"] == {"value": "650.00", "currency": "RUB"}
    payment = Payment.get()
    assert payment.amount == Decimal("650.00") and payment.gateway == "yookassa"
    assert Agreement.get_by_id(agreement.id).balance == Decimal("650.00")
    online = OnlinePayment.get()
    assert (online.purpose, online.period, online.status) == ("autopay", "2026-02", "succeeded")
    for day in (CHARGE_DAY, dt.date(2026, 1, 30), dt.date(2026, 1, 31)):
        post_entry(agreement.id, Decimal("-650.00"), "correction", actor=ACTOR)  # the money is gone again
        assert autopay.run_autopayments(day=day).charged == 0
    assert len(charges(fake)) == 1 and Payment.select().count() == 1


def test_funds_that_cover_the_next_month_charge_nothing(saved, fake):
    post_entry(saved.id, Decimal("650.00"), "correction", actor=ACTOR)
    assert autopay.run_autopayments(day=CHARGE_DAY).charged == 0
    assert charges(fake) == []


def test_fixed_amount_is_charged_instead_of_the_shortfall(saved, fake):
    autopay.set_autopayment(saved, True, actor=ACTOR, fixed_amount="1000,00")
    autopay.run_autopayments(day=CHARGE_DAY)
    assert charges(fake)[0]["amount"]["value"] == "1000.00"
    assert Agreement.get_by_id(saved.id).balance == Decimal("1000.00")


def test_a_declined_charge_is_retried_once_then_the_subscriber_is_told(saved, fake, told):
    fake.saved_charge_status = "canceled"
    first = autopay.run_autopayments(day=CHARGE_DAY)
    assert (first.failed, first.told) == (1, 0)
    second = autopay.run_autopayments(day=CHARGE_DAY)
    assert (second.failed, second.told) == (1, 1)
    assert told["failed"][0]["agreement"].id == saved.id
    assert autopay.run_autopayments(day=dt.date(2026, 1, 30)).summary()["failed"] == 0  # no third try
    assert len(charges(fake)) == 2 and Payment.select().count() == 0
    assert [o.status for o in OnlinePayment.select().order_by(OnlinePayment.id)] == ["canceled", "canceled"]


def test_a_failure_then_success_books_once_and_tells_nobody(saved, fake, told):
    fake.fail_with = 500  # ЮKassa unreachable
    assert autopay.run_autopayments(day=CHARGE_DAY).failed == 1
    fake.fail_with = None
    assert autopay.run_autopayments(day=CHARGE_DAY).charged == 1
    assert told["failed"] == [] and Payment.select().count() == 1


def test_switching_off_or_removing_the_card_stops_charges_at_once(saved, fake, kassa):
    autopay.set_autopayment(saved, False, actor=ACTOR)
    assert autopay.run_autopayments(day=CHARGE_DAY).charged == 0
    autopay.set_autopayment(saved, True, actor=ACTOR)
    autopay.remove_card(saved, actor=ACTOR)
    assert AutoPayment.get(AutoPayment.agreement == saved.id).method_id == ""
    assert autopay.run_autopayments(day=CHARGE_DAY).charged == 0
    assert charges(fake) == []
    with pytest.raises(NotFound):
        autopay.set_autopayment(saved, True, actor=ACTOR)  # no card any more


def test_subscriber_saves_a_card_and_switches_autopayment_in_the_cabinet(client, kassa, fake):
    subscriber, agreement, account = make_cabinet_subscriber()
    log_in(client, agreement.number)
    response = submit(client, "/pay-online", {"amount": "650,00", "method": "bank_card", "save_card": "y"})
    assert response.status_code == 302
    online = OnlinePayment.get()
    fake.pay(online.provider_id, notify=False)
    client.get(f"/pay-online/return/{online.idempotence_key}")
    stored = AutoPayment.get(AutoPayment.agreement == agreement.id)
    assert stored.method_id.startswith("pm-") and stored.enabled is False
    page = text_of(client.get("/pay-online"))
    assert "Карта сохранена" in page and "Автоплатёж выключен" in page
    on = client.post("/pay-online/autopayment", data={"agreement": agreement.id, "fixed_amount": "", "action": "on"})
    assert on.status_code == 302
    assert AutoPayment.get_by_id(stored.id).enabled is True
    assert "Автоплатёж включён" in text_of(client.get("/pay-online"))
    bad = client.post("/pay-online/autopayment", data={"agreement": agreement.id, "fixed_amount": "abc",
                                                       "action": "on"})
    assert bad.status_code == 302 and AutoPayment.get_by_id(stored.id).fixed_amount is None
    client.post("/pay-online/autopayment", data={"agreement": agreement.id, "fixed_amount": "", "action": "remove"})
    assert AutoPayment.get_by_id(stored.id).method_id == ""
    assert "Карта сохранена" not in text_of(client.get("/pay-online"))
    other, other_agreement, _ = make_cabinet_subscriber()
    foreign = client.post("/pay-online/autopayment", data={"agreement": other_agreement.id, "action": "off"})
    assert foreign.status_code == 404


def test_flask_autopay_command_runs_the_job(saved, fake, runner):
    result = runner.invoke(args=["autopay", "--day", CHARGE_DAY.isoformat()])
    assert result.exit_code == 0, result.output
    assert "'charged': 1" in result.output
    assert Payment.select().count() == 1


def test_the_worker_job_runs_autopayment(saved, fake):
    from lanbill.jobs import autopayments

    summary = autopayments.call_local()
    assert set(summary) == {"charged", "failed", "told", "noticed", "pending", "errors"}
    assert summary["errors"] == 0

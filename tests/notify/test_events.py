"""Each event's receiver: the signal a room sends queues the right text to
the subscriber's chosen, confirmed contacts, once, and never makes the
sender fail."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import time_machine

from lanbill import events
from lanbill.billing import blocks
from lanbill.billing.ledger import post_entry
from lanbill.billing.payments import post_payment
from lanbill.models import Account, Document, Manager, Message, Payment, Ticket
from lanbill.models.notify import NotifyTemplate, OutboxMessage
from lanbill.notify import outbox
from lanbill.notify.settings import notify_settings
from tests.factories import ACTOR, make_account, make_agreement, make_subscriber, make_tariff
from tests.notify.harness import confirm_contacts


def _customer(settings, smtp, sms, *, email="client@example.ru", phone="+79005556677"):
    subscriber = make_subscriber()
    agreement = make_agreement(subscriber)
    confirm_contacts(subscriber, settings, smtp=smtp, sms=sms, email_address=email, phone=phone)
    smtp.sink.clear()
    sms.received.clear()
    return subscriber, agreement


def test_a_payment_tells_the_subscriber_by_email_and_sms(app, settings, smtp, sms):
    subscriber, agreement = _customer(settings, smtp, sms)
    payment, _ = post_payment(agreement, Decimal("650.00"), "PP-1", actor=ACTOR)
    assert outbox.send_due(settings).sent == 2
    [mail] = smtp.sink.to("client@example.ru")
    assert mail["Subject"] == "Платёж зачислен"
    text = mail.get_body().get_content()
    assert "650,00\u00a0₽" in text and agreement.number in text and subscriber.name in text
    [message] = sms.to("+79005556677")
    assert "Платёж 650,00\u00a0₽ зачислен" in message["text"]
    keys = {m.idempotency_key for m in OutboxMessage.select().where(OutboxMessage.event == "payment")}
    assert keys == {f"payment:{payment.id}:{subscriber.id}:email", f"payment:{payment.id}:{subscriber.id}:sms"}


def test_the_same_payment_repeated_by_a_gateway_notifies_once(app, settings, smtp, sms):
    _, agreement = _customer(settings, smtp, sms)
    post_payment(agreement, Decimal("100.00"), "PP-2", actor=ACTOR, external_id="ext-1", gateway="api")
    post_payment(agreement, Decimal("100.00"), "PP-2", actor=ACTOR, external_id="ext-1", gateway="api")
    payment = Payment.get(Payment.external_id == "ext-1")
    events.payment_booked.send(payment=payment)  # even a repeated signal
    assert OutboxMessage.select().where(OutboxMessage.event == "payment").count() == 2
    outbox.send_due(settings)
    assert len(smtp.sink.to("client@example.ru")) == 1 and len(sms.to("+79005556677")) == 1


def test_without_confirmed_contacts_nothing_is_sent(app, settings):
    subscriber = make_subscriber(email="staff-entered@example.ru")
    agreement = make_agreement(subscriber)
    post_payment(agreement, Decimal("10.00"), "PP-3", actor=ACTOR)
    assert OutboxMessage.select().count() == 0


def test_a_broken_template_never_fails_the_payment(app, settings, smtp, sms):
    _, agreement = _customer(settings, smtp, sms)
    NotifyTemplate.create(event="payment", channel="email", subject="x", body="{{ no_such_value }}")
    payment, created = post_payment(agreement, Decimal("50.00"), "PP-4", actor=ACTOR)
    assert created and Payment.get_by_id(payment.id).amount == Decimal("50.00")
    assert OutboxMessage.select().where(OutboxMessage.event == "payment").count() == 0


def test_a_staff_template_is_used(app, settings, smtp, sms):
    from lanbill.notify.texts import save_template

    _, agreement = _customer(settings, smtp, sms)
    save_template("payment", "sms", "", "Спасибо! +{{ amount }}", actor=ACTOR)
    post_payment(agreement, Decimal("5.00"), "PP-5", actor=ACTOR)
    outbox.send_due(settings)
    assert sms.to("+79005556677")[0]["text"] == "Спасибо! +5,00\u00a0₽"


def test_a_balance_block_sends_the_signal_and_one_blocked_notice(app, settings, smtp, sms):
    subscriber, agreement = _customer(settings, smtp, sms)
    post_payment(agreement, Decimal("1000.00"), "PP-6", actor=ACTOR)
    first = make_account(agreement, tariff=make_tariff(scheme="daily", rent="300.00"))
    second = make_account(agreement, tariff=make_tariff(scheme="daily", rent="300.00"))
    heard = []

    def listener(sender=None, **kw):
        heard.append((kw["account"].id, kw["kind"]))

    with events.account_blocked.connected_to(listener):
        post_entry(agreement.id, Decimal("-1500.00"), "one_off", actor=ACTOR, comment="test charge")
    assert sorted(heard) == sorted([(first.id, "balance"), (second.id, "balance")])
    assert Account.get_by_id(first.id).blocked_balance
    blocked = list(OutboxMessage.select().where(OutboxMessage.event == "blocked"))
    assert sorted(m.channel for m in blocked) == ["email", "sms"]  # one per channel for both accounts
    outbox.send_due(settings)
    [mail] = [m for m in smtp.sink.to("client@example.ru") if "заблокирован" in m["Subject"]]
    assert agreement.number in mail.get_body().get_content()


def test_blocks_set_in_bulk_by_the_billing_run_send_the_signal_too(app, settings, smtp, sms):
    _, agreement = _customer(settings, smtp, sms)
    post_payment(agreement, Decimal("1000.00"), "PP-7", actor=ACTOR)
    account = make_account(agreement, tariff=make_tariff(scheme="daily", rent="300.00"))
    heard = []
    with events.account_blocked.connected_to(lambda sender=None, **kw: heard.append(kw["kind"])):
        assert blocks.set_flag_many([account.id], "balance", True, actor=ACTOR, reason="test") == 1
        blocks.set_flag_many([account.id], "admin", True, actor=ACTOR, reason="test")
        blocks.set_flag_many([account.id], "off", True, actor=ACTOR, reason="test")
    assert heard == ["balance", "admin"]
    assert OutboxMessage.select().where(OutboxMessage.event == "blocked").count() == 2


def test_a_staff_block_sends_the_signal_but_no_notice(app, settings, smtp, sms):
    _, agreement = _customer(settings, smtp, sms)
    post_payment(agreement, Decimal("1000.00"), "PP-8", actor=ACTOR)
    account = make_account(agreement, tariff=make_tariff(scheme="daily", rent="300.00"))
    heard = []
    with events.account_blocked.connected_to(lambda sender=None, **kw: heard.append(kw["kind"])):
        blocks.block_by_staff(account, actor=ACTOR, reason="проверка")
    assert heard == ["admin"]
    assert OutboxMessage.select().where(OutboxMessage.event == "blocked").count() == 0


def test_an_issued_document_goes_with_its_pdf(app, settings, smtp, sms, tmp_path):
    subscriber, agreement = _customer(settings, smtp, sms)
    folder = tmp_path / "documents" / "2026"
    folder.mkdir(parents=True)
    (folder / "act-7.pdf").write_bytes(b"%PDF-1.7 act seven")
    document = Document.create(agreement=agreement.id, kind="act", number="АКТ-2026-7", date=dt.date(2026, 1, 31),
                               amount=Decimal("650.00"), path="documents/2026/act-7.pdf")
    events.document_issued.send(document=document)
    events.document_issued.send(document=document)
    outbox.send_due(settings)
    [mail] = smtp.sink.to("client@example.ru")
    assert mail["Subject"] == "Акт оказанных услуг № АКТ-2026-7"
    [pdf] = list(mail.iter_attachments())
    assert pdf.get_filename() == "act-7.pdf" and pdf.get_content() == b"%PDF-1.7 act seven"
    assert "31.01.2026" in mail.get_body().get_content()
    # documents go by e-mail only unless the subscriber chose SMS
    assert sms.received == []


def test_a_staff_reply_in_the_helpdesk_tells_the_subscriber(app, settings, smtp, sms):
    subscriber, _ = _customer(settings, smtp, sms)
    ticket = Ticket.create(subscriber=subscriber.id, subject="Нет интернета")
    message = Message.create(ticket=ticket.id, author="manager:admin", body="Перезагрузите роутер.")
    events.ticket_replied.send(ticket=ticket, message=message, by_staff=True)
    outbox.send_due(settings)
    [mail] = smtp.sink.to("client@example.ru")
    assert "Нет интернета" in mail["Subject"] and "Перезагрузите роутер." in mail.get_body().get_content()
    assert f"№ {ticket.id}" in sms.to("+79005556677")[0]["text"]


def test_a_subscribers_message_tells_the_assignee(app, settings, smtp, sms):
    subscriber, _ = _customer(settings, smtp, sms)
    manager = Manager.get(Manager.login == "admin")
    manager.email = "support@isp.example"
    manager.save()
    ticket = Ticket.create(subscriber=subscriber.id, subject="Вопрос", assigned_manager_id=manager.id)
    message = Message.create(ticket=ticket.id, author=f"subscriber:{subscriber.id}", body="Когда починят?")
    events.ticket_replied.send(ticket=ticket, message=message, by_staff=False)
    outbox.send_due(settings)
    [mail] = smtp.sink.to("support@isp.example")
    assert "Когда починят?" in mail.get_body().get_content()
    assert smtp.sink.to("client@example.ru") == []


def test_a_reset_code_goes_to_the_given_address_at_night_and_is_wiped(app, smtp, sms):
    settings = notify_settings(dict(app.config, NOTIFY_QUIET_HOURS="22:00-09:00"))
    subscriber = make_subscriber(phone="+79007778899")  # staff-entered, never confirmed
    with time_machine.travel(dt.datetime(2026, 3, 2, 21, 0, tzinfo=dt.UTC), tick=False):  # 00:00 Moscow
        events.cabinet_reset_code.send(subscriber, subscriber=subscriber, channel="sms", address="+79007778899",
                                       code="918273")
        assert outbox.send_due(settings).sent == 1
    assert "918273" in sms.to("+79007778899")[0]["text"]
    row = OutboxMessage.get(OutboxMessage.event == "reset_code")
    assert "918273" not in row.body and "918273" not in row.idempotency_key


def test_a_reset_code_by_email(app, settings, smtp):
    subscriber = make_subscriber()
    events.cabinet_reset_code.send(subscriber, subscriber=subscriber, channel="email", address="reset@example.ru",
                                   code="564738")
    outbox.send_due(settings)
    [mail] = smtp.sink.to("reset@example.ru")
    assert "564738" in mail.get_body().get_content()

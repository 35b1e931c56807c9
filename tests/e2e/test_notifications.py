"""Notifications in a real browser: a subscriber on a phone confirms an
e-mail address with the code that reached the local SMTP server and picks
channels; staff see a failed message and send it again."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from lanbill.models.notify import NotifyChoice, NotifyContact, OutboxMessage
from lanbill.notify import outbox
from lanbill.notify.settings import notify_settings
from tests.cabinet.helpers import PASSWORD, make_cabinet_subscriber
from tests.e2e.conftest import log_in
from tests.notify.harness import SmtpServer, code_in


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def app_config(app_config, smtp):
    app_config.update({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp.port, "NOTIFY_QUIET_HOURS": ""})
    return app_config


def test_a_subscriber_confirms_an_email_and_chooses_channels_on_a_phone(app, live_server, phone, smtp, shot):
    subscriber, agreement, _ = make_cabinet_subscriber(name="Орлова Вера", email="")
    page = phone
    page.goto(live_server + "/")
    page.fill("#login", agreement.number)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.click("nav.cab-nav >> text=Уведомления")
    expect(page.locator("#email-state")).to_contain_text("Адрес не указан")
    page.fill("#email-address", "не адрес")
    page.click("#contact-email >> text=Отправить код подтверждения")
    expect(page.locator("#contact-email .error").first).to_contain_text("Это не адрес электронной почты")
    page.fill("#email-address", "orlova@example.ru")
    page.click("#contact-email >> text=Отправить код подтверждения")
    expect(page.locator(".flash.success")).to_contain_text("orlova@example.ru")
    outbox.send_due(notify_settings(app.config))
    code = code_in(smtp.sink.to("orlova@example.ru")[0].get_body().get_content())
    page.fill("#code-email-code", code)
    page.click("#contact-email >> text=Подтвердить")
    expect(page.locator("#email-state")).to_contain_text("Подтверждён: orlova@example.ru")
    assert NotifyContact.get(NotifyContact.subscriber == subscriber.id).confirmed_at is not None
    page.uncheck("#payment__sms")
    page.check("#document__sms")
    page.click("#choices button[type=submit]")
    expect(page.locator(".flash.success")).to_contain_text("сохранены")
    chosen = {(c.event, c.channel): c.enabled for c in NotifyChoice.select()
              .where(NotifyChoice.subscriber == subscriber.id)}
    assert chosen[("payment", "sms")] is False and chosen[("document", "sms")] is True
    assert chosen[("payment", "email")] is True
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    shot(page, "notifications-cabinet")


def test_staff_see_a_failed_message_and_send_it_again(app, live_server, page, admin, smtp, shot):
    outbox.queue("email", "late@example.ru", "Текст", subject="Тема", key="e2e:fail", event="payment")
    outbox.send_due(notify_settings(dict(app.config, SMTP_PORT=1, NOTIFY_MAX_ATTEMPTS=1)))
    log_in(page, live_server)
    page.goto(live_server + "/admin/notifications?status=failed")
    expect(page.locator("#outbox")).to_contain_text("late@example.ru")
    expect(page.locator("#outbox")).to_contain_text("SMTP connection failed")
    shot(page, "notifications-admin")
    page.click("#outbox >> text=Повторить")
    expect(page.locator(".flash.success")).to_contain_text("снова поставлено в очередь")
    assert OutboxMessage.get(OutboxMessage.idempotency_key == "e2e:fail").status == "queued"
    outbox.send_due(notify_settings(app.config))
    assert len(smtp.sink.to("late@example.ru")) == 1

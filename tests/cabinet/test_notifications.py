"""The cabinet's notification settings, through the pages as rendered:
an address confirmed by the code that arrives at the local SMTP server or
fake SMS provider, a wrong code refused, channel choices stored."""

from __future__ import annotations

import pytest

from lanbill.models.notify import NotifyChoice, NotifyContact
from lanbill.notify import contacts, outbox
from lanbill.notify.settings import notify_settings
from tests.admin_helpers import ru
from tests.cabinet.helpers import log_in, make_cabinet_subscriber, submit, text_of
from tests.notify.harness import SmsServer, SmtpServer, code_in

PAGE = "/settings/notifications"


@pytest.fixture
def servers():
    smtp, sms = SmtpServer().start(), SmsServer().start()
    yield smtp, sms
    smtp.stop()
    sms.stop()


@pytest.fixture
def app_config(app_config, servers):
    smtp, sms = servers
    app_config.update({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp.port, "SMS_URL": sms.url,
                       "SMS_PARAMS": {"to": "{phone}", "text": "{text}"}, "NOTIFY_QUIET_HOURS": ""})
    return app_config


@pytest.fixture
def me(client):
    subscriber, agreement, _ = make_cabinet_subscriber(email="staff-entered@example.ru", phone="+79001110000")
    log_in(client, agreement.number)
    return subscriber


def test_the_page_is_in_the_menu_and_offers_the_staff_entered_contacts(app, client, me):
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert 'href="/settings/notifications"' in home
    page = text_of(client.get(PAGE))
    assert "staff-entered@example.ru" in page and "+79001110000" in page
    assert ru("No address given: notices do not come this way.") in page


def test_an_email_is_confirmed_with_the_code_from_the_letter(app, client, me, servers):
    smtp, _ = servers
    answer = submit(client, PAGE, {"email-address": "mine@example.ru"},
                    action="/settings/notifications/email/code")
    assert answer.status_code == 302
    outbox.send_due(notify_settings(app.config))
    code = code_in(smtp.sink.to("mine@example.ru")[0].get_body().get_content())
    wrong = submit(client, PAGE, {"code-email-code": "000000" if code != "000000" else "111111"},
                   action="/settings/notifications/email/confirm")
    assert wrong.status_code == 422 and ru("Wrong code.") in text_of(wrong)
    right = submit(client, PAGE, {"code-email-code": code}, action="/settings/notifications/email/confirm")
    assert right.status_code == 302
    assert ru("Confirmed: %(address)s", address="mine@example.ru") in text_of(client.get(PAGE))
    assert contacts.recipients([me.id], "payment") == {me.id: [("email", "mine@example.ru")]}


def test_a_phone_is_confirmed_with_the_code_from_the_sms(app, client, me, servers):
    _, sms = servers
    submit(client, PAGE, {"sms-address": "8 900 222-33-44"}, action="/settings/notifications/sms/code")
    outbox.send_due(notify_settings(app.config))
    code = code_in(sms.to("+79002223344")[0]["text"])
    submit(client, PAGE, {"code-sms-code": code}, action="/settings/notifications/sms/confirm")
    assert NotifyContact.get(NotifyContact.subscriber == me.id).confirmed_at is not None


def test_a_bad_number_is_refused_in_russian_and_nothing_is_stored(app, client, me):
    answer = submit(client, PAGE, {"sms-address": "12345"}, action="/settings/notifications/sms/code")
    assert answer.status_code == 422
    assert ru("Enter a mobile number like +7 900 123-45-67.") in text_of(answer)
    assert NotifyContact.select().count() == 0


def test_channel_choices_are_stored_from_the_rendered_check_boxes(app, client, me):
    answer = submit(client, PAGE, {"payment__email": "y", "blocked__sms": "y"},
                    action="/settings/notifications/choices")
    assert answer.status_code == 302
    on = {(c.event, c.channel) for c in NotifyChoice.select().where((NotifyChoice.subscriber == me.id)
                                                                     & NotifyChoice.enabled)}
    assert on == {("payment", "email"), ("blocked", "sms")}
    page = client.get(PAGE).get_data(as_text=True)
    assert 'checked id="payment__email"' in page and 'checked id="blocked__sms"' in page
    assert 'checked id="payment__sms"' not in page and 'checked id="document__email"' not in page


def test_a_removed_address_gets_nothing(app, client, me, servers):
    smtp, _ = servers
    submit(client, PAGE, {"email-address": "gone@example.ru"}, action="/settings/notifications/email/code")
    answer = submit(client, PAGE, {}, action="/settings/notifications/email/remove")
    assert answer.status_code == 302
    assert NotifyContact.select().count() == 0


def test_the_page_needs_a_cabinet_session(client):
    assert client.get(PAGE).status_code == 302

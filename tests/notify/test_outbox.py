"""The outbox against a local SMTP server and a local fake SMS provider:
delivery (attachments included), retries with exponential back-off,
failure, staff retry, no duplicates, quiet hours, one SMTP connection
per batch."""

from __future__ import annotations

import datetime as dt

import time_machine

from lanbill.actor import Actor
from lanbill.models.notify import OutboxMessage
from lanbill.notify import outbox
from lanbill.notify.settings import notify_settings, parse_quiet_hours

STAFF = Actor("manager:admin", manager_id=1, is_staff=True)


def test_an_email_is_delivered_with_its_attachment(app, settings, smtp, tmp_path):
    pdf = tmp_path / "act-17.pdf"
    pdf.write_bytes(b"%PDF-1.7 test document")
    assert outbox.queue("email", "ivanov@example.ru", "Текст письма", subject="Акт № 17", key="t:1",
                        attachments=[str(pdf)])
    result = outbox.send_due(settings)
    assert result.sent == 1 and result.failed == 0
    [message] = smtp.sink.to("ivanov@example.ru")
    assert message["Subject"] == "Акт № 17"
    assert message["From"] == "billing@isp.example"
    assert message.get_body().get_content().strip() == "Текст письма"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "act-17.pdf"
    assert attachment.get_content() == b"%PDF-1.7 test document"
    row = OutboxMessage.get(OutboxMessage.idempotency_key == "t:1")
    assert row.status == "sent" and row.attempts == 1 and row.sent_at is not None


def test_an_sms_goes_as_the_configured_request_with_placeholders_filled(app, settings, sms):
    outbox.queue("sms", "+79001234567", "Платёж 650,00 ₽ зачислен", key="t:sms")
    assert outbox.send_due(settings).sent == 1
    assert sms.received == [{"to": "+79001234567", "text": "Платёж 650,00 ₽ зачислен", "key": "secret-key"}]


def test_an_sms_by_get_with_json_parameters_from_the_environment_form(app, sms):
    config = dict(app.config, SMS_METHOD="GET", SMS_PARAMS='{"phone": "{phone_digits}", "msg": "{text}"}',
                  SMS_SUCCESS="OK")
    outbox.queue("sms", "+79001234567", "Код 123", key="t:get")
    assert outbox.send_due(notify_settings(config)).sent == 1
    assert sms.received == [{"phone": "79001234567", "msg": "Код 123"}]


def test_an_answer_without_the_success_pattern_is_retried(app, settings, sms):
    sms.answer = "ERROR"
    outbox.queue("sms", "+79001234567", "Текст", key="t:refused")
    result = outbox.send_due(settings)
    assert result.retried == 1 and result.sent == 0
    row = OutboxMessage.get(OutboxMessage.idempotency_key == "t:refused")
    assert row.status == "queued" and row.attempts == 1 and "refused" in row.last_error
    assert "79001234567" not in row.last_error


def test_a_temporary_failure_is_retried_with_exponential_back_off(app, settings, smtp):
    smtp.sink.fail_next = 2
    with time_machine.travel(dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC), tick=False) as traveller:
        outbox.queue("email", "a@example.ru", "Текст", subject="Тема", key="t:retry")
        first = outbox.send_due(settings)
        row = OutboxMessage.get(OutboxMessage.idempotency_key == "t:retry")
        assert first.retried == 1 and row.attempts == 1 and "451" in row.last_error
        assert row.next_attempt_at == dt.datetime(2026, 3, 2, 12, 1)  # NOTIFY_BACKOFF 60 s
        assert outbox.send_due(settings).sent == 0  # not due yet: nothing tried
        assert smtp.sink.fail_next == 1
        traveller.move_to(dt.datetime(2026, 3, 2, 12, 1, 1, tzinfo=dt.UTC))
        assert outbox.send_due(settings).retried == 1
        row = OutboxMessage.get_by_id(row.id)
        assert row.attempts == 2 and row.next_attempt_at == dt.datetime(2026, 3, 2, 12, 3, 1)  # doubled: 120 s
        traveller.move_to(dt.datetime(2026, 3, 2, 12, 3, 2, tzinfo=dt.UTC))
        assert outbox.send_due(settings).sent == 1
    row = OutboxMessage.get_by_id(row.id)
    assert row.status == "sent" and row.attempts == 3 and row.last_error == ""
    assert len(smtp.sink.to("a@example.ru")) == 1


def test_back_off_stops_growing_at_its_maximum(app, settings):
    assert settings.backoff_after(1) == dt.timedelta(seconds=60)
    assert settings.backoff_after(3) == dt.timedelta(seconds=240)
    assert settings.backoff_after(20) == dt.timedelta(seconds=3600)


def test_after_the_last_attempt_the_message_fails_and_staff_retry_it(app, settings, smtp):
    smtp.sink.fail_next = 100
    with time_machine.travel(dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC), tick=False) as traveller:
        outbox.queue("email", "b@example.ru", "Текст", subject="Тема", key="t:fail")
        for minute in range(0, 200, 30):
            traveller.move_to(dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=minute))
            outbox.send_due(settings)
        row = OutboxMessage.get(OutboxMessage.idempotency_key == "t:fail")
        assert row.status == "failed" and row.attempts == 4  # NOTIFY_MAX_ATTEMPTS
        assert "b@example.ru" not in row.last_error
        smtp.sink.fail_next = 0
        assert outbox.send_due(settings).sent == 0  # a failed message waits for staff
        outbox.retry(row.id, actor=STAFF)
        assert OutboxMessage.get_by_id(row.id).attempts == 0
        assert outbox.send_due(settings).sent == 1
    assert OutboxMessage.get_by_id(row.id).status == "sent"
    assert len(smtp.sink.to("b@example.ru")) == 1


def test_a_permanent_refusal_fails_at_once_without_the_address_in_the_error(app, settings, smtp):
    smtp.sink.refuse = True
    outbox.queue("email", "nobody@example.ru", "Текст", subject="Тема", key="t:550")
    assert outbox.send_due(settings).failed == 1
    row = OutboxMessage.get(OutboxMessage.idempotency_key == "t:550")
    assert row.status == "failed" and row.attempts == 1 and "550" in row.last_error
    assert "nobody@example.ru" not in row.last_error


def test_an_unreachable_smtp_server_is_retried(app, smtp):
    settings = notify_settings(dict(app.config, SMTP_PORT=1))
    outbox.queue("email", "c@example.ru", "Текст", subject="Тема", key="t:down")
    assert outbox.send_due(settings).retried == 1
    assert "SMTP connection failed" in OutboxMessage.get(OutboxMessage.idempotency_key == "t:down").last_error


def test_the_same_key_queues_and_sends_one_message(app, settings, smtp):
    assert outbox.queue("email", "d@example.ru", "Первый", subject="Тема", key="t:once")
    assert not outbox.queue("email", "d@example.ru", "Второй", subject="Тема", key="t:once")
    assert outbox.queue_many([{"channel": "email", "address": "d@example.ru", "body": "Третий",
                               "idempotency_key": "t:once"}]) == 0
    outbox.send_due(settings)
    outbox.send_due(settings)
    assert [m.get_body().get_content().strip() for m in smtp.sink.to("d@example.ru")] == ["Первый"]


def test_sms_waits_for_the_end_of_quiet_hours_and_email_does_not(app, smtp, sms):
    settings = notify_settings(dict(app.config, NOTIFY_QUIET_HOURS="22:00-09:00"))
    # 23:30 in Moscow (the tests' operator zone) is 20:30 UTC
    with time_machine.travel(dt.datetime(2026, 3, 2, 20, 30, tzinfo=dt.UTC), tick=False) as traveller:
        outbox.queue("sms", "+79001234567", "Ночью не отправлять", key="t:night-sms")
        outbox.queue("email", "e@example.ru", "Письмо ночью можно", subject="Тема", key="t:night-mail")
        outbox.queue("sms", "+79001234568", "Код 123456", key="t:night-code", urgent=True)
        result = outbox.send_due(settings)
        assert result.sent == 2 and result.deferred == 1
        row = OutboxMessage.get(OutboxMessage.idempotency_key == "t:night-sms")
        assert row.status == "queued" and row.attempts == 0
        assert row.next_attempt_at == dt.datetime(2026, 3, 3, 6, 0)  # 09:00 Moscow
        assert sms.to("+79001234567") == [] and len(sms.to("+79001234568")) == 1
        traveller.move_to(dt.datetime(2026, 3, 3, 5, 59, tzinfo=dt.UTC))
        assert outbox.send_due(settings).sent == 0
        traveller.move_to(dt.datetime(2026, 3, 3, 6, 0, tzinfo=dt.UTC))
        assert outbox.send_due(settings).sent == 1
    assert len(sms.to("+79001234567")) == 1


def test_quiet_hours_window_within_a_day_and_across_midnight(app):
    from lanbill.notify.outbox import in_quiet_hours

    night = notify_settings(dict(app.config, NOTIFY_QUIET_HOURS="22:00-09:00"))
    lunch = notify_settings(dict(app.config, NOTIFY_QUIET_HOURS="13:00-14:00"))
    # Moscow is UTC+3
    assert in_quiet_hours(night, dt.datetime(2026, 3, 2, 5, 0)) == dt.datetime(2026, 3, 2, 6, 0)  # 08:00 local
    assert in_quiet_hours(night, dt.datetime(2026, 3, 2, 6, 0)) is None  # 09:00 local
    assert in_quiet_hours(night, dt.datetime(2026, 3, 2, 19, 0)) == dt.datetime(2026, 3, 3, 6, 0)  # 22:00
    assert in_quiet_hours(lunch, dt.datetime(2026, 3, 2, 10, 30)) == dt.datetime(2026, 3, 2, 11, 0)
    assert in_quiet_hours(lunch, dt.datetime(2026, 3, 2, 12, 0)) is None
    assert parse_quiet_hours("") is None


def test_a_batch_goes_over_a_few_kept_smtp_connections(app, settings, smtp):
    for n in range(25):
        outbox.queue("email", f"user{n}@example.ru", f"Письмо {n}", subject="Тема", key=f"t:batch:{n}")
    assert outbox.send_due(settings).sent == 25
    assert sorted(m["To"] for m in smtp.sink.messages) == sorted(f"user{n}@example.ru" for n in range(25))
    assert smtp.sink.connections == settings.smtp_connections == 4  # not one per message
    one = notify_settings(dict(app.config, SMTP_CONNECTIONS=1))
    for n in range(10):
        outbox.queue("email", f"one{n}@example.ru", "Текст", subject="Тема", key=f"t:one:{n}")
    assert outbox.send_due(one).sent == 10
    assert smtp.sink.connections == 5


def test_a_one_time_code_is_wiped_once_sent(app, settings, sms):
    outbox.queue("sms", "+79001234567", "Код 654321", key="t:code", urgent=True)
    outbox.send_due(settings)
    row = OutboxMessage.get(OutboxMessage.idempotency_key == "t:code")
    assert row.status == "sent" and "654321" not in row.body
    assert sms.to("+79001234567")[0]["text"] == "Код 654321"


def test_flask_outbox_send_drains_the_outbox_now(app, runner, smtp):
    outbox.queue("email", "f@example.ru", "Текст", subject="Тема", key="t:cli")
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    assert "'sent': 1" in result.output
    assert len(smtp.sink.to("f@example.ru")) == 1


def test_a_channel_without_settings_waits_untried(app, smtp):
    settings = notify_settings(dict(app.config, SMS_URL="", SMTP_HOST=None))
    outbox.queue("sms", "+79001234567", "Текст", key="t:nosms")
    outbox.queue("email", "g@example.ru", "Текст", subject="Тема", key="t:nomail")
    assert outbox.send_due(settings).summary() == {"sent": 0, "retried": 0, "failed": 0, "deferred": 0}
    assert {m.status for m in OutboxMessage.select()} == {"queued"}
    assert {m.attempts for m in OutboxMessage.select()} == {0}
    assert outbox.send_due(notify_settings(dict(app.config, SMS_URL=""))).sent == 1  # e-mail set up again
    assert OutboxMessage.get(OutboxMessage.idempotency_key == "t:nosms").status == "queued"

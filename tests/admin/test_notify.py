"""The staff screen of notifications: the outbox by status with errors and
retry, the event texts, the low-balance days per group; settings.edit
only, messages of subscribers outside the manager's groups hidden."""

from __future__ import annotations

from lanbill.models import AuditLog
from lanbill.models.notify import GroupNotifyRule, NotifyTemplate, OutboxMessage
from lanbill.notify import outbox
from lanbill.notify.settings import notify_settings
from tests.admin_helpers import PASSWORD, make_group, make_manager, ru
from tests.factories import make_subscriber


def _failed_message(app, address="fail@example.ru", subscriber_id=None, key="a:fail"):
    outbox.queue("email", address, "Текст", subject="Тема", key=key, event="payment", subscriber_id=subscriber_id)
    # nothing listens on port 1: the connection fails, one attempt allowed
    outbox.send_due(notify_settings(dict(app.config, SMTP_HOST="127.0.0.1", SMTP_PORT=1, NOTIFY_MAX_ATTEMPTS=1)))
    return OutboxMessage.get(OutboxMessage.idempotency_key == key)


def test_the_outbox_shows_messages_by_status_with_their_errors(app, client, admin, login_as):
    failed = _failed_message(app)
    outbox.queue("sms", "+79001234567", "Ждёт", key="a:queued", event="blocked")
    login_as()
    page = client.get("/admin/notifications")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "fail@example.ru" in html and "+79001234567" in html and "SMTP connection failed" in html
    assert ru("Notifications") in html
    failed_only = client.get("/admin/notifications?status=failed").get_data(as_text=True)
    assert "fail@example.ru" in failed_only and "+79001234567" not in failed_only
    detail = client.get(f"/admin/notifications/{failed.id}").get_data(as_text=True)
    assert "SMTP connection failed" in detail and "Текст" in detail


def test_staff_retry_a_failed_message(app, client, admin, login_as):
    failed = _failed_message(app)
    login_as()
    answer = client.post(f"/admin/notifications/{failed.id}/retry")
    assert answer.status_code == 302
    row = OutboxMessage.get_by_id(failed.id)
    assert row.status == "queued" and row.attempts == 0
    assert AuditLog.select().where(AuditLog.action == "notify.retry").count() == 1
    again = client.post(f"/admin/notifications/{failed.id}/retry", follow_redirects=True)
    assert ru("Only a failed message can be sent again.") in again.get_data(as_text=True)


def test_retry_all_failed(app, client, admin, login_as):
    _failed_message(app, key="a:1")
    _failed_message(app, address="other@example.ru", key="a:2")
    login_as()
    client.post("/admin/notifications/retry-failed")
    assert OutboxMessage.select().where(OutboxMessage.status == "queued").count() == 2


def test_the_screen_needs_settings_edit(app, client, login_as):
    make_manager("cashier", permissions=["payments.create"])
    login_as("cashier", PASSWORD)
    assert client.get("/admin/notifications").status_code == 403
    assert client.get("/admin/notifications/templates").status_code == 403


def test_messages_of_subscribers_outside_the_managers_groups_are_hidden(app, client, login_as):
    mine, theirs = make_group("Свои"), make_group("Чужие")
    own = make_subscriber(groups=[mine.id])
    other = make_subscriber(groups=[theirs.id])
    outbox.queue("email", "own@example.ru", "x", key="a:own", subscriber_id=own.id, event="payment")
    hidden = _failed_message(app, address="other@example.ru", subscriber_id=other.id, key="a:other")
    make_manager("limited", permissions=["settings.edit"], groups=[mine])
    login_as("limited", PASSWORD)
    html = client.get("/admin/notifications").get_data(as_text=True)
    assert "own@example.ru" in html and "other@example.ru" not in html
    assert client.get(f"/admin/notifications/{hidden.id}").status_code == 404
    assert client.post(f"/admin/notifications/{hidden.id}/retry").status_code == 404
    assert client.post("/admin/notifications/retry-failed").status_code == 403


def test_staff_edit_an_event_text_and_restore_the_built_in_one(app, client, admin, login_as):
    login_as()
    form = client.get("/admin/notifications/templates/payment/email").get_data(as_text=True)
    assert "Платёж зачислен" in form and "{{ amount }}" in form
    saved = client.post("/admin/notifications/templates/payment/email",
                        data={"subject": "Оплата получена", "body": "Поступило {{ amount }}. Спасибо!"})
    assert saved.status_code == 302
    row = NotifyTemplate.get((NotifyTemplate.event == "payment") & (NotifyTemplate.channel == "email"))
    assert row.subject == "Оплата получена"
    assert "Поступило 650,00" in client.get("/admin/notifications/templates/payment/email").get_data(as_text=True)
    broken = client.post("/admin/notifications/templates/payment/email",
                         data={"subject": "x", "body": "Сумма {{ amount "})
    assert broken.status_code == 422
    assert ru("The template has an error: %(error)s", error="")[:20] in broken.get_data(as_text=True)
    unknown = client.post("/admin/notifications/templates/payment/email",
                          data={"subject": "x", "body": "{{ passport_number }}"})
    assert unknown.status_code == 422
    assert NotifyTemplate.get_by_id(row.id).body == "Поступило {{ amount }}. Спасибо!"
    client.post("/admin/notifications/templates/payment/email", data={"subject": "", "body": ""})
    assert NotifyTemplate.select().count() == 0
    assert client.get("/admin/notifications/templates/nothing/email").status_code == 404


def test_a_template_cannot_reach_beyond_its_values(app, client, admin, login_as):
    login_as()
    answer = client.post("/admin/notifications/templates/payment/sms",
                         data={"body": "{{ amount.__class__.__mro__ }}"})
    assert answer.status_code == 422
    assert NotifyTemplate.select().count() == 0


def test_low_balance_days_per_group(app, client, admin, login_as):
    group = make_group("Юрлица")
    login_as()
    assert client.post(f"/admin/notifications/groups/{group.id}", data={"days": "7"}).status_code == 302
    assert GroupNotifyRule.get(GroupNotifyRule.group == group.id).low_balance_days == 7
    bad = client.post(f"/admin/notifications/groups/{group.id}", data={"days": "сто"})
    assert bad.status_code == 422
    assert ru("Enter a number of days from 0 to 31, or leave it empty.") in bad.get_data(as_text=True)
    assert GroupNotifyRule.get(GroupNotifyRule.group == group.id).low_balance_days == 7
    client.post(f"/admin/notifications/groups/{group.id}", data={"days": ""})
    assert GroupNotifyRule.select().count() == 0
    assert "Юрлица" in client.get("/admin/notifications/groups").get_data(as_text=True)

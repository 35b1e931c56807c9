"""A forgotten cabinet password: a one-time code delivered through the
`cabinet_reset_code` signal (or the log while nobody listens), 6 digits,
hashed, 15 minutes, 5 tries, rate-limited; the same answer whether the
login exists or not; audited; through the rendered pages."""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
import time_machine

from lanbill import events
from lanbill.customers import cabinet, cabinet_reset
from lanbill.errors import ValidationError
from lanbill.models import AuditLog, Subscriber
from lanbill.models.cabinet import CabinetResetCode
from lanbill.staff.managers import verify_password
from tests.admin_helpers import ru
from tests.cabinet.helpers import PASSWORD, log_in, make_cabinet_subscriber, submit, text_of
from tests.factories import table_counts

NEW = "Brand-new-pass7"


@pytest.fixture
def outbox():
    """A receiver on the signal, as the notifications room would be."""
    sent = []

    def receiver(sender, **kw):
        sent.append(kw)

    with events.cabinet_reset_code.connected_to(receiver):
        yield sent


@pytest.fixture
def nobody_listens(app):
    """An installation where nothing delivers codes (the notifications
    room's receiver taken off the signal for the test)."""
    from lanbill.notify.receivers import on_cabinet_reset_code

    events.cabinet_reset_code.disconnect(on_cabinet_reset_code)
    yield
    events.cabinet_reset_code.connect(on_cabinet_reset_code)


@pytest.fixture
def sub(app):
    return make_cabinet_subscriber(name="Забывчивый Пётр", email="petr@example.ru", phone="+79001112233")


def test_the_code_goes_by_email_hashed_and_the_log_stays_silent(sub, outbox, caplog):
    subscriber, agreement, _ = sub
    with caplog.at_level(logging.WARNING, logger="lanbill.cabinet.reset"):
        by_log = cabinet_reset.request_code(agreement.number, ip="198.51.100.1")
    assert by_log is False
    assert len(outbox) == 1
    sent = outbox[0]
    assert sent["channel"] == "email" and sent["address"] == "petr@example.ru"
    assert sent["subscriber"].id == subscriber.id
    assert re.fullmatch(r"\d{6}", sent["code"])
    row = CabinetResetCode.get(CabinetResetCode.subscriber == subscriber.id)
    assert sent["code"] not in row.code_hash and verify_password(row.code_hash, sent["code"])
    assert (row.expires_at - row.created_at) == dt.timedelta(minutes=15)
    assert not [r for r in caplog.records if r.name == "lanbill.cabinet.reset"]
    audit = AuditLog.get(AuditLog.action == "subscriber.cabinet_reset_requested")
    assert sent["code"] not in str(audit.after) and "petr@" not in str(audit.after)


def test_without_an_email_the_code_goes_by_sms(app, outbox):
    subscriber, agreement, _ = make_cabinet_subscriber(email="", phone="+79005554433")
    cabinet_reset.request_code(agreement.number, ip="198.51.100.1")
    assert outbox[0]["channel"] == "sms" and outbox[0]["address"] == "+79005554433"


def test_while_nobody_listens_the_code_is_logged(sub, nobody_listens, caplog):
    subscriber, agreement, _ = sub
    assert not events.cabinet_reset_code.receivers
    with caplog.at_level(logging.WARNING, logger="lanbill.cabinet.reset"):
        assert cabinet_reset.request_code(agreement.number, ip="198.51.100.1") is True
    lines = [r.getMessage() for r in caplog.records if r.name == "lanbill.cabinet.reset"]
    assert len(lines) == 1 and f"subscriber {subscriber.id}" in lines[0]
    code = re.search(r"(\d{6})$", lines[0]).group(1)
    cabinet_reset.confirm(agreement.number, code, NEW, NEW, ip="198.51.100.1")
    assert verify_password(Subscriber.get_by_id(subscriber.id).password_hash, NEW)


def test_an_unknown_login_gets_the_same_answer_and_nothing_is_sent(app, outbox):
    assert cabinet_reset.request_code("no-such-login", ip="198.51.100.1") is False
    assert outbox == []
    assert CabinetResetCode.select().where(CabinetResetCode.subscriber.is_null(False)).count() == 0
    _, agreement, _ = make_cabinet_subscriber(email="", phone="")
    assert cabinet_reset.request_code(agreement.number, ip="198.51.100.1") is False  # no contact: nothing
    assert outbox == []


def test_the_right_code_sets_the_password_once_and_is_audited(sub, outbox):
    subscriber, agreement, _ = sub
    cabinet_reset.request_code(agreement.number, ip="198.51.100.1")
    code = outbox[-1]["code"]
    token = cabinet.session_token(Subscriber.get_by_id(subscriber.id))
    cabinet_reset.confirm(agreement.number, code, NEW, NEW, ip="198.51.100.1")
    fresh = Subscriber.get_by_id(subscriber.id)
    assert verify_password(fresh.password_hash, NEW)
    assert cabinet.session_token(fresh) != token  # other sessions end
    assert AuditLog.select().where(AuditLog.action == "subscriber.cabinet_password_reset").count() == 1
    with pytest.raises(ValidationError):
        cabinet_reset.confirm(agreement.number, code, "Other-pass-9", "Other-pass-9", ip="198.51.100.1")


def test_a_weak_or_mistyped_password_keeps_the_code(sub, outbox):
    subscriber, agreement, _ = sub
    cabinet_reset.request_code(agreement.number, ip="198.51.100.1")
    code = outbox[-1]["code"]
    before = Subscriber.get_by_id(subscriber.id).password_hash
    with pytest.raises(ValidationError) as caught:
        cabinet_reset.confirm(agreement.number, code, "short", "short", ip="198.51.100.1")
    assert "password" in caught.value.fields
    with pytest.raises(ValidationError) as caught:
        cabinet_reset.confirm(agreement.number, code, NEW, NEW + "x", ip="198.51.100.1")
    assert "repeat" in caught.value.fields
    assert Subscriber.get_by_id(subscriber.id).password_hash == before
    cabinet_reset.confirm(agreement.number, code, NEW, NEW, ip="198.51.100.1")


def test_five_wrong_codes_spend_it(sub, outbox):
    subscriber, agreement, _ = sub
    cabinet_reset.request_code(agreement.number, ip="198.51.100.1")
    code = outbox[-1]["code"]
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1):
        with pytest.raises(ValidationError) as caught:
            cabinet_reset.confirm(agreement.number, wrong, NEW, NEW, ip="198.51.100.1")
        assert caught.value.params == {"left": left}
    with pytest.raises(ValidationError) as caught:
        cabinet_reset.confirm(agreement.number, wrong, NEW, NEW, ip="198.51.100.1")
    assert caught.value.message.startswith("Too many wrong codes")
    before = table_counts()
    with pytest.raises(ValidationError):
        cabinet_reset.confirm(agreement.number, code, NEW, NEW, ip="198.51.100.1")  # spent, even right
    assert table_counts() == before
    assert verify_password(Subscriber.get_by_id(subscriber.id).password_hash, PASSWORD)


def test_an_expired_code_is_refused(sub, outbox):
    subscriber, agreement, _ = sub
    cabinet_reset.request_code(agreement.number, ip="198.51.100.1")
    code = outbox[-1]["code"]
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=16)):
        before = table_counts()
        with pytest.raises(ValidationError) as caught:
            cabinet_reset.confirm(agreement.number, code, NEW, NEW, ip="198.51.100.1")
        assert caught.value.message == "The code is wrong or no longer valid; request a new one if needed."
        assert table_counts() == before
    assert verify_password(Subscriber.get_by_id(subscriber.id).password_hash, PASSWORD)


def test_a_new_code_replaces_the_old_one(sub, outbox):
    _, agreement, _ = sub
    cabinet_reset.request_code(agreement.number, ip="198.51.100.1")
    old = outbox[-1]["code"]
    cabinet_reset.request_code(agreement.number, ip="198.51.100.1")
    new = outbox[-1]["code"]
    if old != new:
        with pytest.raises(ValidationError):
            cabinet_reset.confirm(agreement.number, old, NEW, NEW, ip="198.51.100.1")
    cabinet_reset.confirm(agreement.number, new, NEW, NEW, ip="198.51.100.1")


def test_requests_are_rate_limited_per_subscriber_and_per_address(sub, outbox):
    _, agreement, _ = sub
    for _ in range(cabinet_reset.MAX_CODES_PER_HOUR):
        cabinet_reset.request_code(agreement.number, ip="198.51.100.1")
    with pytest.raises(cabinet_reset.ResetRefused):
        cabinet_reset.request_code(agreement.number, ip="198.51.100.2")
    assert len(outbox) == cabinet_reset.MAX_CODES_PER_HOUR
    for n in range(cabinet_reset.MAX_REQUESTS_PER_ADDRESS):
        cabinet_reset.request_code(f"nobody-{n}", ip="198.51.100.9")
    with pytest.raises(cabinet_reset.ResetRefused):
        cabinet_reset.request_code("nobody-x", ip="198.51.100.9")


def test_the_pages_walk_from_login_to_a_new_password(client, sub, nobody_listens, caplog):
    subscriber, agreement, _ = sub
    login_page = text_of(client.get("/"))
    assert 'href="/password/forgot"' in login_page and ru("Forgot password?") in login_page
    with caplog.at_level(logging.WARNING, logger="lanbill.cabinet.reset"):
        response = submit(client, "/password/forgot", {"login": agreement.number})
    assert response.status_code == 302 and response.location.endswith("/password/reset")
    page = text_of(client.get("/password/reset"))
    assert 'id="code-sent"' in page and 'id="code-by-log"' in page
    assert f'value="{agreement.number}"' in page
    code = re.search(r"(\d{6})$", [r.getMessage() for r in caplog.records
                                   if r.name == "lanbill.cabinet.reset"][0]).group(1)
    wrong = submit(client, "/password/reset", {"code": "12345", "password": NEW, "repeat": NEW})
    assert wrong.status_code == 422 and ru("The code is 6 digits.") in text_of(wrong)
    done = submit(client, "/password/reset", {"code": code, "password": NEW, "repeat": NEW})
    assert done.status_code == 302
    assert ru("The cabinet password is changed. Log in with the new password.") in text_of(client.get("/"))
    log_in(client, agreement.number, NEW)


def test_an_unknown_login_page_answer_is_the_same(client, app):
    response = submit(client, "/password/forgot", {"login": "nobody-here"})
    assert response.status_code == 302 and response.location.endswith("/password/reset")
    page = text_of(client.get("/password/reset"))
    assert 'id="code-sent"' in page

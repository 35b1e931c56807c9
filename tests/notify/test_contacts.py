"""Contacts a subscriber confirms by a code sent through the outbox, and
channel choices per event."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from lanbill.actor import Actor
from lanbill.errors import ValidationError
from lanbill.models.notify import NotifyContact, OutboxMessage
from lanbill.notify import contacts, outbox
from tests.factories import make_subscriber
from tests.notify.harness import code_in, confirm_contacts


def _me(subscriber):
    return Actor(f"subscriber:{subscriber.id}")


def test_an_email_is_confirmed_by_the_code_sent_to_it(app, settings, smtp):
    subscriber = make_subscriber()
    contact = contacts.request_code(subscriber, "email", " petrov@example.ru ", actor=_me(subscriber))
    assert contact.confirmed_at is None and contact.address == "petrov@example.ru"
    outbox.send_due(settings)
    [mail] = smtp.sink.to("petrov@example.ru")
    code = code_in(mail.get_body().get_content())
    contacts.confirm(subscriber, "email", code, actor=_me(subscriber))
    assert NotifyContact.get_by_id(contact.id).confirmed_at is not None
    row = OutboxMessage.get(OutboxMessage.event == "confirm_code")
    assert code not in row.body  # the code is wiped from the outbox once sent


def test_a_wrong_code_is_refused_and_counted_then_the_code_is_used_up(app, settings, sms):
    subscriber = make_subscriber()
    contacts.request_code(subscriber, "sms", "8 (900) 123-45-67", actor=_me(subscriber))
    outbox.send_due(settings)
    code = code_in(sms.to("+79001234567")[0]["text"])
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(contacts.CODE_ATTEMPTS):
        with pytest.raises(ValidationError, match="Wrong code"):
            contacts.confirm(subscriber, "sms", wrong, actor=_me(subscriber))
    with pytest.raises(ValidationError, match="expired"):
        contacts.confirm(subscriber, "sms", code, actor=_me(subscriber))
    assert NotifyContact.get(NotifyContact.subscriber == subscriber.id).confirmed_at is None


def test_an_expired_code_is_refused_and_a_new_one_waits_a_minute(app, settings):
    subscriber = make_subscriber()
    with time_machine.travel(dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC), tick=False) as traveller:
        contacts.request_code(subscriber, "email", "x@example.ru", actor=_me(subscriber))
        with pytest.raises(ValidationError, match="less than a minute"):
            contacts.request_code(subscriber, "email", "x@example.ru", actor=_me(subscriber))
        traveller.move_to(dt.datetime(2026, 3, 2, 12, 31, tzinfo=dt.UTC))
        with pytest.raises(ValidationError, match="expired"):
            contacts.confirm(subscriber, "email", "123456", actor=_me(subscriber))
        contacts.request_code(subscriber, "email", "x@example.ru", actor=_me(subscriber))
    assert OutboxMessage.select().where(OutboxMessage.event == "confirm_code").count() == 2


def test_a_new_address_must_be_confirmed_again(app, settings, smtp):
    subscriber = make_subscriber()
    confirm_contacts(subscriber, settings, smtp=smtp, email_address="old@example.ru")
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)):
        contacts.request_code(subscriber, "email", "new@example.ru", actor=_me(subscriber))
    contact = NotifyContact.get(NotifyContact.subscriber == subscriber.id)
    assert contact.address == "new@example.ru" and contact.confirmed_at is None
    assert contacts.recipients([subscriber.id], "payment") == {}


@pytest.mark.parametrize("given, expected", [
    ("+7 900 123-45-67", "+79001234567"), ("89001234567", "+79001234567"), ("9001234567", "+79001234567"),
])
def test_mobile_numbers_are_normalised(given, expected):
    assert contacts.normalize_address("sms", given) == expected


@pytest.mark.parametrize("channel, given", [("sms", "12345"), ("sms", "+7 495 123-45-67"), ("sms", "abc"),
                                            ("email", "no-at-sign"), ("email", "a@b")])
def test_bad_addresses_are_refused_with_a_message(channel, given):
    with pytest.raises(ValidationError):
        contacts.normalize_address(channel, given)


def test_choices_decide_the_channels_of_each_event(app, settings, smtp, sms):
    subscriber = make_subscriber()
    confirm_contacts(subscriber, settings, smtp=smtp, sms=sms, email_address="c@example.ru", phone="+79001112233")
    assert sorted(contacts.recipients([subscriber.id], "payment")[subscriber.id]) == [
        ("email", "c@example.ru"), ("sms", "+79001112233")]
    # documents go by e-mail only unless chosen
    assert contacts.recipients([subscriber.id], "document")[subscriber.id] == [("email", "c@example.ru")]
    contacts.set_choices(subscriber, {("payment", "sms"), ("document", "sms")}, actor=_me(subscriber))
    assert contacts.recipients([subscriber.id], "payment")[subscriber.id] == [("sms", "+79001112233")]
    assert contacts.recipients([subscriber.id], "document")[subscriber.id] == [("sms", "+79001112233")]
    assert contacts.recipients([subscriber.id], "blocked") == {}
    assert contacts.choices_of(subscriber.id)[("payment", "sms")] is True
    assert contacts.choices_of(subscriber.id)[("payment", "email")] is False


def test_a_removed_contact_gets_nothing(app, settings, smtp):
    subscriber = make_subscriber()
    confirm_contacts(subscriber, settings, smtp=smtp, email_address="r@example.ru")
    assert contacts.remove_contact(subscriber, "email", actor=_me(subscriber))
    assert contacts.recipients([subscriber.id], "payment") == {}

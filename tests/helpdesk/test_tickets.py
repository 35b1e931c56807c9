"""Helpdesk tickets (lanbill.helpdesk.tickets): opening, the thread,
statuses after each side's reply, classes, assignees, group scope,
unread markers and the ticket_replied signal."""

from __future__ import annotations

import pytest
import time_machine

from lanbill import events
from lanbill.actor import staff_actor
from lanbill.customers.cabinet import subscriber_actor
from lanbill.errors import Conflict, NotFound, ValidationError
from lanbill.helpdesk import classes, tickets
from lanbill.models import Attachment, AuditLog, Message, Ticket
from tests.admin_helpers import make_group, make_manager
from tests.factories import ACTOR, make_subscriber, table_counts
from tests.helpdesk import samples


@pytest.fixture
def uploads(app):
    return app.instance_path + "/uploads"


@pytest.fixture
def subscriber(app):
    return make_subscriber(name="Петров Пётр")


@pytest.fixture
def manager(app):
    return make_manager("support")


def as_subscriber(subscriber):
    return subscriber_actor(subscriber, "10.0.0.1")


def test_subscriber_opens_a_new_ticket_with_a_class_and_a_file(subscriber, uploads):
    cls = classes.create_class({"name": "Нет связи"}, actor=ACTOR)
    ticket = tickets.open_ticket(subscriber, "  Не работает интернет ", "С утра нет связи", actor=as_subscriber(
        subscriber), upload_dir=uploads, ticket_class_id=cls.id, uploads=[samples.png()])
    assert ticket.subject == "Не работает интернет"
    assert ticket.status == "new" and ticket.assignee_id is None and ticket.ticket_class_id == cls.id
    assert ticket.last_subscriber_at is not None and ticket.last_staff_at is None
    [item] = tickets.thread(ticket)
    assert item.message.body == "С утра нет связи" and not item.message.by_staff
    assert item.message.author_name == "Петров Пётр"
    [attachment] = item.files
    assert attachment.filename == "screen.png" and attachment.content_type == "image/png"
    stored = tickets.files.file_path(uploads, attachment)
    assert stored.read_bytes() == samples.png_bytes()
    assert stored.name != "screen.png" and stored.parent.name == "helpdesk"
    assert AuditLog.select().where(AuditLog.action == "ticket.open").count() == 1


def test_empty_subject_or_message_is_refused_and_nothing_is_written(subscriber, uploads):
    before = table_counts()
    with pytest.raises(ValidationError) as refused:
        tickets.open_ticket(subscriber, "  ", "   ", actor=as_subscriber(subscriber), upload_dir=uploads)
    assert set(refused.value.fields) == {"subject", "body"}
    assert table_counts() == before


def test_an_archived_or_unknown_class_is_refused(subscriber, uploads):
    cls = classes.create_class({"name": "Старый"}, actor=ACTOR)
    classes.update_class(cls.id, {"name": "Старый", "archived": True}, actor=ACTOR)
    for class_id in (cls.id, 99999, "x"):
        with pytest.raises(ValidationError) as refused:
            tickets.open_ticket(subscriber, "Тема", "Текст", actor=as_subscriber(subscriber), upload_dir=uploads,
                                ticket_class_id=class_id)
        assert "ticket_class" in refused.value.fields
    assert Ticket.select().count() == 0


def test_a_bad_file_refuses_the_whole_ticket_and_leaves_no_file(subscriber, uploads, tmp_path):
    before = table_counts()
    with pytest.raises(ValidationError):
        tickets.open_ticket(subscriber, "Тема", "Текст", actor=as_subscriber(subscriber), upload_dir=uploads,
                            uploads=[samples.png(), samples.exe()])
    assert table_counts() == before
    assert not (tmp_path / "uploads" / "helpdesk").exists() or not any((tmp_path / "uploads" / "helpdesk").iterdir())


def test_staff_reply_waits_for_the_subscriber_and_takes_an_unassigned_ticket(subscriber, manager, uploads):
    ticket = tickets.open_ticket(subscriber, "Тема", "Вопрос", actor=as_subscriber(subscriber), upload_dir=uploads)
    message = tickets.add_message(ticket, "Ответ", actor=staff_actor(manager), upload_dir=uploads)
    ticket = Ticket.get_by_id(ticket.id)
    assert message.by_staff and message.author_name == "support"
    assert ticket.status == "waiting" and ticket.assignee_id == manager.id
    assert ticket.unread_by_subscriber and not ticket.unread_by_staff


def test_staff_may_choose_the_status_with_the_reply(subscriber, manager, uploads):
    ticket = tickets.open_ticket(subscriber, "Тема", "Вопрос", actor=as_subscriber(subscriber), upload_dir=uploads)
    tickets.add_message(ticket, "Готово", actor=staff_actor(manager), upload_dir=uploads, status="closed")
    ticket = Ticket.get_by_id(ticket.id)
    assert ticket.status == "closed" and ticket.closed_at is not None
    with pytest.raises(ValidationError):
        tickets.add_message(ticket, "x", actor=staff_actor(manager), upload_dir=uploads, status="bogus")


def test_subscriber_reply_brings_a_waiting_or_closed_ticket_back_to_work(subscriber, manager, uploads):
    me = as_subscriber(subscriber)
    ticket = tickets.open_ticket(subscriber, "Тема", "Вопрос", actor=me, upload_dir=uploads)
    tickets.add_message(ticket, "Ответ", actor=staff_actor(manager), upload_dir=uploads)
    tickets.add_message(ticket, "Не помогло", actor=me, upload_dir=uploads)
    ticket = Ticket.get_by_id(ticket.id)
    assert ticket.status == "in_work" and ticket.unread_by_staff
    tickets.close_own_ticket(subscriber, ticket.id, actor=me)
    assert Ticket.get_by_id(ticket.id).status == "closed"
    tickets.add_message(ticket, "Снова не работает", actor=me, upload_dir=uploads)
    ticket = Ticket.get_by_id(ticket.id)
    assert ticket.status == "in_work" and ticket.closed_at is None


def test_subscriber_reply_on_an_unassigned_closed_ticket_makes_it_new(subscriber, uploads):
    me = as_subscriber(subscriber)
    ticket = tickets.open_ticket(subscriber, "Тема", "Вопрос", actor=me, upload_dir=uploads)
    tickets.close_own_ticket(subscriber, ticket.id, actor=me)
    tickets.add_message(ticket, "Ещё вопрос", actor=me, upload_dir=uploads)
    assert Ticket.get_by_id(ticket.id).status == "new"


def test_empty_reply_is_refused(subscriber, uploads):
    me = as_subscriber(subscriber)
    ticket = tickets.open_ticket(subscriber, "Тема", "Вопрос", actor=me, upload_dir=uploads)
    before = table_counts()
    with pytest.raises(ValidationError) as refused:
        tickets.add_message(ticket, " \n ", actor=me, upload_dir=uploads)
    assert refused.value.message == tickets.EMPTY_MESSAGE
    assert table_counts() == before


def test_another_subscriber_cannot_reach_reply_or_close_the_ticket(subscriber, uploads):
    ticket = tickets.open_ticket(subscriber, "Тема", "Вопрос", actor=as_subscriber(subscriber), upload_dir=uploads)
    stranger = make_subscriber()
    with pytest.raises(NotFound):
        tickets.own_ticket(stranger, ticket.id)
    with pytest.raises(NotFound):
        tickets.close_own_ticket(stranger, ticket.id, actor=as_subscriber(stranger))
    with pytest.raises(NotFound):
        tickets.add_message(ticket, "Чужое", actor=as_subscriber(stranger), upload_dir=uploads)
    assert Message.select().count() == 1 and Ticket.get_by_id(ticket.id).status == "new"
    assert tickets.own_tickets(stranger) == []


def test_unread_markers_clear_when_each_side_opens_the_thread(subscriber, manager, uploads):
    me = as_subscriber(subscriber)
    with time_machine.travel("2026-03-01 10:00", tick=False):
        ticket = tickets.open_ticket(subscriber, "Тема", "Вопрос", actor=me, upload_dir=uploads)
    assert Ticket.get_by_id(ticket.id).unread_by_staff
    with time_machine.travel("2026-03-01 10:05", tick=False):
        tickets.mark_seen(ticket, by_staff=True)
    assert not Ticket.get_by_id(ticket.id).unread_by_staff
    with time_machine.travel("2026-03-01 11:00", tick=False):
        tickets.add_message(ticket, "Ответ", actor=staff_actor(manager), upload_dir=uploads)
    ticket = Ticket.get_by_id(ticket.id)
    assert ticket.unread_by_subscriber and tickets.unread_for_subscriber(subscriber) == 1
    assert str(ticket.last_staff_at) == "2026-03-01 11:00:00"
    with time_machine.travel("2026-03-01 12:00", tick=False):
        tickets.mark_seen(ticket, by_staff=False)
    assert not Ticket.get_by_id(ticket.id).unread_by_subscriber
    assert tickets.unread_for_subscriber(subscriber) == 0


def test_every_message_sends_ticket_replied(subscriber, manager, uploads):
    heard = []

    def listener(sender, **kw):
        heard.append((kw["ticket"].id, kw["message"].body, kw["by_staff"]))

    events.ticket_replied.connect(listener)
    try:
        ticket = tickets.open_ticket(subscriber, "Тема", "Вопрос", actor=as_subscriber(subscriber),
                                     upload_dir=uploads)
        tickets.add_message(ticket, "Ответ", actor=staff_actor(manager), upload_dir=uploads)
    finally:
        events.ticket_replied.disconnect(listener)
    assert heard == [(ticket.id, "Вопрос", False), (ticket.id, "Ответ", True)]


def test_staff_opens_a_ticket_for_a_subscriber_in_work_in_their_hands(subscriber, manager, uploads):
    ticket = tickets.open_ticket(subscriber, "Звонок", "Просит перезвонить", actor=staff_actor(manager),
                                 upload_dir=uploads)
    assert ticket.status == "in_work" and ticket.assignee_id == manager.id and ticket.opened_by == "manager:support"
    assert ticket.unread_by_subscriber


def test_change_sets_status_class_and_assignee_and_audits(subscriber, manager, uploads):
    ticket = tickets.open_ticket(subscriber, "Тема", "Вопрос", actor=as_subscriber(subscriber), upload_dir=uploads)
    cls = classes.create_class({"name": "Оплата"}, actor=ACTOR)
    changed = tickets.change_ticket(ticket, actor=staff_actor(manager), status="in_work", ticket_class_id=cls.id,
                                    assignee_id=manager.id, version=ticket.version)
    assert (changed.status, changed.ticket_class_id, changed.assignee_id) == ("in_work", cls.id, manager.id)
    row = AuditLog.select().where(AuditLog.action == "ticket.change").get()
    assert row.after == {"status": "in_work", "ticket_class_id": cls.id, "assignee_id": manager.id}
    with pytest.raises(Conflict):  # a stale form
        tickets.change_ticket(ticket, actor=staff_actor(manager), status="closed", version=ticket.version)
    assert Ticket.get_by_id(ticket.id).status == "in_work"


def test_assignee_must_use_the_helpdesk_and_see_the_subscriber(subscriber, manager, uploads):
    ticket = tickets.open_ticket(subscriber, "Тема", "Вопрос", actor=as_subscriber(subscriber), upload_dir=uploads)
    no_permission = make_manager("cashier", permissions=["payments.create"])
    other_group = make_manager("limited", groups=[make_group("Другие")])
    for candidate in (no_permission.id, other_group.id, 99999):
        with pytest.raises(ValidationError) as refused:
            tickets.change_ticket(ticket, actor=staff_actor(manager), status="new", assignee_id=candidate)
        assert "assignee" in refused.value.fields
    assert Ticket.get_by_id(ticket.id).assignee_id is None
    names = [m.login for m in tickets.assignable_managers(ticket)]
    assert "support" in names and "cashier" not in names and "limited" not in names


def test_group_scope_hides_tickets_of_other_groups(uploads):
    mine, theirs = make_group("Мои"), make_group("Чужие")
    own = make_subscriber(groups=[mine])
    other = make_subscriber(groups=[theirs])
    limited = make_manager("limited", groups=[mine])
    own_ticket = tickets.open_ticket(own, "Свой", "x", actor=as_subscriber(own), upload_dir=uploads)
    other_ticket = tickets.open_ticket(other, "Чужой", "x", actor=as_subscriber(other), upload_dir=uploads,
                                       uploads=[samples.png()])
    assert [t.id for t in tickets.queue(limited)] == [own_ticket.id]
    assert tickets.visible_ticket(limited, own_ticket.id).id == own_ticket.id
    with pytest.raises(NotFound):
        tickets.visible_ticket(limited, other_ticket.id)
    attachment = Attachment.select().get()
    with pytest.raises(NotFound):
        tickets.attachment_for_manager(limited, attachment.id)
    with pytest.raises(NotFound):  # even a domain call on a ticket in hand
        tickets.add_message(other_ticket, "x", actor=staff_actor(limited), upload_dir=uploads)
    with pytest.raises(NotFound):
        tickets.change_ticket(other_ticket, actor=staff_actor(limited), status="closed")
    assert Ticket.get_by_id(other_ticket.id).status == "new"


def test_queue_filters_by_status_class_assignee_and_group(manager, uploads):
    group = make_group("Центр")
    a, b = make_subscriber(groups=[group]), make_subscriber()
    second = tickets.open_ticket(b, "Второй", "x", actor=as_subscriber(b), upload_dir=uploads)
    cls = classes.create_class({"name": "Тариф"}, actor=ACTOR)
    first = tickets.open_ticket(a, "Первый", "x", actor=as_subscriber(a), upload_dir=uploads, ticket_class_id=cls.id)
    tickets.add_message(second, "Ответ", actor=staff_actor(manager), upload_dir=uploads, status="closed")

    def ids(**filters):
        return sorted(t.id for t in tickets.queue(manager, **filters))

    assert ids() == sorted([first.id, second.id])
    assert ids(status="open") == [first.id]
    assert ids(status="closed") == [second.id]
    assert ids(class_id=cls.id) == [first.id]
    assert ids(assignee="me") == [second.id]
    assert ids(assignee="none") == [first.id]
    assert ids(group_id=group.id) == [first.id]
    assert ids(class_id="junk") == []


def test_ticket_classes_have_unique_names(app):
    classes.create_class({"name": "Оплата"}, actor=ACTOR)
    with pytest.raises(Conflict):
        classes.create_class({"name": "Оплата"}, actor=ACTOR)
    with pytest.raises(ValidationError):
        classes.create_class({"name": " "}, actor=ACTOR)
    assert [c.name for c in classes.active_classes()] == ["Оплата"]


def test_a_subscriber_must_choose_a_class_once_staff_defined_any(subscriber, manager, uploads):
    me = as_subscriber(subscriber)
    assert tickets.open_ticket(subscriber, "Без классов", "x", actor=me, upload_dir=uploads).ticket_class_id is None
    classes.create_class({"name": "Оплата"}, actor=ACTOR)
    with pytest.raises(ValidationError) as refused:
        tickets.open_ticket(subscriber, "Тема", "x", actor=me, upload_dir=uploads)
    assert refused.value.fields == {"ticket_class": "Choose the class of the request."}
    staff_opened = tickets.open_ticket(subscriber, "Звонок", "x", actor=staff_actor(manager), upload_dir=uploads)
    assert staff_opened.ticket_class_id is None

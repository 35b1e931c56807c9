"""The helpdesk's staff screens (/admin/helpdesk): the queue with filters
and paging, a ticket page with the subscriber's card, reply with files,
status/class/assignee, a ticket opened for a subscriber, ticket classes;
`helpdesk.use` and group scope on every route, files only to those who
may see the ticket; bad input answers in Russian and changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from lanbill import events
from lanbill.billing.payments import post_payment
from lanbill.clock import now_utc
from lanbill.customers.cabinet import subscriber_actor
from lanbill.helpdesk import classes, tickets
from lanbill.models import Attachment, Message, Ticket, TicketClass
from lanbill.models.radius import RadiusSession
from tests.admin_helpers import PASSWORD, make_group, make_manager, ru
from tests.cabinet.helpers import text_of
from tests.factories import ACTOR, make_account, make_agreement, make_subscriber, table_counts
from tests.helpdesk import samples
from tests.helpdesk.web import submit_files


@pytest.fixture
def uploads(app):
    return app.instance_path + "/uploads"


def subscriber_ticket(subscriber, upload_dir, subject="Не работает интернет", **kw):
    return tickets.open_ticket(subscriber, subject, "С утра нет связи", actor=subscriber_actor(subscriber),
                               upload_dir=upload_dir, **kw)


def test_queue_lists_open_tickets_with_unread_marks_and_filters(client, admin, login_as, uploads):
    login_as()
    group = make_group("Центр")
    a = make_subscriber(name="Абонент Центра", groups=[group])
    b = make_subscriber(name="Другой Абонент")
    cls = classes.create_class({"name": "Оплата"}, actor=ACTOR)
    first = subscriber_ticket(a, uploads, "Первый запрос", ticket_class_id=cls.id)
    other_class = classes.create_class({"name": "Другое"}, actor=ACTOR)
    second = subscriber_ticket(b, uploads, "Второй запрос", ticket_class_id=other_class.id)
    tickets.add_message(second, "Готово", actor=admin, upload_dir=uploads, status="closed")
    page = text_of(client.get("/admin/helpdesk"))
    assert "Первый запрос" in page and "Второй запрос" not in page  # open ones by default
    assert ru("new message") in page and "Абонент Центра" in page
    assert "Второй запрос" in text_of(client.get("/admin/helpdesk?status=closed"))
    both = text_of(client.get("/admin/helpdesk?status=all"))
    assert "Первый запрос" in both and "Второй запрос" in both
    assert "Второй запрос" not in text_of(client.get(f"/admin/helpdesk?status=all&class={cls.id}"))
    assert "Первый запрос" not in text_of(client.get(f"/admin/helpdesk?status=all&assignee={admin.id}"))
    assert "Второй запрос" not in text_of(client.get(f"/admin/helpdesk?status=all&group={group.id}"))
    assert "Первый запрос" in text_of(client.get("/admin/helpdesk?status=all&assignee=none"))
    assert first.id != second.id


def test_queue_pages(client, admin, login_as, uploads):
    login_as()
    subscriber = make_subscriber()
    for n in range(27):
        subscriber_ticket(subscriber, uploads, f"Запрос {n:02d}")
    first = client.get("/admin/helpdesk?per_page=25&sort=id")
    body = first.get_data(as_text=True)
    assert "Запрос 00" in body and "Запрос 26" not in body and 'rel="next"' in body
    second = text_of(client.get("/admin/helpdesk?per_page=25&sort=id&page=2"))
    assert "Запрос 26" in second and "Запрос 00" not in second


def test_ticket_page_shows_the_thread_and_the_subscribers_card(client, admin, login_as, uploads):
    login_as()
    subscriber = make_subscriber(name="Карточкин Иван")
    agreement = make_agreement(subscriber, number="HD-100")
    account = make_account(agreement, login="cardlogin")
    post_payment(agreement, "750.00", "P-1", actor=ACTOR)
    started = now_utc() - dt.timedelta(minutes=10)
    RadiusSession.create(agent_id=account.agent_id, nas_id=0, account_id=account.id, login="cardlogin",
                         acct_session_id="s-1", framed_ip="10.9.9.9", started_at=started, updated_at=started,
                         state_changed_at=started)
    ticket = subscriber_ticket(subscriber, uploads, uploads=[samples.png("скрин.png")])
    page = text_of(client.get(f"/admin/helpdesk/{ticket.id}"))
    assert "Не работает интернет" in page and "С утра нет связи" in page and "скрин.png" in page
    assert "Карточкин Иван" in page and "HD-100" in page and "750,00" in page
    assert "cardlogin" in page and "10.9.9.9" in page
    assert not Ticket.get_by_id(ticket.id).unread_by_staff  # opened: read by staff
    attachment = Attachment.get()
    download = client.get(f"/admin/helpdesk/attachments/{attachment.id}")
    assert download.status_code == 200 and download.data == samples.png_bytes()
    assert download.headers["Cache-Control"] == "private, no-store"


def test_reply_with_a_file_through_the_rendered_form_sends_the_signal(client, admin, login_as, uploads):
    login_as()
    subscriber = make_subscriber()
    ticket = subscriber_ticket(subscriber, uploads)
    heard = []

    def listener(sender, **kw):
        heard.append((kw["ticket"].id, kw["by_staff"]))

    events.ticket_replied.connect(listener)
    try:
        response = submit_files(client, f"/admin/helpdesk/{ticket.id}",
                                {"reply-body": "Перезагрузите роутер", "reply-status": "waiting"},
                                action=f"/admin/helpdesk/{ticket.id}/reply",
                                files=[("инструкция.pdf", samples.pdf_bytes())], file_field="reply-files")
    finally:
        events.ticket_replied.disconnect(listener)
    assert response.status_code == 302
    assert heard == [(ticket.id, True)]
    ticket = Ticket.get_by_id(ticket.id)
    assert ticket.status == "waiting" and ticket.assignee_id == admin.id and ticket.unread_by_subscriber
    reply = Message.select().where(Message.by_staff == True).get()  # noqa: E712
    assert reply.body == "Перезагрузите роутер" and reply.attachments[0].filename == "инструкция.pdf"
    page = text_of(client.get(f"/admin/helpdesk/{ticket.id}"))
    assert ru("The subscriber has not read the reply yet.") in page


@pytest.mark.parametrize("values, files, message", [
    ({"reply-body": "  "}, [], "Write the message."),
    ({"reply-body": "Ответ"}, [("setup.exe", b"MZ" + b"\x00" * 64)], None),
    ({"reply-body": "Ответ"}, [("big.png", b"\x89PNG\r\n\x1a\n" + b"0" * (5 * 1024 * 1024))], None),
])
def test_bad_replies_are_refused_in_russian_and_nothing_changes(client, admin, login_as, uploads, values, files,
                                                                 message):
    login_as()
    ticket = subscriber_ticket(make_subscriber(), uploads)
    client.get(f"/admin/helpdesk/{ticket.id}")
    before = table_counts()
    status_before = Ticket.get_by_id(ticket.id).status
    response = submit_files(client, f"/admin/helpdesk/{ticket.id}", values,
                            action=f"/admin/helpdesk/{ticket.id}/reply", files=files, file_field="reply-files")
    assert response.status_code == 422
    page = text_of(response)
    if message:
        assert ru(message) in page
    elif files[0][0] == "setup.exe":
        assert "setup.exe" in page and "нельзя приложить" in page
    else:
        assert ru("The file %(name)s is larger than 5 MB.", name="big.png") in page
    assert table_counts() == before
    assert Ticket.get_by_id(ticket.id).status == status_before


def test_change_status_class_and_assignee(client, admin, login_as, uploads):
    login_as()
    ticket = subscriber_ticket(make_subscriber(), uploads)
    cls = classes.create_class({"name": "Тариф"}, actor=ACTOR)
    other = make_manager("second")
    response = submit_files(client, f"/admin/helpdesk/{ticket.id}",
                            {"change-status": "in_work", "change-ticket_class": str(cls.id),
                             "change-assignee": str(other.id)}, action=f"/admin/helpdesk/{ticket.id}/change")
    assert response.status_code == 302
    ticket = Ticket.get_by_id(ticket.id)
    assert (ticket.status, ticket.ticket_class_id, ticket.assignee_id) == ("in_work", cls.id, other.id)
    cashier = make_manager("cashier", permissions=["payments.create"])
    before = table_counts()
    refused = submit_files(client, f"/admin/helpdesk/{ticket.id}", {"change-assignee": str(cashier.id)},
                           action=f"/admin/helpdesk/{ticket.id}/change")
    assert refused.status_code == 422 and ru("This manager cannot take the ticket.") in text_of(refused)
    assert table_counts() == before and Ticket.get_by_id(ticket.id).assignee_id == other.id


def test_staff_open_a_ticket_for_a_subscriber_by_agreement_number(client, admin, login_as):
    login_as()
    subscriber = make_subscriber(name="Позвонивший Абонент")
    make_agreement(subscriber, number="CALL-1")
    before = table_counts()
    unknown = submit_files(client, "/admin/helpdesk/new", {"agreement": "NO-SUCH", "subject": "Звонок",
                                                           "body": "Просит перезвонить"}, action="/admin/helpdesk/new")
    assert unknown.status_code == 422 and ru("No subscriber with this agreement number.") in text_of(unknown)
    assert table_counts() == before
    response = submit_files(client, "/admin/helpdesk/new", {"agreement": "CALL-1", "subject": "Звонок",
                                                            "body": "Просит перезвонить"},
                            action="/admin/helpdesk/new", files=[("заявление.docx", samples.docx_bytes())])
    assert response.status_code == 302
    ticket = Ticket.get()
    assert ticket.subscriber_id == subscriber.id and ticket.status == "in_work" and ticket.assignee_id == admin.id
    chosen = text_of(client.get(f"/admin/helpdesk/new?subscriber={subscriber.id}"))
    assert "Позвонивший Абонент" in chosen


def test_ticket_classes_screen(client, admin, login_as):
    login_as()
    response = submit_files(client, "/admin/helpdesk/classes", {"name": "Нет связи"},
                            action="/admin/helpdesk/classes")
    assert response.status_code == 302
    item = TicketClass.get()
    before = table_counts()
    again = submit_files(client, "/admin/helpdesk/classes", {"name": "Нет связи"}, action="/admin/helpdesk/classes")
    assert again.status_code == 409 and ru("A ticket class with this name exists.") in text_of(again)
    assert table_counts() == before
    archived = client.post(f"/admin/helpdesk/classes/{item.id}", data={"name": "Нет связи", "archived": "y"})
    assert archived.status_code == 302 and TicketClass.get_by_id(item.id).archived
    assert classes.active_classes() == []


def test_without_helpdesk_use_every_helpdesk_route_is_403_and_the_menu_hides_it(client, app, uploads):
    manager = make_manager("cashier", permissions=["subscribers.view", "payments.create", "settings.edit"])
    subscriber = make_subscriber()
    ticket = subscriber_ticket(subscriber, uploads, uploads=[samples.png()])
    attachment = Attachment.get()
    client.post("/login", data={"login": manager.login, "password": PASSWORD})
    before = table_counts()
    for method, url in (("get", "/admin/helpdesk"), ("get", f"/admin/helpdesk/{ticket.id}"),
                        ("post", f"/admin/helpdesk/{ticket.id}/reply"), ("post", f"/admin/helpdesk/{ticket.id}/change"),
                        ("get", "/admin/helpdesk/new"), ("post", "/admin/helpdesk/new"),
                        ("get", f"/admin/helpdesk/attachments/{attachment.id}"), ("get", "/admin/helpdesk/classes"),
                        ("get", "/admin/knowledge"), ("get", "/admin/knowledge/new")):
        response = getattr(client, method)(url, data={"reply-body": "x", "subject": "x", "body": "x"})
        assert response.status_code == 403, (method, url, response.status_code)
    assert table_counts() == before
    home = client.get("/admin/").get_data(as_text=True)
    assert "/admin/helpdesk" not in home and "/admin/knowledge" not in home


def test_group_scope_hides_other_groups_tickets_everywhere(client, app, uploads):
    mine, theirs = make_group("Мои"), make_group("Чужие")
    own = make_subscriber(name="Свой Абонент", groups=[mine])
    other = make_subscriber(name="Чужой Абонент", groups=[theirs])
    make_agreement(other, number="THEIRS-1")
    own_ticket = subscriber_ticket(own, uploads, "Свой запрос")
    other_ticket = subscriber_ticket(other, uploads, "Чужой запрос", uploads=[samples.png("чужой.png")])
    attachment = Attachment.get()
    limited = make_manager("limited", groups=[mine])
    client.post("/login", data={"login": limited.login, "password": PASSWORD})
    queue = text_of(client.get("/admin/helpdesk?status=all"))
    assert "Свой запрос" in queue and "Чужой запрос" not in queue
    assert "Чужой запрос" not in text_of(client.get(f"/admin/helpdesk?status=all&group={theirs.id}"))
    before = table_counts()
    for method, url in (("get", f"/admin/helpdesk/{other_ticket.id}"),
                        ("post", f"/admin/helpdesk/{other_ticket.id}/reply"),
                        ("post", f"/admin/helpdesk/{other_ticket.id}/change"),
                        ("get", f"/admin/helpdesk/attachments/{attachment.id}"),
                        ("get", f"/admin/helpdesk/new?subscriber={other.id}")):
        response = getattr(client, method)(url, data={"reply-body": "x", "change-status": "closed"})
        assert response.status_code == 404, (method, url)
        assert "Чужой" not in response.get_data(as_text=True)
    refused = client.post("/admin/helpdesk/new", data={"agreement": "THEIRS-1", "subject": "x", "body": "x"})
    assert refused.status_code == 422 and "Чужой" not in refused.get_data(as_text=True)
    assert table_counts() == before
    assert client.get(f"/admin/helpdesk/{own_ticket.id}").status_code == 200

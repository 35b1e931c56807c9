"""Support in the cabinet (seed 002 «Поддержка»): the subscriber's own
tickets, a new one with a class and a file, the thread, replies, closing,
unread markers; another subscriber's ticket or file is 404 with nothing
revealed; bad input answers in Russian and changes nothing."""

from __future__ import annotations

import pytest

from lanbill.actor import staff_actor
from lanbill.customers.cabinet import subscriber_actor
from lanbill.helpdesk import classes, tickets
from lanbill.helpdesk.attachments import MAX_SIZE
from lanbill.models import Attachment, Message, Ticket
from tests.admin_helpers import make_manager, ru
from tests.cabinet.helpers import log_in, make_cabinet_subscriber, text_of
from tests.factories import ACTOR, make_subscriber, table_counts
from tests.helpdesk import samples
from tests.helpdesk.web import submit_files


@pytest.fixture
def me(client):
    subscriber, agreement, account = make_cabinet_subscriber(name="Сидорова Анна")
    log_in(client, agreement.number)
    return subscriber


@pytest.fixture
def uploads(app):
    return app.instance_path + "/uploads"


def test_the_menu_leads_to_support_and_the_knowledge_base(client, me):
    home = text_of(client.get("/"))
    assert 'href="/support"' in home and ru("Support") in home
    assert 'href="/knowledge"' in home


def test_subscriber_opens_a_request_with_a_class_and_a_file(client, me, app):
    cls = classes.create_class({"name": "Нет связи"}, actor=ACTOR)
    response = submit_files(client, "/support/new", {"subject": "Нет интернета", "ticket_class": str(cls.id),
                                                     "body": "С утра не открываются сайты"},
                            action="/support/new", files=[("скрин.png", samples.png_bytes())])
    assert response.status_code == 302, text_of(response)[:2000]
    ticket = Ticket.get()
    assert response.headers["Location"].endswith(f"/support/{ticket.id}")
    assert (ticket.subscriber_id, ticket.status, ticket.ticket_class_id) == (me.id, "new", cls.id)
    page = text_of(client.get(f"/support/{ticket.id}"))
    assert "Нет интернета" in page and "С утра не открываются сайты" in page and "скрин.png" in page
    attachment = Attachment.get()
    download = client.get(f"/support/files/{attachment.id}")
    assert download.status_code == 200 and download.data == samples.png_bytes()
    assert download.headers["Content-Type"] == "image/png"
    listing = text_of(client.get("/support"))
    assert "Нет интернета" in listing and ru("Received") in listing


@pytest.mark.parametrize("values, files, message", [
    ({"subject": "Тема", "body": "   "}, [], "Write the message."),
    ({"subject": "", "body": "Текст"}, [], "Give the subject of the request."),
])
def test_empty_fields_are_refused_in_russian(client, me, values, files, message):
    before = table_counts()
    response = submit_files(client, "/support/new", values, action="/support/new", files=files)
    assert response.status_code == 422
    assert ru(message) in text_of(response)
    assert table_counts() == before


def test_a_wrong_type_or_oversized_file_is_refused_in_russian_and_nothing_is_kept(client, me, app, tmp_path):
    before = table_counts()
    response = submit_files(client, "/support/new", {"subject": "Тема", "body": "Текст"}, action="/support/new",
                            files=[("virus.exe", b"MZ" + b"\x00" * 100)])
    assert response.status_code == 422
    assert ru("The file %(name)s is of a type that cannot be attached. Allowed: %(allowed)s.", name="virus.exe",
              allowed="PNG, JPEG, GIF, WebP, PDF, TXT, DOC, DOCX, XLS, XLSX, ODT") in text_of(response)
    response = submit_files(client, "/support/new", {"subject": "Тема", "body": "Текст"}, action="/support/new",
                            files=[("big.pdf", b"%PDF-1.4\n" + b"0" * MAX_SIZE)])
    assert response.status_code == 422
    assert ru("The file %(name)s is larger than 5 MB.", name="big.pdf") in text_of(response)
    assert table_counts() == before
    folder = tmp_path / "uploads" / "helpdesk"
    assert not folder.exists() or not any(folder.iterdir())


def test_reply_and_close_and_the_unread_marker(client, me, uploads):
    ticket = tickets.open_ticket(me, "Тема", "Вопрос", actor=subscriber_actor(me), upload_dir=uploads)
    manager = make_manager("support")
    tickets.add_message(ticket, "Перезагрузите роутер", actor=staff_actor(manager), upload_dir=uploads)
    listing = text_of(client.get("/support"))
    assert f'id="unread-{ticket.id}"' in listing and ru("New reply") in listing
    page = text_of(client.get(f"/support/{ticket.id}"))
    assert "Перезагрузите роутер" in page and ru("support replied") in page
    assert f'id="unread-{ticket.id}"' not in text_of(client.get("/support"))  # read now
    response = submit_files(client, f"/support/{ticket.id}", {"body": "Не помогло"},
                            action=f"/support/{ticket.id}/reply")
    assert response.status_code == 302
    assert Ticket.get_by_id(ticket.id).status == "in_work"
    empty = submit_files(client, f"/support/{ticket.id}", {"body": " "}, action=f"/support/{ticket.id}/reply")
    assert empty.status_code == 422 and ru("Write the message.") in text_of(empty)
    assert Message.select().where(Message.ticket == ticket.id).count() == 3
    closed = client.post(f"/support/{ticket.id}/close", data={})
    assert closed.status_code == 302
    assert Ticket.get_by_id(ticket.id).status == "closed"


def test_another_subscribers_ticket_and_file_are_404_with_nothing_revealed(client, me, uploads):
    other = make_subscriber(name="Чужой Абонент")
    ticket = tickets.open_ticket(other, "Секретная тема", "Секретный текст", actor=subscriber_actor(other),
                                 upload_dir=uploads, uploads=[samples.png("чужой.png")])
    attachment = Attachment.get()
    before = table_counts()
    for response in (client.get(f"/support/{ticket.id}"),
                     client.post(f"/support/{ticket.id}/reply", data={"body": "Взлом"}),
                     client.post(f"/support/{ticket.id}/close", data={}),
                     client.get(f"/support/files/{attachment.id}"),
                     client.get("/support/999999")):
        assert response.status_code == 404
        body = response.get_data(as_text=True)
        assert "Секретн" not in body and "чужой.png" not in body
    assert "Секретная тема" not in text_of(client.get("/support"))
    assert table_counts() == before
    assert Ticket.get_by_id(ticket.id).status == "new"


def test_support_pages_need_a_cabinet_login(client, uploads):
    subscriber = make_subscriber()
    ticket = tickets.open_ticket(subscriber, "Тема", "Текст", actor=subscriber_actor(subscriber), upload_dir=uploads)
    for url in ("/support", "/support/new", f"/support/{ticket.id}", "/knowledge"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].endswith("/")


def test_the_class_must_be_chosen_when_staff_defined_classes(client, me):
    classes.create_class({"name": "Оплата"}, actor=ACTOR)
    before = table_counts()
    response = submit_files(client, "/support/new", {"subject": "Тема", "body": "Текст"}, action="/support/new")
    assert response.status_code == 422
    assert ru("Choose the class of the request.") in text_of(response)
    assert table_counts() == before


def test_staff_reading_the_message_shows_in_the_cabinet(client, me, uploads):
    ticket = tickets.open_ticket(me, "Тема", "Вопрос", actor=subscriber_actor(me), upload_dir=uploads)
    assert 'id="seen-by-staff"' not in text_of(client.get(f"/support/{ticket.id}"))
    tickets.mark_seen(ticket, by_staff=True)
    assert 'id="seen-by-staff"' in text_of(client.get(f"/support/{ticket.id}"))

"""The helpdesk in a real browser: a subscriber opens a request with a
picture attached in the cabinet (phone-sized), staff see it in
/admin/helpdesk, open it, look at the file and answer; the subscriber sees
"new reply" and reads it.  No page breaks the Content-Security-Policy."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from lanbill.helpdesk import classes
from lanbill.models import Attachment, Message, Ticket
from tests.cabinet.helpers import PASSWORD, make_cabinet_subscriber
from tests.e2e.conftest import log_in, watch_csp
from tests.factories import ACTOR
from tests.helpdesk import samples


def test_a_request_with_a_file_answered_by_staff(app, admin, live_server, browser, phone, shot, tmp_path):
    subscriber, agreement, _ = make_cabinet_subscriber(name="Орлова Вера")
    ticket_class = classes.create_class({"name": "Нет связи"}, actor=ACTOR)
    picture = tmp_path / "router.png"
    picture.write_bytes(samples.png_bytes())
    wrong = tmp_path / "router.exe"
    wrong.write_bytes(b"MZ" + bytes(200))

    # the subscriber, on a phone
    cab = phone
    cab.goto(live_server + "/")
    cab.fill("#login", agreement.number)
    cab.fill("#password", PASSWORD)
    cab.click("main button[type=submit]")
    cab.click("nav.cab-nav >> text=Поддержка")
    cab.wait_for_url(re.compile(r"/support$"))
    cab.click("#new-request")
    cab.fill("#subject", "Пропадает интернет")
    cab.select_option("#ticket_class", label="Нет связи")
    cab.fill("#body", "Каждый вечер пропадает связь, скриншот роутера приложен.")
    cab.set_input_files("#files", str(wrong))
    cab.click("main button[type=submit]")
    expect(cab.locator(".errors")).to_contain_text("такого типа нельзя приложить")
    assert Ticket.select().count() == 0
    cab.set_input_files("#files", str(picture))
    cab.click("main button[type=submit]")
    expect(cab.locator(".flash.success")).to_contain_text("Запрос отправлен")
    expect(cab.locator("#thread")).to_contain_text("router.png")
    ticket = Ticket.get()
    assert ticket.ticket_class_id == ticket_class.id and ticket.status == "new"
    assert cab.evaluate("document.documentElement.scrollWidth") <= 390
    shot(cab, "helpdesk-01-subscriber-request")

    # staff, at a desk
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU")
    staff = context.new_page()
    staff.set_default_timeout(10000)
    staff_violations = watch_csp(staff)
    log_in(staff, live_server)
    staff.click("header nav.wide summary >> text=Абоненты")
    staff.click("header nav.wide >> text=Поддержка")
    staff.wait_for_url(re.compile(r"/admin/helpdesk"))
    expect(staff.locator("#tickets")).to_contain_text("Пропадает интернет")
    expect(staff.locator("#tickets")).to_contain_text("новое сообщение")
    staff.click("#tickets >> text=Пропадает интернет")
    expect(staff.locator("#subscriber-card")).to_contain_text("Орлова Вера")
    expect(staff.locator("#thread")).to_contain_text("Каждый вечер пропадает связь")
    href = staff.locator("#thread a", has_text="router.png").get_attribute("href")
    download = staff.request.get(live_server + href)
    assert download.status == 200 and download.body() == samples.png_bytes()
    staff.fill("#reply-body", "")
    staff.click("#reply-form button[type=submit]")
    expect(staff.locator("#reply-form p.error").first).to_contain_text("Напишите сообщение")
    staff.fill("#reply-body", "Заменили порт на коммутаторе, проверьте, пожалуйста.")
    staff.click("#reply-form button[type=submit]")
    expect(staff.locator(".flash.success")).to_contain_text("Ответ отправлен")
    expect(staff.locator("#ticket-status")).to_have_text("Ждёт ответа абонента")
    expect(staff.locator("#read-markers")).to_contain_text("Абонент ещё не прочитал ответ")
    shot(staff, "helpdesk-02-staff-reply")
    assert Message.select().where(Message.by_staff == True).count() == 1  # noqa: E712
    assert Attachment.select().count() == 1

    # the subscriber sees the reply
    cab.goto(live_server + "/support")
    expect(cab.locator(f"#unread-{ticket.id}")).to_have_text("Новый ответ")
    cab.click(f"#ticket-{ticket.id} a")
    expect(cab.locator("#thread")).to_contain_text("Заменили порт на коммутаторе")
    expect(cab.locator("#ticket-status")).to_have_text("Получен ответ, ждём вас")
    shot(cab, "helpdesk-03-subscriber-reads")
    cab.goto(live_server + "/support")
    expect(cab.locator(f"#unread-{ticket.id}")).to_have_count(0)

    staff.reload()
    expect(staff.locator("#read-markers")).to_contain_text("Абонент прочитал")
    context.close()
    assert staff_violations == []

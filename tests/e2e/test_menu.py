"""The grouped main menu: on a 1440-px desktop one row of groups that
open as drop-downs; on a phone the ☰ menu lists the groups with their
headings."""

from __future__ import annotations

import re

from tests.e2e.conftest import log_in


def test_grouped_menu_on_a_desktop_and_a_phone(app, admin, live_server, browser, phone, shot):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="ru-RU")
    page = context.new_page()
    try:
        log_in(page, live_server)
        page.goto(live_server + "/admin/")
        bar = page.locator("nav.menu.wide").bounding_box()
        assert bar["height"] < 60  # one row
        page.click("nav.menu.wide summary >> text=Финансы")
        page.click("nav.menu.wide >> text=Журнал платежей")
        page.wait_for_url(re.compile(r"/admin/payments/journal"))
        assert page.locator("nav.menu.wide details[data-group=finance] summary").get_attribute(
            "aria-current") == "true"
        shot(page, "menu-desktop")
    finally:
        context.close()
    log_in(phone, live_server)
    phone.goto(live_server + "/admin/")
    phone.click("details.menu-toggle summary")
    headings = phone.locator("details.menu-toggle .menu-heading").all_inner_texts()
    assert [h.strip().lower() for h in headings][:3] == ["абоненты", "финансы", "сеть"]
    shot(phone, "menu-phone")

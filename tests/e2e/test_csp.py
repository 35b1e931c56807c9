"""The Content-Security-Policy in a real browser: the main admin pages load
and work with it on, and Chromium reports no violation (no inline script,
style or handler slipped into a page)."""

from __future__ import annotations

import re

from lanbill.models import Subscriber
from tests.e2e.conftest import log_in
from tests.factories import make_account, make_agent, make_agreement, make_subscriber, make_tariff

PAGES = ["/admin/", "/admin/subscribers", "/admin/subscribers/new", "/admin/payments", "/admin/tariffs",
         "/admin/agents", "/admin/nas", "/admin/radius/sessions", "/admin/staff", "/admin/staff/new",
         "/admin/roles", "/admin/audit", "/password", "/logout"]


def test_main_admin_pages_report_no_csp_violation(app, admin, live_server, page):
    subscriber = make_subscriber(name="Политикова Ксения")
    agreement = make_agreement(subscriber)
    account = make_account(agreement, tariff=make_tariff(), agent=make_agent())
    log_in(page, live_server)
    urls = PAGES + [f"/admin/subscribers/{subscriber.id}", f"/admin/agreements/{agreement.id}",
                    f"/admin/accounts/{account.id}"]
    for url in urls:
        response = page.goto(live_server + url)
        assert response.status < 400, url
        assert "default-src 'self'" in response.headers["content-security-policy"]
    assert page.csp_violations == []
    # The scripts still run under the policy: the class switch hides the other class's fields.
    page.goto(live_server + "/admin/subscribers/new")
    page.check("input[name=kind][value=legal]")
    assert page.locator("fieldset[data-kind=individual]").is_hidden()
    # ... and a confirm button asks first (the handler lives in static/lanbill.js).
    # (a subscriber without accounts: with accounts the button is disabled)
    free = make_subscriber(name="Без Учёток")
    page.goto(live_server + f"/admin/subscribers/{free.id}")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click("text=Удалить пользователя")
    assert asked and Subscriber.select().where(Subscriber.id == free.id).exists()
    # Logging out is a POST from the menu's button.
    page.click("header .logout button")
    page.wait_for_url(re.compile(r"/login"))
    assert page.csp_violations == []

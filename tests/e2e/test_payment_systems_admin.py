"""Staff configure a payment system in a real browser: the menu entry,
the rendered form (protocol, networks, HTTP basic login and password),
the provider's address shown after saving, the password never shown
back; then a terminal's check reaches the new address."""

from __future__ import annotations

import base64
import re
import urllib.request

from playwright.sync_api import expect

from lanbill.models.paysys import PaymentSystem
from tests.e2e.conftest import log_in
from tests.factories import make_agreement
from tests.pay.helpers import fresh_system_cache  # noqa: F401 - autouse fixture


def test_staff_add_a_terminal_system_and_it_answers(app, live_server, page, shot, admin):
    agreement = make_agreement()
    log_in(page, live_server)
    page.click("nav.menu.wide summary >> text=Справочники")
    page.click("nav.menu.wide >> text=Платёжные системы")
    page.wait_for_url(re.compile(r"/admin/payment-systems$"))
    page.click("text=Новая платёжная система")
    page.fill("#code", "Терминалы")
    page.fill("#name", "Терминалы города")
    page.select_option("#kind", "osmp")
    page.fill("#allowed_networks", "127.0.0.0/8")
    page.fill("#login", "terminal")
    page.fill("#password", "Term-secret-42")
    page.click("main button[type=submit]")
    expect(page.locator("p.error").first).to_contain_text("латинские")
    page.fill("#code", "terminals")
    page.fill("#password", "Term-secret-42")
    page.click("main button[type=submit]")
    expect(page.locator("#system-url")).to_contain_text("/pay/terminals")
    shot(page, "paysys-01-saved")
    assert "Term-secret-42" not in page.content()
    assert PaymentSystem.get(PaymentSystem.code == "terminals").password == "Term-secret-42"
    auth = base64.b64encode(b"terminal:Term-secret-42").decode()
    request = urllib.request.Request(
        f"{live_server}/pay/terminals?command=check&txn_id=1&account={agreement.number}&sum=100.00",
        headers={"Authorization": f"Basic {auth}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert b"<result>0</result>" in response.read()

"""The subscriber's cabinet in a real browser, phone-sized (390×844):
login → home → user block on → the state changes → Internet password
change.  The page carries no inline script or style (strict CSP)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from lanbill.models import Account
from tests.cabinet.helpers import PASSWORD, make_cabinet_subscriber


def test_subscriber_walks_the_cabinet_on_a_phone(app, live_server, phone, shot):
    subscriber, agreement, account = make_cabinet_subscriber(name="Кузнецова Мария")
    page = phone
    page.goto(live_server + "/")
    shot(page, "cabinet-01-login")
    page.fill("#login", agreement.number)
    page.fill("#password", "wrong-pass-1")
    page.click("main button[type=submit]")
    expect(page.locator(".error").first).to_contain_text("Неверный логин или пароль")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    expect(page.locator("#subscriber-name")).to_have_text("Кузнецова Мария")
    expect(page.locator(f"#state-{account.id}")).to_have_text("Работает")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    assert page.locator("script").count() == 0 and page.locator("[style]").count() == 0
    shot(page, "cabinet-02-home")

    page.click(f"#block-{account.id}")
    expect(page.locator(f"#state-{account.id}")).to_have_text("Заблокирована по вашему запросу")
    expect(page.locator(f"#unblock-{account.id}")).to_be_visible()
    assert Account.get_by_id(account.id).state == "user"
    shot(page, "cabinet-03-blocked")

    page.click(f"#password-{account.id}")
    page.wait_for_url(re.compile(rf"/accounts/{account.id}/password$"))
    page.fill("#password", "")
    page.fill("#repeat", "")
    page.click("main button[type=submit]")
    expect(page.locator(".error").first).to_contain_text("Введите пароль")
    page.fill("#password", "Fresh-net-7")
    page.fill("#repeat", "Fresh-net-7")
    page.click("main button[type=submit]")
    expect(page.locator(".flash.success")).to_contain_text("изменён")
    assert Account.get_by_id(account.id).password == "Fresh-net-7"
    shot(page, "cabinet-04-password")

    page.click("#logout")
    expect(page.locator("#login")).to_be_visible()

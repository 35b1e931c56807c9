"""The cabinet's "Pay online" in a real browser against a local fake
ЮKassa: the subscriber opens the page from the menu, the amount the next
month needs is filled in, pays by card saving it, confirms on the fake
checkout, comes back and sees the money credited (the notification was
read back and booked once); then switches autopayment on."""

from __future__ import annotations

import re
from decimal import Decimal

from playwright.sync_api import expect

from lanbill.models import Agreement, Payment
from lanbill.models.online_payments import AutoPayment
from lanbill.paysys import systems
from tests.cabinet.helpers import PASSWORD, make_cabinet_subscriber
from tests.factories import ACTOR
from tests.pay.helpers import fresh_system_cache  # noqa: F401 - autouse fixture
from tests.paysys.fake_yookassa import FakeYooKassa


def test_subscriber_pays_online_and_switches_autopayment_on(app, live_server, phone, shot):
    subscriber, agreement, account = make_cabinet_subscriber(name="Орлова Вера")
    with FakeYooKassa() as fake:
        fake.notify_url = f"{live_server}/pay/kassa/notify"
        systems.create_system({"code": "kassa", "name": "ЮKassa", "kind": "yookassa", "password": fake.secret,
                               "options": {"shop_id": fake.shop_id, "api_url": fake.api_url}}, actor=ACTOR)
        page = phone
        page.goto(live_server + "/")
        page.fill("#login", agreement.number)
        page.fill("#password", PASSWORD)
        page.click("main button[type=submit]")
        expect(page.locator("#subscriber-name")).to_have_text("Орлова Вера")
        page.click("nav.cab-nav >> text=Оплатить онлайн")
        page.wait_for_url(re.compile(r"/pay-online$"))
        expect(page.locator("#amount")).to_have_value("650,00")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shot(page, "pay-01-form")
        page.fill("#amount", "700,00")
        page.check("input[name=method][value=bank_card]")
        page.check("#save_card")
        page.click("#pay-button")
        page.wait_for_url(re.compile(re.escape(fake.url) + r"/checkout/"))
        expect(page.locator("#amount")).to_have_text("700.00")
        shot(page, "pay-02-checkout")
        page.click("#confirm")
        page.wait_for_url(re.compile(r"/pay-online/return/"))
        expect(page.locator("#pay-state")).to_contain_text("зачислен")
        shot(page, "pay-03-done")
        assert Payment.select().count() == 1
        assert Agreement.get_by_id(agreement.id).balance == Decimal("700.00")
        page.goto(live_server + "/pay-online")
        expect(page.locator(f"#autopayment-state-{agreement.id}")).to_have_text("Автоплатёж выключен")
        page.click(f"#autopayment-on-{agreement.id}")
        expect(page.locator(f"#autopayment-state-{agreement.id}")).to_have_text("Автоплатёж включён")
        assert AutoPayment.get(AutoPayment.agreement == agreement.id).enabled is True
        shot(page, "pay-04-autopayment")
        # СБП is offered too
        expect(page.locator("input[name=method][value=sbp]")).to_have_count(1)

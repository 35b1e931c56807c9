"""More cabinet walks in a real browser (the login, home page, user block
and Internet password on a phone are in test_cabinet.py):

- the Internet password changed in the cabinet is accepted over RADIUS
  (real UDP to a running agent) and the old one is refused;
- on a 390×844 phone: a promised payment ordered, a payment card
  activated (the balance grows), the next-period tariff chosen and then
  cancelled, the traffic CSV downloaded;
- a forgotten password reset with the code staff read from the log.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from playwright.sync_api import expect
from pyrad import packet

from lanbill import clock
from lanbill.billing import tariff_choice
from lanbill.clock import midnight_utc
from lanbill.models import Agreement, Currency, Group, PromisedPayment, SubscriberGroup, TariffChange, TrafficHourly
from lanbill.money import format_money
from lanbill.network import traffic_categories
from lanbill.paysys import cards
from tests.cabinet.helpers import PASSWORD, make_cabinet_subscriber
from tests.factories import ACTOR, make_account, make_tariff
from tests.radius_harness import wait_for

MB = 1024 * 1024


def _log_in(page, base, login, password=PASSWORD):
    page.goto(base + "/")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("main button[type=submit]")
    expect(page.locator("#subscriber-name")).to_be_visible()


def test_a_new_internet_password_works_over_radius_at_once(app, live_server, page, radius_factory):
    radius = radius_factory()
    subscriber, agreement, _ = make_cabinet_subscriber(name="Радиусов Семён")
    account = make_account(agreement, agent=radius.agent, login="semen", password="Old-net-1")
    radius.refresh()
    assert radius.auth("semen", "Old-net-1").code == packet.AccessAccept

    _log_in(page, live_server, agreement.number)
    page.click(f"#password-{account.id}")
    page.wait_for_url(re.compile(rf"/accounts/{account.id}/password$"))
    page.fill("#password", "New-net-2")
    page.fill("#repeat", "New-net-3")
    page.click("main button[type=submit]")
    expect(page.locator(".error").first).to_contain_text("Пароли не совпадают")
    page.fill("#password", "New-net-2")
    page.fill("#repeat", "New-net-2")
    page.click("main button[type=submit]")
    expect(page.locator(".flash.success")).to_contain_text("изменён")

    # the agent's cache follows the database by itself (no manual refresh)
    wait_for(lambda: radius.auth("semen", "New-net-2").code == packet.AccessAccept, timeout=10)
    assert radius.auth("semen", "Old-net-1").code == packet.AccessReject


def test_phone_walk_promise_card_tariff_and_csv(app, live_server, phone, shot, tmp_path):
    subscriber, agreement, account = make_cabinet_subscriber(name="Мобильная Вера")
    group = Group.create(name="Обещанные", promise_allowed=True, promise_max_amount="300.00", promise_days=3)
    SubscriberGroup.create(subscriber=subscriber, group=group)
    fast = make_tariff(name="Быстрый 500", rent="990.00")
    tariff_choice.set_selectable(account.tariff, [fast.id], actor=ACTOR)
    series = cards.generate_series(count=1, nominal="500", currency=Currency.get_by_id(agreement.currency_id).code,
                                   expires_on=clock.today() + dt.timedelta(days=30), actor=ACTOR)
    (card, code), = cards.sheet_codes(series, actor=ACTOR)
    internet = traffic_categories.create_category(account.tariff_id, {"name": "Интернет", "price_in_mb": "1.00",
                                                                      "price_out_mb": "0"}, actor=ACTOR)
    yesterday = clock.today() - dt.timedelta(days=1)
    TrafficHourly.create(account_id=account.id, category_id=internet.id,
                         hour=midnight_utc(yesterday) + dt.timedelta(hours=3), bytes_in=3 * MB, bytes_out=MB)
    page = phone
    _log_in(page, live_server, agreement.number)

    # promised payment: too much is refused in Russian, then given
    page.click(f"#agreement-{agreement.id} a[href$='/promise']")
    page.fill("#amount", "301")
    page.click("main button[type=submit]")
    expect(page.locator(".errors, .error").first).to_be_visible()
    assert PromisedPayment.select().count() == 0
    page.fill("#amount", "200")
    page.click("main button[type=submit]")
    expect(page.locator(".flash.success")).to_contain_text("Обещанный платёж")
    assert Agreement.get_by_id(agreement.id).promised_amount == Decimal("200.00")
    shot(page, "cabinet-more-01-promise")

    # a payment card: a wrong code first, then the right one
    balance = Agreement.get_by_id(agreement.id).balance
    page.click("nav.cab-nav >> text=Карта оплаты")
    page.fill("#serial", card.serial)
    page.fill("#code", "000000000000" if code != "000000000000" else "111111111111")
    page.click("#activate")
    expect(page.locator(".errors")).to_contain_text("Осталось попыток: 4")
    assert Agreement.get_by_id(agreement.id).balance == balance
    page.fill("#serial", card.serial)
    page.fill("#code", code[:4] + " " + code[4:8] + " " + code[8:])
    page.click("#activate")
    expect(page.locator(".flash.success")).to_contain_text("Карта активирована")
    expect(page.locator(f"#balance-{agreement.id}")).to_have_text(format_money(balance + Decimal("500")))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "cabinet-more-02-card")

    # the next-period tariff, chosen and cancelled
    page.click("nav.cab-nav >> text=Смена тарифа")
    page.select_option(f"#a{account.id}-tariff", str(fast.id))
    page.click(f"#choose-tariff-{account.id}")
    expect(page.locator(".flash.success")).to_contain_text("Быстрый 500")
    expect(page.locator(f"#pending-{account.id}")).to_contain_text("Быстрый 500")
    start = tariff_choice.next_period_start()
    change = TariffChange.select().where((TariffChange.account == account.id) & TariffChange.applied_at.is_null()
                                         & TariffChange.cancelled_at.is_null()).get()
    assert clock.local_date_of(change.at) == start and change.tariff_id == fast.id
    page.click("a.cab-brand")
    expect(page.locator(f"#account-{account.id}")).to_contain_text("Быстрый 500")
    shot(page, "cabinet-more-03-tariff")
    page.click("nav.cab-nav >> text=Смена тарифа")
    page.click(f"#cancel-tariff-{account.id}")
    expect(page.locator(".flash.success")).to_contain_text("отменена")
    assert TariffChange.get_by_id(change.id).cancelled_at is not None

    # traffic statistics as CSV
    page.goto(live_server + f"/traffic/{account.id}")
    with page.expect_download() as download:
        page.click("#csv")
    path = tmp_path / "traffic.csv"
    download.value.save_as(path)
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[1].startswith(f"{yesterday.isoformat()};3,00;1,00;4,00;3,00")


def test_a_forgotten_password_is_reset_with_the_code_sent_through_the_outbox(app, live_server, page):
    from lanbill.models import OutboxMessage, Subscriber

    subscriber, agreement, _ = make_cabinet_subscriber(name="Забывчивая Нина")
    Subscriber.update(email="nina@example.test").where(Subscriber.id == subscriber.id).execute()
    page.goto(live_server + "/")
    page.click("#forgot")
    page.fill("#login", agreement.number)
    page.click("#send-code")
    expect(page.locator("#code-sent")).to_be_visible()
    expect(page.locator("#code-by-log")).to_have_count(0)  # the notifications deliver it
    message = OutboxMessage.get((OutboxMessage.subscriber_id == subscriber.id)
                                & (OutboxMessage.address == "nina@example.test"))
    code = re.search(r"\b(\d{6})\b", message.body).group(1)
    page.fill("#code", "000000" if code != "000000" else "111111")
    page.fill("#password", "Fresh-cab-9")
    page.fill("#repeat", "Fresh-cab-9")
    page.click("main button[type=submit]")
    expect(page.locator(".errors")).to_contain_text("Осталось попыток: 4")
    page.fill("#code", code)
    page.fill("#password", "Fresh-cab-9")
    page.fill("#repeat", "Fresh-cab-9")
    page.click("main button[type=submit]")
    expect(page.locator(".flash.success")).to_contain_text("Войдите с новым паролем")
    _log_in(page, live_server, agreement.number, "Fresh-cab-9")
    expect(page.locator("#subscriber-name")).to_have_text("Забывчивая Нина")

"""The main admin flows in a real browser: first login and
password change; an individual and a legal subscriber with agreement and
account; a payment and its cancellation; block and unblock; a manager
limited to one group does not see another group's subscriber."""

from __future__ import annotations

import re
from decimal import Decimal

from playwright.sync_api import expect

from lanbill.models import Account, Agreement, Payment, Subscriber
from tests.admin_helpers import PASSWORD, make_group, make_manager
from tests.e2e.conftest import log_in
from tests.factories import make_account, make_agent, make_agreement, make_subscriber, make_tariff


def test_first_login_asks_for_a_password(app, live_server, page, shot, one_time_password):
    page.goto(live_server + "/admin/")
    assert "/login" in page.url
    shot(page, "01-login")
    page.fill("#login", "admin")
    page.fill("#password", one_time_password)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/password"))
    shot(page, "02-first-password")
    page.fill("#password", "short")
    page.fill("#confirm", "short")
    page.click("main button[type=submit]")
    expect(page.locator(".error").first).to_be_visible()
    page.fill("#password", "New-secret-77")
    page.fill("#confirm", "New-secret-77")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/"))
    page.click("header .logout button")
    page.wait_for_url(re.compile(r"/login"))
    log_in(page, live_server, "admin", "New-secret-77")
    assert "/admin/" in page.url and "/password" not in page.url
    shot(page, "03-dashboard")


def _create_subscriber(page, base, *, legal: bool, name: str):
    page.goto(base + "/admin/subscribers/new")
    if legal:
        page.check("input[name=kind][value=legal]")
        assert page.locator("fieldset[data-kind=individual]").is_hidden()
        page.fill("#inn_legal", "4027000001")
        page.fill("#kpp", "402701001")
        page.fill("#director", "Петров П. П.")
    else:
        page.fill("#passport_series", "2900")
        page.fill("#passport_number", "123456")
    page.fill("#name", name)
    page.fill("#phone", "+74842000000")
    page.click("button[name=action][value=save]")
    page.wait_for_load_state()
    if page.locator("#similar").count():
        page.click("button[name=action][value=save]")
    page.wait_for_url(re.compile(r"/admin/subscribers/\d+$"))


def _agreement_and_account(page, login: str, ip: str):
    page.click("text=Создать договор")
    page.fill("#credit_limit", "100,00")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/subscribers/\d+"))
    page.click("#create-account")
    page.select_option("#agent_id", index=1)  # nothing is chosen for staff
    page.select_option("#tariff_id", index=1)
    page.fill("#login", "плохой логин")
    page.click("#account-form button[type=submit]")
    assert page.locator(".field.invalid #login").count() == 1
    page.fill("#login", login)
    page.fill("#password", "pw-123456")
    page.fill("#ips", ip)
    page.click("#account-form button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/accounts/\d+$"))


def test_create_individual_and_legal_subscribers_with_agreement_and_account(app, admin, live_server, page, shot):
    make_agent(name="radius-1")
    make_tariff(name="Домашний 100")
    log_in(page, live_server)
    _create_subscriber(page, live_server, legal=False, name="Кузнецов Андрей Викторович")
    shot(page, "04-subscriber-individual")
    _agreement_and_account(page, "kuznetsov", "10.50.0.7")
    shot(page, "05-account")
    _create_subscriber(page, live_server, legal=True, name="ООО «Вектор»")
    shot(page, "06-subscriber-legal")
    _agreement_and_account(page, "vector-office", "10.50.0.8")
    individual = Subscriber.get(Subscriber.name == "Кузнецов Андрей Викторович")
    legal = Subscriber.get(Subscriber.name == "ООО «Вектор»")
    assert individual.passport_number == "123456" and individual.director == ""
    assert legal.kind == "legal" and legal.kpp == "402701001" and legal.passport_number == ""
    assert Agreement.get(Agreement.subscriber == legal.id).credit_limit == Decimal("100.00")
    assert {a.login for a in Account.select()} == {"kuznetsov", "vector-office"}
    page.goto(live_server + "/admin/subscribers")
    shot(page, "07-subscribers-list")
    page.goto(live_server + "/admin/accounts")
    shot(page, "08-accounts-list")


def test_take_a_payment_and_cancel_it(app, admin, live_server, page, shot):
    subscriber = make_subscriber(name="Смирнова Ольга", phone="+79107770011")
    agreement = make_agreement(subscriber, number="2026-000777")
    log_in(page, live_server)
    page.goto(live_server + "/admin/payments")
    page.select_option("#by", "agreement")
    page.fill("#q", "000777")
    page.click("#find button[type=submit]")
    page.click("#found a")
    page.click("#agreements a")
    assert page.input_value("#current-balance") == "0,00"
    page.fill("#amount", "650,50")
    page.click("#payment-form button[type=submit]")
    assert page.locator(".field.invalid #document_number").count() == 1
    page.fill("#amount", "650,50")
    page.fill("#document_number", "ПКО-15")
    page.click("#payment-form button[type=submit]")
    page.wait_for_load_state()
    assert page.input_value("#current-balance") == "650,50"
    assert "ПКО-15" in page.inner_text("#ref-agreement")
    shot(page, "09-payments")
    page.fill("input[name=x-reason]", "Ошибочный платеж")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(".cancel-form button")
    page.wait_for_load_state()
    assert page.input_value("#current-balance") == "0,00"
    assert Payment.get().cancel_reason == "Ошибочный платеж"
    assert Agreement.get_by_id(agreement.id).balance == Decimal("0.00")
    shot(page, "10-payment-cancelled")


def test_block_and_unblock_an_account(app, admin, live_server, page, phone, shot):
    account = make_account(login="blocked-one")
    log_in(page, live_server)
    page.goto(f"{live_server}/admin/accounts/{account.id}")
    page.fill("#b-reason", "Заявка абонента на паузу")
    # the block asks first and says what will happen; declining changes nothing
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click("#block")
    assert asked and "Интернет" in asked[0]
    assert Account.get_by_id(account.id).state == "active"
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#block")
    page.wait_for_load_state()
    assert Account.get_by_id(account.id).state == "admin"
    assert "Заявка абонента на паузу" in page.inner_text("#state-history")
    shot(page, "11-account-blocked")
    page.click("#unblock")
    page.wait_for_load_state()
    assert Account.get_by_id(account.id).state == "active"
    log_in(phone, live_server)
    phone.goto(f"{live_server}/admin/accounts/{account.id}")
    assert phone.locator("details.menu-toggle").is_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, width  # no sideways scrolling on a phone
    shot(phone, "12-phone-account")
    phone.goto(f"{live_server}/admin/subscribers")
    shot(phone, "13-phone-subscribers")


def test_limited_manager_cannot_see_another_groups_subscriber(app, live_server, page, shot):
    mine, theirs = make_group("Район А"), make_group("Район Б")
    make_subscriber(name="Абонент Района А", groups=[mine])
    hidden = make_subscriber(name="Абонент Района Б", groups=[theirs])
    make_manager("operator-a", groups=[mine])
    log_in(page, live_server, "operator-a", PASSWORD)
    page.goto(live_server + "/admin/subscribers?q=Абонент")
    text = page.inner_text("main")
    assert "Абонент Района А" in text and "Абонент Района Б" not in text
    response = page.goto(f"{live_server}/admin/subscribers/{hidden.id}")
    assert response.status == 404
    shot(page, "14-limited-manager")


def test_agreement_number_promise_and_account_service(app, admin, live_server, page, shot):
    """The agreement page's forms (number edited in place, a promised
    payment within the group's rules) and a catalogue service attached on
    the account page, in a real browser with CSRF on."""
    from lanbill.billing.services import create_service
    from lanbill.models import AccountService, Group, PromisedPayment, SubscriberGroup
    from tests.factories import ACTOR

    group = Group.create(name="Обещанные", promise_allowed=True, promise_max_amount=Decimal("500"),
                         promise_days=3, promise_interval_days=30)
    subscriber = make_subscriber(name="Обещалкин Пётр")
    SubscriberGroup.create(subscriber=subscriber.id, group=group.id)
    agreement = make_agreement(subscriber, number="E-1")
    account = make_account(agreement, login="svc-user", agent=make_agent(), tariff=make_tariff())
    router = create_service({"name": "Аренда роутера", "kind": "periodic", "scheme": "daily", "price": "150.00"},
                   actor=ACTOR)
    log_in(page, live_server)
    page.goto(f"{live_server}/admin/agreements/{agreement.id}")
    page.fill("#n-number", "E-2026/77")
    page.click("#number button[type=submit]")
    page.wait_for_load_state()
    assert Agreement.get_by_id(agreement.id).number == "E-2026/77"
    page.fill("#p-amount", "900")
    page.click("#promise button[type=submit]")
    page.wait_for_load_state()
    expect(page.locator("#promise .error").first).to_be_visible()
    assert PromisedPayment.select().count() == 0
    page.fill("#p-amount", "300,00")
    page.click("#promise button[type=submit]")
    page.wait_for_load_state()
    assert Agreement.get_by_id(agreement.id).promised_amount == Decimal("300.00")
    assert "Действует" in page.inner_text("#promise")
    shot(page, "15-agreement-promise")
    page.goto(f"{live_server}/admin/accounts/{account.id}#services")
    page.click("#services summary")
    page.select_option("#svc-service_id", value=str(router.id))
    page.click("#attach-service button[type=submit]")
    page.wait_for_load_state()
    attached = AccountService.get(AccountService.account == account.id)
    assert attached.end_date is None
    assert "Аренда роутера" in page.inner_text("#account-services")
    shot(page, "16-account-service")

"""More staff screens in a real browser, at a desktop and a 390×844 phone:
the subscriber's cabinet opened read-only from the card; the automatic
payment document number switched on in the operator's page and given to
a cash payment; the printable agreement from the agreement page; the
traffic chart with its axes; the online-sessions table scrolling inside
its own box on a phone with "Отключить" reachable."""

from __future__ import annotations

import datetime as dt
import io
import re

from playwright.sync_api import expect
from pypdf import PdfReader

from lanbill.billing.payments import post_payment
from lanbill.clock import now_utc
from lanbill.models import Payment, TrafficHourly
from lanbill.models.radius import RadiusSession
from tests.e2e.conftest import log_in
from tests.factories import make_account, make_agreement, make_subscriber


def test_cabinet_read_only_from_the_card(app, admin, live_server, page, shot):
    account = make_account(login="viewme")
    post_payment(account.agreement_id, "777,00", "ПКО-5", actor="system")
    log_in(page, live_server)
    page.goto(f"{live_server}/admin/subscribers/{account.subscriber_id}")
    page.click("#quick-cabinet")
    page.wait_for_url(re.compile(r"/cabinet$"))
    expect(page.locator("#read-only-banner")).to_contain_text("Просмотр кабинета абонента (только чтение)")
    expect(page.locator(f"#balance-{account.agreement_id}")).to_contain_text("777,00")
    assert page.locator("form[method=post]").count() == 0
    assert page.locator(f"#account-{account.id} button:not([disabled])").count() == 0
    shot(page, "cabinet-view-home")
    page.click("nav.cab-nav >> text=Платежи")
    expect(page.locator("#payments")).to_contain_text("ПКО-5")
    shot(page, "cabinet-view-payments")
    page.click("#back-to-card")
    page.wait_for_url(re.compile(rf"/admin/subscribers/{account.subscriber_id}$"))


def test_cabinet_read_only_on_a_phone(app, admin, live_server, phone, shot):
    account = make_account(login="viewphone")
    log_in(phone, live_server)
    phone.goto(f"{live_server}/admin/subscribers/{account.subscriber_id}/cabinet")
    expect(phone.locator("#read-only-banner")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "phone-cabinet-view")


def test_automatic_payment_number_and_receipt(app, admin, live_server, page, shot):
    agreement = make_agreement(make_subscriber(name="Нумеров Павел"))
    log_in(page, live_server)
    page.goto(f"{live_server}/admin/operators/{agreement.operator_id}")
    page.check("#numbering-is_enabled")
    page.fill("#numbering-prefix", "КВ-")
    page.fill("#numbering-next_number", "101")
    shot(page, "operator-payment-numbering")
    page.click("#payment-numbering button[type=submit]")
    expect(page.locator(".flash.success")).to_contain_text("Нумерация платёжных документов сохранена")
    page.goto(f"{live_server}/admin/payments?agreement={agreement.id}")
    number = page.locator("#document_number")
    expect(number).to_have_value("КВ-101")
    assert number.get_attribute("readonly") is not None
    page.fill("#amount", "500")
    shot(page, "payment-auto-number")
    page.click("#payment-form button[type=submit]")
    expect(page.locator(".flash.success").last).to_contain_text("КВ-101")
    assert Payment.get().document_number == "КВ-101"
    expect(page.locator("#document_number")).to_have_value("КВ-102")
    receipt = page.request.get(f"{live_server}/admin/payments/{Payment.get().id}/receipt.pdf")
    assert "КВ-101" in " ".join(p.extract_text() for p in PdfReader(io.BytesIO(receipt.body())).pages)


def test_printable_agreement_from_the_agreement_page(app, admin, live_server, page, shot):
    account = make_account(login="printme")
    log_in(page, live_server)
    page.goto(f"{live_server}/admin/agreements/{account.agreement_id}")
    link = page.locator("#print-agreement")
    expect(link).to_contain_text("Печать договора")
    shot(page, "agreement-page")
    pdf = page.request.get(live_server + link.get_attribute("href"))
    assert pdf.headers["content-type"] == "application/pdf"
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body())).pages).split())
    assert "ДОГОВОР №" in text and "printme" in text
    page.goto(f"{live_server}/admin/agreement-text")
    shot(page, "agreement-text")


def test_traffic_chart_has_axes(app, admin, live_server, page, phone, shot):
    account = make_account(login="chart")
    today = dt.date.today()
    for n in range(7):
        day = today - dt.timedelta(days=n)
        TrafficHourly.create(account_id=account.id, category_id=None, hour=dt.datetime.combine(day, dt.time(10)),
                             bytes_in=(n + 1) * 300 * 1_048_576, bytes_out=50 * 1_048_576)
    first = (today - dt.timedelta(days=6)).isoformat()
    for browser_page, name in ((page, "traffic-chart"), (phone, "phone-traffic-chart")):
        log_in(browser_page, live_server)
        browser_page.goto(f"{live_server}/admin/accounts/{account.id}/traffic?from={first}&to={today.isoformat()}")
        chart = browser_page.locator("#traffic-chart")
        expect(chart.locator("text.unit")).to_have_text("ГБ")
        assert chart.locator("text.day").count() == 7
        assert chart.locator("text.tick").count() >= 3
        shot(browser_page, name)


def test_sessions_table_scrolls_in_its_box_on_a_phone(app, admin, live_server, phone, shot):
    account = make_account(login="online-with-a-rather-long-login")
    started = now_utc() - dt.timedelta(minutes=42)
    RadiusSession.create(agent_id=account.agent_id, nas_id=0, account_id=account.id, login=account.login,
                         acct_session_id="sess-0001-very-long-session-identifier", framed_ip="10.20.30.40",
                         started_at=started, updated_at=started, state_changed_at=started)
    log_in(phone, live_server)
    phone.goto(f"{live_server}/admin/radius/sessions")
    # the page itself does not scroll sideways; the table's box does
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    box = phone.locator(".table-wrap").first
    assert box.evaluate("e => e.scrollWidth > e.clientWidth")  # ten columns: wider than the phone
    assert box.evaluate("e => getComputedStyle(e).overflowX") == "auto"
    button = phone.locator("#sessions button.danger").first
    rect = button.bounding_box()  # pinned at the box's right edge: in view with the table not scrolled
    assert rect is not None and 0 <= rect["x"] and rect["x"] + rect["width"] <= 390
    shot(phone, "phone-sessions")
    asked = []
    phone.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    button.click()
    assert asked and "Отключить" in asked[0]  # a confirmation first; dismissed, nothing is sent
    assert RadiusSession.select().count() == 1


def test_no_main_page_scrolls_sideways_on_a_phone(app, admin, live_server, phone, shot):
    """Every page of the main menu fits the phone's width: wide tables turn
    into cards or scroll inside their own box."""
    account = make_account(login="wide-walk")
    post_payment(account.agreement_id, "100", "ПКО-9", actor="system")
    log_in(phone, live_server)
    phone.goto(live_server + "/admin/")
    links = phone.eval_on_selector_all("details.menu-toggle a[href^='/admin']",
                                       "els => els.map(e => e.getAttribute('href'))")
    pages = list(dict.fromkeys([*links, f"/admin/subscribers/{account.subscriber_id}",
                                f"/admin/agreements/{account.agreement_id}", f"/admin/accounts/{account.id}",
                                f"/admin/payments?agreement={account.agreement_id}"]))
    assert len(pages) > 10
    too_wide = {}
    for url in pages:
        phone.goto(live_server + url)
        width = phone.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            too_wide[url] = width
    assert too_wide == {}

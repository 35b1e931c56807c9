"""The main admin pages speak the staff's language, and only it: in English
no Russian word slips through (an untranslated string, a Russian seeded
name, a hard-coded label); in Russian no number is written with a decimal
point (money, traffic and rates use the decimal comma)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from lanbill.actor import staff_actor
from lanbill.billing.payments import post_payment
from lanbill.models import Currency, Group, Manager, Operator
from tests.admin_helpers import PASSWORD
from tests.factories import make_account, make_agreement, make_subscriber, make_tariff

SHOWN_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt", "data-confirm")


class VisibleText(HTMLParser):
    """The text a person reads on a page: text outside scripts and styles,
    and the attributes a browser shows (titles, placeholders, …)."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._hidden += 1
        for name, value in attrs:
            if name in SHOWN_ATTRIBUTES and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.parts.append(data.strip())


def visible(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    return parser.parts


def _pages(client) -> dict[str, str]:
    subscriber = make_subscriber(name="Ivan Petrov", phone="+7 900 000-00-00")
    agreement = make_agreement(subscriber)
    account = make_account(agreement, login="ivan", tariff=make_tariff(name="Home 100", rent="700.50"))
    admin = Manager.get(Manager.login == "admin")
    post_payment(agreement, "1234.5", "R-1", actor=staff_actor(admin))
    urls = ["/admin/", "/admin/subscribers", f"/admin/subscribers/{subscriber.id}",
            f"/admin/agreements/{agreement.id}", f"/admin/accounts/{account.id}",
            f"/admin/payments?agreement={agreement.id}", "/admin/payments/journal", "/admin/accounts",
            "/admin/tariffs", "/admin/agents", "/admin/nas", "/admin/radius/sessions", "/admin/audit",
            "/admin/staff", "/admin/operators", "/admin/groups", "/admin/currencies", "/admin/helpdesk",
            f"/admin/operators/{agreement.operator_id}", f"/admin/accounts/{account.id}/traffic",
            f"/admin/subscribers/{subscriber.id}/cabinet", f"/admin/subscribers/{subscriber.id}/cabinet/payments",
            f"/admin/subscribers/{subscriber.id}/cabinet/traffic"]
    pages = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        pages[url] = response.get_data(as_text=True)
    return pages


def _log_in(client, language: str) -> None:
    Manager.update(language=language).where(Manager.login == "admin").execute()
    client.post("/login", data={"login": "admin", "password": PASSWORD})


DECIMAL_POINT = re.compile(r"(?<![\w.])\d+\.\d+(?![\w.])")
# a day as charts label it (09.10, "07.12: 1 234,50 ₽"): day ≤ 31, month ≤ 12
SHORT_DATE = re.compile(r"(?<![\w.])(0[1-9]|[12]\d|3[01])\.(0[1-9]|1[0-2])(?=:|$)")
CYRILLIC = re.compile(r"[А-Яа-яЁё]+")


def test_russian_pages_write_numbers_with_a_decimal_comma(client, admin):
    _log_in(client, "ru")
    found = {}
    for url, page in _pages(client).items():
        bad = [text for text in visible(page) if DECIMAL_POINT.search(SHORT_DATE.sub("", text))]
        if bad:
            found[url] = bad[:5]
    assert not found, found


@pytest.fixture
def english_installation(app):
    """The names `flask init` gives an English installation."""
    Operator.update(name="Default operator").execute()
    Group.update(name="All subscribers", description="Every subscriber; cannot be left.").where(
        Group.is_system == True).execute()  # noqa: E712
    for code, name in (("RUB", "Russian rouble"), ("USD", "US dollar"), ("EUR", "Euro")):
        Currency.update(name=name).where(Currency.code == code).execute()


def test_english_pages_have_no_russian_left(client, admin, english_installation):
    _log_in(client, "en")
    found = {}
    for url, page in _pages(client).items():
        bad = sorted({text for text in visible(page) if CYRILLIC.search(text)})
        if bad:
            found[url] = bad[:8]
    assert not found, found

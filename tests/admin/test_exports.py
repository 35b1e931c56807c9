"""Every CSV download of the admin screens: cells that a spreadsheet
would run as a formula are neutralised with a leading apostrophe, the
file name is sent the RFC 6266 way whatever it holds (a Cyrillic
agreement number), and a huge page number on any paginated list shows an
empty page instead of an error."""

from __future__ import annotations

import csv
import io
from urllib.parse import quote

import pytest

from lanbill.admin.tables import attachment_header, csv_cell
from lanbill.billing.payments import post_payment
from lanbill.models import Account
from tests.factories import ACTOR, make_account, make_agreement, make_subscriber

FORMULAS = ("=HYPERLINK(\"http://evil\")", "+1+2", "-2+3", "@SUM(A1)", "\tTAB", "\rCR")


def _cells(response) -> list[list[str]]:
    text = response.get_data(as_text=True).lstrip("\ufeff")
    return list(csv.reader(io.StringIO(text), delimiter=";"))


@pytest.mark.parametrize("value", FORMULAS)
def test_a_cell_that_starts_like_a_formula_gets_an_apostrophe(value):
    assert csv_cell(value) == "'" + value


def test_plain_numbers_and_text_stay_as_they_are():
    assert csv_cell("-650,50") == "-650,50" and csv_cell("+7") == "+7" and csv_cell("Иванов") == "Иванов"
    assert csv_cell(None) == "" and csv_cell(12) == "12"


def test_the_file_name_header_is_ascii_and_keeps_the_exact_name():
    header = attachment_header('ledger-Кир-1 "x"/..\\a.csv')
    header.encode("latin-1")  # a header value must be Latin-1
    assert header.startswith('attachment; filename="ledger-')
    assert "filename*=UTF-8''" + quote('ledger-Кир-1 _x__.._a.csv', safe="") in header
    assert '"x"' not in header and "/" not in header.split("filename*=")[1]


def test_exports_neutralise_formulas_and_name_cyrillic_files(client, admin, login_as):
    subscriber = make_subscriber(name='=HYPERLINK("http://evil","x")', email="a@example.ru")
    agreement = make_agreement(subscriber, number="Кир-1")
    account = make_account(agreement, login="kir1")
    post_payment(agreement, "100.00", "=cmd|' /C calc'!A0", actor=ACTOR, comment="@SUM(1)")
    login_as()

    subscribers = client.get("/admin/subscribers?format=csv")
    assert subscribers.status_code == 200
    names = [row[i] for row in _cells(subscribers)[1:] for i in range(len(row))]
    assert "'=HYPERLINK(\"http://evil\",\"x\")" in names and '=HYPERLINK("http://evil","x")' not in names

    ledger = client.get(f"/admin/agreements/{agreement.id}?format=csv")
    assert ledger.status_code == 200
    assert "filename*=UTF-8''ledger-%D0%9A%D0%B8%D1%80-1.csv" in ledger.headers["Content-Disposition"]
    body = ledger.get_data(as_text=True)
    assert not any(cell.startswith(("=", "@")) for row in _cells(ledger) for cell in row), body

    accounts = client.get("/admin/accounts?format=csv")
    assert accounts.status_code == 200 and "kir1" in accounts.get_data(as_text=True)

    audit = client.get("/admin/audit?format=csv")
    assert audit.status_code == 200
    assert not any(cell.startswith(("=", "+", "@")) for row in _cells(audit) for cell in row)

    traffic = client.get(f"/admin/accounts/{account.id}/traffic?format=csv")
    assert traffic.status_code == 200
    assert "filename*=UTF-8''traffic-kir1-" in traffic.headers["Content-Disposition"]
    assert Account.get_by_id(account.id).login == "kir1"


LISTS = ("/admin/subscribers", "/admin/accounts", "/admin/audit", "/admin/groups", "/admin/tariffs",
         "/admin/agents", "/admin/nas", "/admin/operators", "/admin/currencies", "/admin/services",
         "/admin/staff", "/admin/roles", "/admin/payments", "/admin/radius/sessions")


@pytest.mark.parametrize("page", ["99999999999999999999", "9" * 5000, "-5", "abc", "1e9"])
def test_huge_or_bad_page_numbers_show_a_page_not_an_error(client, admin, login_as, page):
    agreement = make_agreement(number="P-1")
    make_account(agreement, login="pager")
    login_as()
    urls = [*LISTS, f"/admin/agreements/{agreement.id}"]
    for url in urls:
        response = client.get(f"{url}?page={page}")
        assert response.status_code == 200, (url, response.status_code)


def test_amounts_carry_a_decimal_comma_in_russian_and_a_point_in_english():
    from decimal import Decimal

    assert csv_cell(Decimal("-650.50"), decimal_comma=True) == "-650,50"
    assert csv_cell(Decimal("-650.50")) == "-650.50"
    assert csv_cell("1.5.2026", decimal_comma=True) == "1.5.2026"  # only numbers change

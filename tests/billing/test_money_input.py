"""Amounts as people and programs type them (DESIGN §4): ASCII digits with
a comma or a point are money; digit strings of absurd length, exponents
and digits of other scripts (full-width, Arabic-Indic) are refused with a
message by parse_money — the one parser behind the admin forms and the
API alike — and never reach Decimal arithmetic as a 500."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lanbill.models import Payment
from lanbill.money import MoneyError, parse_money
from tests.admin_helpers import ru
from tests.factories import make_agreement, table_counts

ABSURD = ["1" + "0" * 400, "-1" + "0" * 400, "1" + "0" * 40 + ",00", "1e999999", "1E5", "Infinity", "NaN",
          "0x10", "0." + "0" * 400 + "1"]
FOREIGN_DIGITS = ["１０", "١٠", "۱۰", "१०", "10\uff10", "1٠,50"]


@pytest.mark.parametrize("text", ABSURD + FOREIGN_DIGITS)
def test_absurd_and_foreign_digit_amounts_are_refused_with_a_message(text):
    with pytest.raises(MoneyError) as info:
        parse_money(text)
    assert info.value.message


@pytest.mark.parametrize("value", [10**400, -(10**30), Decimal("1E+400"), Decimal("NaN"), Decimal("Infinity")])
def test_huge_or_non_finite_numbers_are_refused(value):
    with pytest.raises(MoneyError):
        parse_money(value)


def test_foreign_digits_are_told_to_use_0_to_9():
    with pytest.raises(MoneyError) as info:
        parse_money("١٠")
    assert info.value.message == "Write the amount with the digits 0-9, for example 650,50."


def test_a_long_run_of_digits_is_too_large():
    with pytest.raises(MoneyError) as info:
        parse_money("1" + "0" * 400)
    assert info.value.message == "Amount is too large."


@pytest.mark.parametrize("text, expected", [
    ("650,50", "650.50"), ("650.50", "650.50"), ("1 234,50", "1234.50"), ("0010", "10.00"),
    ("1000000000", "1000000000.00"), ("-5", "-5.00"),
])
def test_ascii_digits_with_a_comma_or_a_point_are_money(text, expected):
    assert parse_money(text) == Decimal(expected)


def test_a_decimal_in_exponent_form_from_arithmetic_is_money():
    assert parse_money(Decimal("1E+3")) == Decimal("1000.00")


@pytest.mark.parametrize("amount", ["1" + "0" * 400, "1e999999", "１０", "١٠"])
def test_the_api_answers_422_with_a_message(api, amount):
    agreement = make_agreement()
    before = table_counts()
    response = api.post("/payments", json={"agreement_id": agreement.id, "amount": amount, "document_number": "A"})
    assert response.status_code == 422 and response.json["fields"]["amount"]
    assert table_counts() == before


@pytest.mark.parametrize("amount, message", [
    ("1" + "0" * 400, "Amount is too large."),
    ("1e999999", "Amount must be a number, for example 650,50."),
    ("１０", "Write the amount with the digits 0-9, for example 650,50."),
    ("١٠", "Write the amount with the digits 0-9, for example 650,50."),
])
def test_the_admin_payment_form_shows_the_message_and_books_nothing(client, admin, login_as, amount, message):
    agreement = make_agreement()
    login_as()
    page = client.get(f"/admin/payments?agreement={agreement.id}").get_data(as_text=True)
    assert 'name="amount"' in page and f'action="/admin/payments/{agreement.id}"' in page
    before = table_counts()
    response = client.post(f"/admin/payments/{agreement.id}",
                           data={"amount": amount, "document_number": "ПКО-1", "method": "cash"})
    assert response.status_code == 422
    assert ru(message) in response.get_data(as_text=True)
    assert table_counts() == before and Payment.select().count() == 0


@pytest.mark.parametrize("target", ["1" + "0" * 400, "１０"])
def test_the_admin_set_balance_field_refuses_them_too(client, admin, login_as, target):
    agreement = make_agreement()
    login_as()
    response = client.post(f"/admin/payments/{agreement.id}",
                           data={"target_balance": target, "document_number": "ПКО-1", "method": "cash"})
    assert response.status_code == 422
    assert Payment.select().count() == 0

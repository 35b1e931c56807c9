"""API input at the edges: bodies nested beyond reading, text fields longer
than any comment or name, bodies not declared JSON, amounts that are no
amounts — each answered with a message (400, 415 or 422), none a 500, and
nothing written."""

from __future__ import annotations

import pytest

from lanbill.api.common import TEXT_MAX_LENGTH
from tests.factories import make_agreement, table_counts


def pay(api, agreement, **over):
    data = {"agreement_id": agreement.id, "amount": "10.00", "document_number": "ПП-1"}
    data.update(over)
    return api.post("/payments", json=data)


def test_a_body_nested_a_hundred_thousand_deep_is_400_with_a_message(api):
    before = table_counts()
    response = api.post("/payments", data="[" * 100_000, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json["error"] == "The JSON body is nested too deeply."
    deep_object = '{"a":' * 100_000 + "1" + "}" * 100_000
    response = api.post("/tariffs", data=deep_object, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json["error"]
    assert table_counts() == before


def test_a_twenty_megabyte_comment_is_422_and_books_nothing(api):
    agreement = make_agreement()
    before = table_counts()
    response = pay(api, agreement, comment="x" * 20_000_000)
    assert response.status_code == 422
    assert response.json["fields"]["comment"] == "Too long: at most 1000 characters."
    assert table_counts() == before
    assert pay(api, agreement, comment="x" * 1000).status_code == 201


@pytest.mark.parametrize("url, body, field", [
    ("/tariffs", {"name": "Тариф", "description": "x" * (TEXT_MAX_LENGTH + 1)}, "description"),
    ("/tariffs", {"name": "x" * 10_000}, "name"),
    ("/subscribers", {"name": "x" * 1_000_000, "kind": "individual"}, "name"),
])
def test_every_text_field_has_a_length_limit(api, url, body, field):
    before = table_counts()
    response = api.post(url, json=body)
    assert response.status_code == 422, response.json
    assert response.json["fields"][field].startswith("Too long: at most ")
    assert table_counts() == before


def test_long_text_is_refused_in_russian_with_the_limit(api):
    agreement = make_agreement()
    response = api.post("/payments", json={"agreement_id": agreement.id, "amount": "1", "document_number": "A",
                                           "comment": "x" * 5000}, language="ru")
    assert response.status_code == 422 and "1000" in response.json["fields"]["comment"]
    assert "Too long" not in response.json["fields"]["comment"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_payment_body_not_declared_json_is_415(api, content_type):
    agreement = make_agreement()
    body = f'{{"agreement_id": {agreement.id}, "amount": "10", "document_number": "A"}}'
    headers = {"Content-Type": content_type} if content_type else {}
    before = table_counts()
    response = api.post("/payments", data=body, headers=headers)
    assert response.status_code == 415
    assert response.json["error"] == ("Send the request body as JSON, with the header "
                                      "Content-Type: application/json.")
    assert table_counts() == before


@pytest.mark.parametrize("amount", [
    "1" + "0" * 400,
    1 * 10**400,
    "1e999999",
    "1E+999999",
    "-1" + "0" * 400,
    "0." + "0" * 400 + "1",
    "１０",  # full-width digits
    "١٠",  # Arabic-Indic digits
    "۱۰",  # Persian digits
    "10\u0660",
])
def test_absurd_or_foreign_digit_amounts_are_422_with_a_message(api, amount):
    agreement = make_agreement()
    before = table_counts()
    response = pay(api, agreement, amount=amount)
    assert response.status_code == 422, response.json
    assert response.json["fields"]["amount"]
    assert table_counts() == before


def test_a_json_number_too_big_for_a_float_is_refused(api):
    agreement = make_agreement()
    body = f'{{"agreement_id": {agreement.id}, "amount": 1e999999, "document_number": "A"}}'
    before = table_counts()
    response = api.post("/payments", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code in (400, 422) and response.json["error"]
    assert table_counts() == before


def test_ascii_amounts_with_a_comma_or_a_point_are_still_booked(api):
    agreement = make_agreement()
    assert pay(api, agreement, amount="650,50").json["amount"] == "650.50"
    assert pay(api, agreement, amount="1 000.25").json["amount"] == "1000.25"
    assert pay(api, agreement, amount=1000000000).json["amount"] == "1000000000.00"

"""Sberbank Online check/payment at /pay/<code> (DOMAIN-RULES §3.2): the
documented requests and answers, every code we answer, the duplicate
answered with code 8 and the original payment."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lanbill.billing.ledger import post_entry
from lanbill.models import Agreement, Operator, Payment
from lanbill.paysys import systems
from lanbill.paysys.sberbank import mask_name
from tests.factories import ACTOR, make_account, make_agreement, make_subscriber, make_tariff, table_counts
from tests.pay.helpers import basic, make_system, xml_fields

URL = "/pay/sber"


@pytest.fixture
def system(app):
    return make_system("sberbank_online", code="sber", min_amount="1", max_amount="50000")


def call(client, **query):
    return client.get(URL, query_string=query, headers=basic())


def payment(client, account, amount="600.00", pay_id="90001", date="05.01.2026_14:30:00"):
    return call(client, ACTION="payment", ACCOUNT=account, AMOUNT=amount, PAY_ID=pay_id, PAY_DATE=date)


def test_check_answers_masked_name_balance_and_recommended_sum(client, system):
    subscriber = make_subscriber(name="Петров Пётр Сергеевич")
    agreement = make_agreement(subscriber)
    make_account(agreement, tariff=make_tariff(rent="700.00"))
    post_entry(agreement.id, Decimal("100.00"), "correction", actor=ACTOR)
    before = table_counts()
    fields = xml_fields(call(client, ACTION="check", ACCOUNT=agreement.number))
    assert fields == {"CODE": "0", "MESSAGE": "Успешно", "FIO": "П*** П. С.", "BALANCE": "100.00",
                      "REC_SUM": "600.00"}
    assert "Петров" not in str(fields)
    assert table_counts() == before


def test_payment_books_and_a_duplicate_answers_8_with_the_original(client, system):
    agreement = make_agreement()
    first = xml_fields(payment(client, agreement.number))
    booked = Payment.get(Payment.external_id == "90001")
    assert first == {"CODE": "0", "MESSAGE": "Успешно", "EXT_ID": str(booked.id), "REG_DATE": "05.01.2026_14:30:00",
                     "AMOUNT": "600.00"}
    assert booked.gateway == "sberbank_online" and booked.payment_system_id == system.id
    again = xml_fields(payment(client, agreement.number, date="06.01.2026_10:00:00"))
    assert again["CODE"] == "8"
    assert (again["EXT_ID"], again["AMOUNT"], again["REG_DATE"]) == (str(booked.id), "600.00", "05.01.2026_14:30:00")
    assert Payment.select().count() == 1
    assert Agreement.get_by_id(agreement.id).balance == Decimal("600.00")


def test_same_pay_id_with_another_amount_is_refused_with_9(client, system):
    agreement = make_agreement()
    payment(client, agreement.number)
    assert xml_fields(payment(client, agreement.number, amount="601.00"))["CODE"] == "9"
    assert Payment.select().count() == 1


@pytest.mark.parametrize("query, code", [
    ({"ACTION": "refund"}, "2"),
    ({"ACTION": ""}, "2"),
    ({"ACCOUNT": "00000000"}, "3"),
    ({"ACCOUNT": "12;34"}, "4"),
    ({"PAY_ID": "abc"}, "6"),
    ({"PAY_ID": ""}, "6"),
    ({"AMOUNT": "12,50"}, "9"),
    ({"AMOUNT": "0"}, "9"),
    ({"AMOUNT": "0.50"}, "10"),
    ({"AMOUNT": "50000.01"}, "11"),
    ({"PAY_DATE": "2026-01-05 14:30"}, "12"),
    ({"PAY_DATE": "32.01.2026_14:30:00"}, "12"),
])
def test_every_refusal_code_changes_nothing(client, system, query, code):
    agreement = make_agreement()
    params = {"ACTION": "payment", "ACCOUNT": agreement.number, "AMOUNT": "600.00", "PAY_ID": "9",
              "PAY_DATE": "05.01.2026_14:30:00"}
    params.update(query)
    before = table_counts()
    assert xml_fields(call(client, **params))["CODE"] == code
    assert table_counts() == before


def test_closed_agreement_answers_5(client, system):
    agreement = make_agreement()
    Agreement.update(closed_at=Agreement.created_at).where(Agreement.id == agreement.id).execute()
    assert xml_fields(call(client, ACTION="check", ACCOUNT=agreement.number))["CODE"] == "5"


def test_switched_off_system_answers_7_and_ambiguous_number_300(client, system):
    second = Operator.create(name="Филиал")
    make_agreement(number="7007")
    make_agreement(number="7007", operator=second)
    assert xml_fields(call(client, ACTION="check", ACCOUNT="7007"))["CODE"] == "300"
    systems.update_system(system.id, {"enabled": False}, actor=ACTOR)
    assert xml_fields(call(client, ACTION="check", ACCOUNT="7007"))["CODE"] == "7"


def test_wrong_credentials_answer_7_with_401(client, system):
    agreement = make_agreement()
    response = client.get(URL, query_string={"ACTION": "check", "ACCOUNT": agreement.number},
                          headers=basic(password="nope"))
    assert response.status_code == 401
    assert xml_fields(response)["CODE"] == "7"
    response = client.get(URL, query_string={"ACTION": "check", "ACCOUNT": agreement.number},
                          headers=basic(), environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert response.status_code == 403
    assert xml_fields(response)["CODE"] == "7"


def test_post_form_fields_work_like_query_fields(client, system):
    agreement = make_agreement()
    response = client.post(URL, data={"ACTION": "check", "ACCOUNT": agreement.number}, headers=basic())
    assert xml_fields(response)["CODE"] == "0"


def test_mask_name_keeps_initials_only():
    assert mask_name("Иванов Иван Петрович") == "И*** И. П."
    assert mask_name("ООО Ромашка") == "О*** Р."
    assert mask_name("") == ""

"""The small rules documents rest on (DOMAIN-RULES §5, §3.7): amounts in
words from a Decimal (an int is refused: num2words reads it as kopecks),
VAT "in including" with half-up rounding, the GOST R 56042 payload."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lanbill.documents.qr import payment_payload, qr_data_uri
from lanbill.documents.vat import vat_included
from lanbill.documents.words import amount_in_words
from tests.documents.helpers import REQUISITES


@pytest.mark.parametrize(("amount", "words"), [
    ("600.00", "Шестьсот рублей 00 копеек"),
    ("1234.56", "Одна тысяча двести тридцать четыре рубля 56 копеек"),
    ("21.01", "Двадцать один рубль 01 копейка"),
    ("0.02", "Ноль рублей 02 копейки"),
    ("1000000", "Один миллион рублей 00 копеек"),
])
def test_amount_in_words(amount, words):
    assert amount_in_words(Decimal(amount)) == words


def test_an_int_or_float_is_refused_not_read_as_kopecks():
    with pytest.raises(TypeError):
        amount_in_words(600)
    with pytest.raises(TypeError):
        amount_in_words(600.0)


@pytest.mark.parametrize(("amount", "percent", "vat"), [
    ("600.00", 20, "100.00"), ("600.00", 22, "108.20"), ("0.05", 20, "0.01"), ("100.00", 10, "9.09"),
    ("650.00", 0, "0.00"),
])
def test_vat_included(amount, percent, vat):
    assert vat_included(Decimal(amount), percent) == Decimal(vat)


def test_gost_payload_has_the_mandatory_keys_and_sum_in_kopecks():
    seller = {**REQUISITES, "name": 'ООО "Сеть|Плюс"'}
    payload = payment_payload(seller, Decimal("600.50"), "Оплата по договору № 7", "7", "")
    assert payload.startswith('ST00012|Name=ООО "Сеть Плюс"|PersonalAcc=40702810900000012345|BankName=ПАО "Банк"|'
                              "BIC=044525225|CorrespAcc=30101810400000000225|PayeeINN=7701234567|KPP=770101001|")
    assert "|Sum=60050|Purpose=Оплата по договору № 7|PersAcc=7" in payload
    assert qr_data_uri(payload).startswith("data:image/png;base64,")

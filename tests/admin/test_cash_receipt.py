"""A cash payment's receipt (квитанция к приходному кассовому ордеру) as a
PDF: read back, it names the operator, the payer, the agreement, the amount
in figures and in words, the document number and the cashier; a manager
outside the subscriber's groups gets nothing."""

from __future__ import annotations

import io

from pypdf import PdfReader

from lanbill.actor import staff_actor
from lanbill.billing.payments import post_payment
from lanbill.models import Manager, Operator, SubscriberGroup
from tests.admin_helpers import PASSWORD, make_group, make_manager
from tests.factories import make_agreement, make_subscriber


def _text(pdf: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_cash_receipt_pdf_reads_back(client, admin, login_as):
    Operator.update(name="ООО «Калуга-Нет»", inn="4027000001").execute()
    Manager.update(name="Кассирова Анна").where(Manager.id == admin.id).execute()
    agreement = make_agreement(make_subscriber(name="Платёжкин Иван"))
    payment, _ = post_payment(agreement, "1234,50", "ПКО-77", actor=staff_actor(Manager.get_by_id(admin.id)))
    login_as()
    page = client.get(f"/admin/payments?agreement={agreement.id}").get_data(as_text=True)
    assert f'href="/admin/payments/{payment.id}/receipt.pdf"' in page  # the history links to it
    response = client.get(f"/admin/payments/{payment.id}/receipt.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = " ".join(_text(response.data).split())
    for expected in ("ООО «Калуга-Нет»", "4027000001", "Платёжкин Иван", agreement.number, "ПКО-77",
                     "1 234,50", "Одна тысяча двести тридцать четыре рубля 50 копеек", "Кассирова Анна"):
        assert expected in text, expected


def test_cash_receipt_is_out_of_reach_for_another_group(client, admin, login_as):
    north = make_group("Север")
    agreement = make_agreement(make_subscriber(name="Чужой"))
    payment, _ = post_payment(agreement, "10", "ПКО-1", actor="system")
    make_manager("north", groups=[north])
    login_as("north", PASSWORD)
    assert client.get(f"/admin/payments/{payment.id}/receipt.pdf").status_code in (403, 404)
    assert not SubscriberGroup.select().where(SubscriberGroup.group == north.id).exists()

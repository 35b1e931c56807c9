"""1CClientBankExchange statements (DOMAIN-RULES §7): reading the file in
windows-1251 and UTF-8, incoming payment orders only, the agreement found
in НазначениеПлатежа or by the payer's ИНН, and the control total
ВсегоПоступило."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lanbill.actor import Actor
from lanbill.errors import ValidationError
from lanbill.models import Agreement
from lanbill.models.registries import RegistryRow
from lanbill.paysys import registry_booking as booking
from lanbill.paysys.bank_statement_1c import parse_statement, purpose_candidates, statement_rows
from lanbill.paysys.registry import RegistryFileError
from tests.factories import make_agreement, make_subscriber
from tests.paysys.helpers import make_registry_system, sample

STAFF = Actor("manager:test", is_staff=True)
LAYOUT_1C = {"format": "1c"}


@pytest.mark.parametrize("name", ["statement_1c_cp1251.txt", "statement_1c_utf8.txt"])
def test_statement_is_read_in_either_encoding(name):
    statement = parse_statement(sample(name))
    assert statement.header["ВерсияФормата"] == "1.03"
    assert statement.accounts[0]["ВсегоПоступило"] == "16280.50"
    assert [d.kind for d in statement.documents] == ["Платежное поручение"] * 4
    first = statement.documents[0]
    assert first.get("Номер") == "417" and first.get("ПлательщикИНН") == "4028011111"
    assert first.get("НазначениеПлатежа").startswith("Оплата по договору № R-2001")


def test_only_incoming_documents_become_rows_with_the_control_total():
    parsed = statement_rows(sample("statement_1c_cp1251.txt"))
    assert [(r.document, r.amount, r.payer_inn) for r in parsed.rows] == [
        ("417", Decimal("12000.00"), "4028011111"), ("88", Decimal("3500.50"), "402700123456"),
        ("1290", Decimal("780.00"), "7700000000")]
    assert parsed.rows[0].transaction_id == "23.11.2026/417/40702810100000000417"
    assert str(parsed.rows[0].paid_on) == "2026-11-23"
    assert parsed.control_amount == Decimal("16280.50")


def test_a_file_that_is_not_a_statement_is_refused():
    with pytest.raises(RegistryFileError):
        parse_statement("СекцияДокумент=Платежное поручение\n".encode("cp1251"))


def test_a_document_without_its_end_is_refused():
    content = "1CClientBankExchange\nСекцияДокумент=Платежное поручение\nНомер=1\n".encode("cp1251")
    with pytest.raises(RegistryFileError):
        parse_statement(content)


def test_agreement_number_candidates_in_the_purpose():
    strong, other = purpose_candidates("Оплата по договору № R-2001 от 01.02.2026 за услуги связи")
    assert strong == ["R-2001"]
    assert purpose_candidates("Оплата интернет л/с 000777")[0] == ["000777"]
    assert purpose_candidates("Оплата по дог.2026/15")[0] == ["2026/15"]


def test_dry_run_matches_by_number_in_the_purpose_then_by_the_payers_inn(app):
    by_number = make_agreement(make_subscriber(kind="legal", name='ООО "Ромашка"', inn="4028011111"), number="R-2001")
    by_inn = make_agreement(make_subscriber(kind="legal", name="ИП Сидоров", inn="402700123456"), number="R-2002")
    system = make_registry_system(code="sber1c", layout=LAYOUT_1C)
    registry = booking.import_file(system, "kl_to_1c.txt", sample("statement_1c_cp1251.txt"), actor=STAFF,
                                   post=False)
    rows = list(RegistryRow.select().where(RegistryRow.registry == registry.id).order_by(RegistryRow.line))
    assert [(r.status, r.agreement_id) for r in rows] == [
        ("matched", by_number.id), ("matched", by_inn.id), ("unmatched", None)]
    assert rows[2].reason == "No agreement number or subscriber ИНН found in the payment."
    assert booking.control_problem(registry) is None
    registry = booking.post_import(registry.id, actor=STAFF)
    assert Agreement.get_by_id(by_number.id).balance == Decimal("12000.00")
    assert Agreement.get_by_id(by_inn.id).balance == Decimal("3500.50")
    assert registry.booked_count == 2


def test_an_inn_with_several_agreements_is_left_for_a_person(app):
    subscriber = make_subscriber(kind="legal", name="ИП Сидоров", inn="402700123456")
    make_agreement(subscriber, number="R-3001")
    make_agreement(subscriber, number="R-3002")
    registry = booking.import_file(make_registry_system(layout=LAYOUT_1C), "st.txt",
                                   sample("statement_1c_utf8.txt"), actor=STAFF, post=False)
    row = RegistryRow.get((RegistryRow.registry == registry.id) & (RegistryRow.document_number == "88"))
    assert row.status == "unmatched" and row.reason_detail == "402700123456"
    assert "several agreements" in row.reason


def test_wrong_total_of_incoming_payments_refuses_posting(app):
    make_agreement(make_subscriber(kind="legal", name="Ромашка", inn="4028011111"), number="R-2001")
    registry = booking.import_file(make_registry_system(layout=LAYOUT_1C), "st.txt",
                                   sample("statement_1c_wrong_total.txt"), actor=STAFF, post=False)
    with pytest.raises(ValidationError) as refused:
        booking.post_import(registry.id, actor=STAFF)
    assert "16000.00" in str(refused.value) and "16280.50" in str(refused.value)

"""Invoices, prepayment invoices, acts, VAT invoices, УПД and
reconciliation statements rendered to PDF and read back (DESIGN §12,
DOMAIN-RULES §5): numbers, totals, amount in words, VAT line, requisites."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from lanbill.documents.issue import cancel_document, correct_document, issue_document, pdf_file
from lanbill.errors import ValidationError
from lanbill.models import Document
from tests.billing_helpers import local
from tests.documents.helpers import agreement_with, charge, pay, pdf_text, set_requisites
from tests.factories import ACTOR


@pytest.fixture
def nov30():
    with time_machine.travel(local("2026-11-30 12:00"), tick=False):
        yield


def issue(app, agreement, kind, **kw):
    document, created = issue_document(agreement, kind, actor=ACTOR, instance_path=app.instance_path, **kw)
    return document


def test_invoice_for_an_amount_prints_requisites_total_words_and_no_vat_basis(app, nov30):
    set_requisites(vat_payer=False)
    agreement = agreement_with()
    document = issue(app, agreement, "invoice", amount="600.00")
    text = pdf_text(pdf_file(document, app.instance_path))
    assert document.number == "СЧ-2026-1" and document.amount == Decimal("600.00")
    assert "Счет на оплату № СЧ-2026-1 от 30 ноября 2026 г." in text
    assert "Шестьсот рублей 00 копеек" in text
    assert "Без НДС (на основании п. 2 ст. 346.11 НК РФ)" in text
    for requisite in ("7701234567", "770101001", "044525225", "30101810400000000225", "40702810900000012345",
                      'ПАО "Банк"', "Петров П. П.", "Сидорова С. С.", "Генеральный директор"):
        assert requisite in text, requisite
    assert "600,00" in text
    assert f"по договору № {agreement.number}" in text
    assert document.data["qr"].startswith("ST00012|Name=ООО \"Сеть\"|PersonalAcc=40702810900000012345|")
    assert "|Sum=60000|" in document.data["qr"] and f"|PersAcc={agreement.number}" in document.data["qr"]


def test_vat_payer_invoice_has_vat_included_at_22_percent(app, nov30):
    set_requisites(vat_payer=True, vat_percent=22)
    document = issue(app, agreement_with(), "invoice", amount="600.00")
    text = pdf_text(pdf_file(document, app.instance_path))
    assert document.vat_amount == Decimal("108.20")
    assert "В том числе НДС 22 %: 108,20" in text


def test_prepayment_invoice_is_titled_and_numbered_in_the_invoice_series(app, nov30):
    set_requisites()
    agreement = agreement_with()
    first = issue(app, agreement, "invoice", amount="100.00")
    second = issue(app, agreement, "prepayment_invoice", amount="1234.56")
    text = pdf_text(pdf_file(second, app.instance_path))
    assert (first.seq, second.seq) == (1, 2)
    assert "Счет на предоплату № СЧ-2026-2" in text
    assert "Одна тысяча двести тридцать четыре рубля 56 копеек" in text
    assert "Предоплата за услуги связи" in text


def test_act_has_one_line_per_service_kind_and_equals_the_months_charges(app, nov30):
    set_requisites()
    agreement = agreement_with()
    charge(agreement, "650.00", day=dt.date(2026, 11, 1))
    charge(agreement, "-120.00", kind="rent_correction", day=dt.date(2026, 11, 20))  # a refund
    charge(agreement, "33.33", kind="volume", day=dt.date(2026, 11, 12))
    charge(agreement, "99.00", kind="rent", day=dt.date(2026, 10, 31))  # another month
    pay(agreement, "1000.00")
    document = issue(app, agreement, "act", period="2026-11")
    assert document.amount == Decimal("563.33")
    assert [line["amount"] for line in document.lines] == ["530.00", "33.33"]
    text = pdf_text(pdf_file(document, app.instance_path))
    assert "Акт оказанных услуг № АКТ-2026-1" in text
    assert "Пятьсот шестьдесят три рубля 33 копейки" in text
    assert "Услуги доступа в Интернет за 11.2026" in text
    assert "563,33" in text


def test_act_for_a_month_is_issued_once_until_cancelled_and_correction_renumbers(app, nov30):
    set_requisites()
    agreement = agreement_with()
    charge(agreement, "650.00")
    first = issue(app, agreement, "act", period="2026-11")
    again, created = issue_document(agreement, "act", actor=ACTOR, instance_path=app.instance_path, period="2026-11")
    assert not created and again.id == first.id
    charge(agreement, "50.00", kind="one_off", day=dt.date(2026, 11, 15))
    new = correct_document(first, "Разовая услуга не вошла", actor=ACTOR, instance_path=app.instance_path)
    old = Document.get_by_id(first.id)
    assert old.state == "cancelled" and old.replaced_by_id == new.id and old.number == "АКТ-2026-1"
    assert new.number == "АКТ-2026-2" and new.amount == Decimal("700.00") and new.replaces_id == old.id
    assert pdf_file(old, app.instance_path).exists()
    with pytest.raises(ValidationError):
        cancel_document(new, "", actor=ACTOR)


def test_an_act_without_charges_is_refused(app, nov30):
    set_requisites()
    with pytest.raises(ValidationError):
        issue(app, agreement_with(), "act", period="2026-11")
    assert Document.select().count() == 0


def test_vat_invoice_only_for_vat_payers_and_upd_status(app, nov30):
    set_requisites(vat_payer=False)
    agreement = agreement_with(kind="legal")
    charge(agreement, "600.00")
    with pytest.raises(ValidationError):
        issue(app, agreement, "vat_invoice", period="2026-11")
    upd2 = issue(app, agreement, "upd", period="2026-11")
    assert upd2.data["upd_status"] == 2
    assert "Статус: 2" in pdf_text(pdf_file(upd2, app.instance_path))
    set_requisites(vat_payer=True, vat_percent=22)
    other = agreement_with(kind="legal")
    charge(other, "600.00")
    invoice = issue(app, other, "vat_invoice", period="2026-11")
    text = pdf_text(pdf_file(invoice, app.instance_path))
    assert "Счет-фактура № СФ-2026-1" in text and "108,20" in text and "491,80" in text
    assert 'ООО "Ромашка"' in text and "7705555555/770501001" in text
    upd1 = issue(app, other, "upd", period="2026-11")
    assert upd1.data["upd_status"] == 1


def test_reconciliation_statement_lists_every_entry_and_balances(app):
    set_requisites()
    agreement = agreement_with()
    with time_machine.travel(local("2026-10-15 12:00"), tick=False):
        pay(agreement, "100.00", "A-1")
    with time_machine.travel(local("2026-11-02 12:00"), tick=False):
        charge(agreement, "650.00")
        pay(agreement, "500.00", "П-77")
    with time_machine.travel(local("2026-12-01 12:00"), tick=False):
        document = issue(app, agreement, "reconciliation", period="2026-11-01..2026-11-30")
    assert document.data["opening"] == "100.00" and document.data["closing"] == "-50.00"
    text = pdf_text(pdf_file(document, app.instance_path))
    assert "Акт сверки взаимных расчетов № АС-2026-1" in text
    assert "Оплата, документ № П-77" in text
    assert "задолженность в пользу ООО \"Сеть\" составляет 50,00" in text


def test_instance_template_overrides_the_products(app, nov30):
    from pathlib import Path

    set_requisites()
    folder = Path(app.instance_path) / "templates" / "documents"
    folder.mkdir(parents=True)
    (folder / "invoice.html").write_text('{% extends "_base.html" %}{% block content %}'
                                         "<h1>Свой счет {{ doc.number }}</h1>{% endblock %}", encoding="utf-8")
    document = issue(app, agreement_with(), "invoice", amount="10.00")
    assert "Свой счет СЧ-2026-1" in pdf_text(pdf_file(document, app.instance_path))

"""The printable agreement: a PDF read back names the operator with its
requisites, the subscriber with the passport (for staff who may see
personal data; a blank line for the rest), the address, the agreement's
number and date and the tariffs of its accounts; staff edit the text in
Jinja's sandbox (an error or a forbidden attribute is refused and nothing
changes); the print is audited without the passport; a manager outside the
subscriber's groups gets nothing."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader

from lanbill.documents import agreement_pdf
from lanbill.models import Address, AuditLog, Operator, Setting, Subscriber
from tests.admin_helpers import PASSWORD, make_group, make_manager, ru
from tests.factories import make_account, make_agreement, make_subscriber, make_tariff
from tests.rendered_forms import form_values


def _text(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


@pytest.fixture
def agreement(app):
    Operator.update(name="ООО «Калуга-Нет»", inn="4027000001", kpp="402701001", director="Петров П. П.",
                    settlement_account="40702810000000000001", bik="042908612").execute()
    subscriber = make_subscriber(name="Договоров Сидор Петрович", passport_series="4510",
                                 passport_number="123456", passport_issued_by="ОВД Ленинского района",
                                 passport_issued_on="2010-02-01", passport_division_code="400-001")
    address = Address.create(text="г. Калуга, ул. Ленина, д. 1, кв. 2")
    Subscriber.update(main_address=address).where(Subscriber.id == subscriber.id).execute()
    agreement = make_agreement(subscriber, number="Д-2026-15", date=dt.date(2026, 12, 1))
    make_account(agreement, login="dogovorov", tariff=make_tariff(name="Быстрый 100", rent="650.00"))
    return agreement


def test_agreement_pdf_reads_back(client, admin, login_as, agreement):
    login_as()
    page = client.get(f"/admin/agreements/{agreement.id}").get_data(as_text=True)
    assert f'href="/admin/agreements/{agreement.id}/agreement.pdf"' in page
    assert ru("Print the agreement (PDF)") in page
    response = client.get(f"/admin/agreements/{agreement.id}/agreement.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = _text(response.data)
    for expected in ("ДОГОВОР № Д-2026-15", "1 декабря 2026 г.", "ООО «Калуга-Нет»", "4027000001",
                     "40702810000000000001", "Договоров Сидор Петрович", "4510 123456", "ОВД Ленинского района",
                     "01.02.2010", "400-001", "г. Калуга, ул. Ленина, д. 1, кв. 2", "Быстрый 100 (650,00 ₽ в месяц)",
                     "dogovorov"):
        assert expected in text, expected
    row = AuditLog.select().where(AuditLog.action == "agreement.print").get()
    assert row.after == {"with_passport": True} and "123456" not in str(row.before) + str(row.after)


def test_without_personal_data_permission_the_passport_is_a_blank_line(client, admin, login_as, agreement):
    make_manager("desk", permissions=["subscribers.view"])
    login_as("desk", PASSWORD)
    text = _text(client.get(f"/admin/agreements/{agreement.id}/agreement.pdf").data)
    assert "Договоров Сидор Петрович" in text and "Д-2026-15" in text
    assert "123456" not in text and "ОВД Ленинского района" not in text and "____" in text


def test_another_groups_agreement_is_out_of_reach(client, admin, login_as, agreement):
    north = make_group("Север")
    make_manager("north", groups=[north])
    login_as("north", PASSWORD)
    assert client.get(f"/admin/agreements/{agreement.id}/agreement.pdf").status_code == 404
    assert not AuditLog.select().where(AuditLog.action == "agreement.print").exists()


def test_staff_edit_the_text_and_the_pdf_follows(client, admin, login_as, agreement):
    login_as()
    page = client.get("/admin/agreement-text").get_data(as_text=True)
    assert "{{ tariffs }}" in page and ru("The default text is in use.") in page
    fields = form_values(page, "text")
    assert "ДОГОВОР № {{ number }}" in fields["text"]
    fields["text"] = "СОГЛАШЕНИЕ № {{ number }}\n\nАбонент {{ name }} выбрал тариф {{ tariffs }}."
    assert client.post("/admin/agreement-text", data=fields).status_code == 302
    text = _text(client.get(f"/admin/agreements/{agreement.id}/agreement.pdf").data)
    assert "СОГЛАШЕНИЕ № Д-2026-15" in text
    assert "Абонент Договоров Сидор Петрович выбрал тариф Быстрый 100" in text
    # back to the default
    fields = form_values(client.get("/admin/agreement-text").get_data(as_text=True), "text")
    fields["action"] = "default"
    assert client.post("/admin/agreement-text", data=fields).status_code == 302
    assert agreement_pdf.agreement_text() == agreement_pdf.DEFAULT_TEXT


@pytest.mark.parametrize("bad", ["{{ unknown_value }}", "{{ name.__class__.__mro__ }}", "{% if %}"])
def test_a_broken_or_unsafe_text_is_refused(client, admin, login_as, agreement, bad):
    login_as()
    fields = form_values(client.get("/admin/agreement-text").get_data(as_text=True), "text")
    fields["text"] = "ДОГОВОР\n\n" + bad
    response = client.post("/admin/agreement-text", data=fields)
    assert response.status_code == 422
    assert "В шаблоне ошибка" in response.get_data(as_text=True)
    assert not Setting.select().where(Setting.key == agreement_pdf.SETTING_KEY).exists()


def test_the_text_screen_needs_the_settings_permission(client, admin, login_as, agreement):
    make_manager("desk", permissions=["subscribers.view"])
    login_as("desk", PASSWORD)
    assert client.get("/admin/agreement-text").status_code == 403


def test_a_legal_entity_prints_its_inn_not_a_passport(client, admin, login_as, app):
    subscriber = make_subscriber(kind="legal", name="ООО «Клиент»", inn="4027000002", kpp="402701001")
    agreement = make_agreement(subscriber, number="Ю-1")
    login_as()
    text = _text(client.get(f"/admin/agreements/{agreement.id}/agreement.pdf").data)
    assert "ООО «Клиент»" in text and "ИНН 4027000002, КПП 402701001" in text and "Паспорт" not in text

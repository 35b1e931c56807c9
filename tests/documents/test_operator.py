"""The operator's document requisites edited on its admin screen (the
rendered form) end up on documents: the VAT flag, the legal basis of
«Без НДС», the positions of the signing persons, the number prefix."""

from __future__ import annotations

from decimal import Decimal

from lanbill.documents.issue import issue_document, pdf_file
from lanbill.models import Operator
from tests.cabinet.helpers import forms_of
from tests.documents.helpers import agreement_with, pdf_text, set_requisites
from tests.factories import ACTOR


def test_staff_set_vat_and_signatures_on_the_operator_form(app, client, admin, login_as):
    operator = set_requisites(vat_payer=False, vat_percent=22)
    login_as()
    url = f"/admin/operators/{operator.id}"
    page = client.get(url).get_data(as_text=True)
    form = next(f for f in forms_of(page) if "is_vat_payer" in f["names"])
    data = dict(form["fields"], is_vat_payer="y", director_position="Директор", document_prefix="МСК/")
    response = client.post(url, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    operator = Operator.get_by_id(operator.id)
    assert operator.is_vat_payer and operator.director_position == "Директор"
    document, _ = issue_document(agreement_with(), "invoice", actor=ACTOR, instance_path=app.instance_path,
                                 amount="600.00")
    assert document.number.startswith("МСК/СЧ-") and document.vat_amount == Decimal("108.20")
    text = pdf_text(pdf_file(document, app.instance_path))
    assert "Директор" in text and "В том числе НДС 22 %: 108,20" in text


def test_a_logo_outside_the_instance_folder_is_refused(app, client, admin, login_as):
    operator = set_requisites()
    login_as()
    url = f"/admin/operators/{operator.id}"
    form = next(f for f in forms_of(client.get(url).get_data(as_text=True)) if "logo_path" in f["names"])
    response = client.post(url, data=dict(form["fields"], logo_path="../../etc/passwd"))
    assert response.status_code == 422
    assert Operator.get_by_id(operator.id).logo_path == ""

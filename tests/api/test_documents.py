"""API documents (DESIGN §12): issue with `kind` and `period`/`amount`,
read as JSON, download the PDF, once per period for acts, refusals as
JSON with the field named, group scope."""

from __future__ import annotations

import datetime as dt

from lanbill.models import Document
from lanbill.staff.tokens import create_token
from tests.admin_helpers import make_group, make_manager
from tests.conftest import ApiClient
from tests.documents.helpers import agreement_with, charge, pdf_bytes_text, set_requisites
from tests.factories import make_agreement, make_subscriber, table_counts


def test_issue_an_act_read_it_and_download_its_pdf(app, api, tmp_path):
    set_requisites(vat_payer=True, vat_percent=22)
    agreement = agreement_with()
    charge(agreement, "600.00", day=dt.date(2026, 10, 3))
    response = api.post(f"/agreements/{agreement.id}/documents", json={"kind": "act", "period": "2026-10"})
    assert response.status_code == 201, response.json
    body = response.json
    assert body["number"] == "АКТ-2026-1" and body["amount"] == "600.00" and body["vat_amount"] == "108.20"
    assert body["period_start"] == "2026-10-01" and body["period_end"] == "2026-10-31"
    assert body["date"] == "2026-10-31" and body["state"] == "issued"
    again = api.post(f"/agreements/{agreement.id}/documents", json={"kind": "act", "period": "2026-10"})
    assert again.status_code == 200 and again.json["id"] == body["id"]
    assert api.get(f"/documents/{body['id']}").json == body
    pdf = api.get(f"/documents/{body['id']}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = pdf_bytes_text(pdf.data, tmp_path)
    assert "АКТ-2026-1" in text and "Шестьсот рублей 00 копеек" in text and "НДС 22 %: 108,20" in text
    listing = api.get(f"/agreements/{agreement.id}/documents").json
    assert listing["total"] == 1 and listing["items"][0]["id"] == body["id"]


def test_invoice_for_an_amount_and_refusals_write_nothing(app, api):
    set_requisites()
    agreement = agreement_with()
    before = table_counts()
    for payload, field in (({"kind": "invoice", "amount": 600.5}, "amount"),
                           ({"kind": "invoice", "amount": "-5"}, "amount"),
                           ({"kind": "bill"}, "kind"),
                           ({"kind": "act", "period": "2026-13"}, "period"),
                           ({"kind": "act", "period": "2026-10"}, "period"),
                           ({"kind": "reconciliation", "period": "2026-10-31..2026-10-01"}, "period"),
                           ({"kind": "act", "color": "red"}, "color")):
        response = api.post(f"/agreements/{agreement.id}/documents", json=payload)
        assert response.status_code == 422, (payload, response.json)
        assert field in response.json["fields"], (payload, response.json)
    assert table_counts() == before
    created = api.post(f"/agreements/{agreement.id}/documents", json={"kind": "invoice", "amount": "600,00"})
    assert created.status_code == 201, created.json
    assert created.json["number"] == f"СЧ-{created.json['date'][:4]}-1" and created.json["amount"] == "600.00"


def test_cancel_and_correct_through_the_api(app, api):
    set_requisites()
    agreement = agreement_with()
    first = api.post(f"/agreements/{agreement.id}/documents", json={"kind": "invoice", "amount": "100.00"}).json
    assert api.post(f"/documents/{first['id']}/cancel", json={"reason": ""}).status_code == 422
    corrected = api.post(f"/documents/{first['id']}/cancel", json={"reason": "Сумма", "correct": True})
    assert corrected.status_code == 201 and corrected.json["replaces_id"] == first["id"]
    old = api.get(f"/documents/{first['id']}").json
    assert old["state"] == "cancelled" and old["replaced_by_id"] == corrected.json["id"]
    assert api.post(f"/documents/{first['id']}/cancel", json={"reason": "again"}).status_code == 409


def test_a_token_of_another_group_sees_no_document(app, client, admin):
    set_requisites()
    mine, theirs = make_group("Мои"), make_group("Чужие")
    other = make_agreement(make_subscriber(groups=[theirs]))
    token = create_token(admin, name="full")
    full = ApiClient(client, token)
    document = full.post(f"/agreements/{other.id}/documents", json={"kind": "invoice", "amount": "10.00"}).json
    limited = ApiClient(client, create_token(make_manager("limited", groups=[mine]), name="limited"))
    assert limited.get(f"/documents/{document['id']}").status_code == 404
    assert limited.get(f"/documents/{document['id']}.pdf").status_code == 404
    assert limited.post(f"/agreements/{other.id}/documents", json={"kind": "invoice", "amount": "1"}).status_code == 404
    assert limited.post(f"/documents/{document['id']}/cancel", json={"reason": "x"}).status_code == 404
    assert Document.get_by_id(document["id"]).state == "issued"

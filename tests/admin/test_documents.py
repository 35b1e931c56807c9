"""Documents on the agreement's admin page and the runs screen (DESIGN §12):
issue from the rendered form, list, download the PDF, cancel and correct;
the month's documents as one PDF or ZIP; group scope on every route."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import time_machine
from pypdf import PdfReader

from lanbill.models import Document, DocumentRun
from tests.admin_helpers import PASSWORD, make_group, make_manager
from tests.billing_helpers import local
from tests.cabinet.helpers import forms_of
from tests.documents.helpers import agreement_with, charge, pdf_bytes_text, set_requisites
from tests.factories import make_agreement, make_subscriber


def _issue_form(html: str) -> dict:
    return next(f for f in forms_of(html) if f["action"].endswith("/documents") and "doc-kind" in f["names"])


def test_staff_issue_an_invoice_from_the_rendered_form_and_download_it(app, client, admin, login_as, tmp_path):
    set_requisites()
    agreement = agreement_with()
    with time_machine.travel(local("2026-11-20 12:00"), tick=False):
        login_as()
        page = client.get(f"/admin/agreements/{agreement.id}").get_data(as_text=True)
        form = _issue_form(page)
        data = dict(form["fields"], **{"doc-kind": "invoice", "doc-amount": "600,00", "doc-month": ""})
        response = client.post(form["action"], data=data)
    assert response.status_code == 302
    document = Document.get()
    assert document.kind == "invoice" and document.number == "СЧ-2026-1"
    login_as()
    page = client.get(f"/admin/agreements/{agreement.id}").get_data(as_text=True)
    assert "СЧ-2026-1" in page and f"/admin/documents/{document.id}.pdf" in page
    pdf = client.get(f"/admin/documents/{document.id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = pdf_bytes_text(pdf.data, tmp_path)
    assert "Шестьсот рублей 00 копеек" in text and "СЧ-2026-1" in text


def test_a_refused_issue_shows_the_reason_and_changes_nothing(app, client, admin, login_as):
    set_requisites()
    agreement = agreement_with()
    login_as()
    response = client.post(f"/admin/agreements/{agreement.id}/documents",
                           data={"doc-kind": "act", "doc-month": "2026-11"})
    assert response.status_code == 422
    assert "Нечего" in response.get_data(as_text=True) or "начислений" in response.get_data(as_text=True)
    assert Document.select().count() == 0


def test_cancel_with_correction_keeps_the_old_document_marked(app, client, admin, login_as):
    set_requisites()
    agreement = agreement_with()
    charge(agreement, "650.00", day=dt.date(2026, 10, 1))
    login_as()
    client.post(f"/admin/agreements/{agreement.id}/documents", data={"doc-kind": "act", "doc-month": "2026-10"})
    act = Document.get()
    response = client.post(f"/admin/documents/{act.id}/cancel",
                           data={"cancel-reason": "Неверный период", "cancel-correct": "y"})
    assert response.status_code == 302
    old, new = Document.get_by_id(act.id), Document.get(Document.replaces_id == act.id)
    assert old.state == "cancelled" and old.cancel_reason == "Неверный период"
    assert new.number == "АКТ-2026-2" and new.state == "issued"
    page = client.get(f"/admin/agreements/{agreement.id}").get_data(as_text=True)
    assert "Неверный период" in page


def test_another_groups_document_is_not_found_and_not_in_the_batch(app, client, admin, login_as):
    set_requisites()
    mine, theirs = make_group("Мои"), make_group("Чужие")
    own = make_agreement(make_subscriber(groups=[mine], delivery_method="email"))
    other = make_agreement(make_subscriber(groups=[theirs], delivery_method="email"))
    for agreement in (own, other):
        charge(agreement, "100.00", day=dt.date(2026, 10, 5))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["documents", "issue", "--month", "2026-10", "--workers", "1"])
    assert result.exit_code == 0, result.output
    theirs_doc = Document.get(Document.agreement == other.id)
    make_manager("limited", groups=[mine])
    login_as("limited", PASSWORD)
    assert client.get(f"/admin/documents/{theirs_doc.id}.pdf").status_code == 404
    assert client.post(f"/admin/documents/{theirs_doc.id}/cancel", data={"cancel-reason": "x"}).status_code == 404
    archive = client.get("/admin/documents/batch?month=2026-10&format=zip")
    assert archive.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(archive.data)).namelist()
    assert names == [f"АКТ-2026-1 {own.number}.pdf"] or names == [f"АКТ-2026-2 {own.number}.pdf"]
    assert Document.get_by_id(theirs_doc.id).state == "issued"


def test_runs_screen_starts_a_run_shows_progress_and_merges_the_month(app, client, admin, login_as):
    set_requisites()
    agreements = [agreement_with() for _ in range(3)]
    agreement_with(delivery="")  # wants no documents
    for agreement in agreements:
        charge(agreement, "300.00", day=dt.date(2026, 10, 1))
    login_as()
    page = client.get("/admin/documents/runs").get_data(as_text=True)
    assert 'id="run-form"' in page
    form = next(f for f in forms_of(page) if "run-month" in f["names"])
    response = client.post("/admin/documents/runs", data=dict(form["fields"], **{"run-month": "2026-10"}))
    assert response.status_code == 302
    run = DocumentRun.get()
    assert (run.state, run.total, run.done, run.issued) == ("done", 3, 3, 3)
    page = client.get("/admin/documents/runs").get_data(as_text=True)
    assert re.search(r'<progress max="3" value="3">', page)
    merged = client.get("/admin/documents/batch?month=2026-10&format=pdf")
    assert merged.status_code == 200
    reader = PdfReader(io.BytesIO(merged.data))
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)
    for n in (1, 2, 3):
        assert f"АКТ-2026-{n}" in text

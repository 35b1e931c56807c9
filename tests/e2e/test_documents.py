"""Documents in a real browser: staff issue an invoice from the agreement
page, download its PDF and cancel it with a correction."""

from __future__ import annotations

from playwright.sync_api import expect

from lanbill.models import Document
from tests.documents.helpers import agreement_with, pdf_text, set_requisites
from tests.e2e.conftest import log_in


def test_issue_download_and_correct_an_invoice(app, live_server, page, admin, shot, tmp_path):
    set_requisites()
    agreement = agreement_with()
    log_in(page, live_server)
    page.goto(f"{live_server}/admin/agreements/{agreement.id}")
    page.select_option("#doc-kind", "invoice")
    page.fill("#doc-amount", "600,00")
    page.fill("#doc-month", "")
    page.click("#issue-document button[type=submit]")
    page.wait_for_load_state()
    row = page.locator("#documents-table tbody tr").first
    expect(row).to_contain_text("600,00")
    shot(page, "documents-01-issued")
    number = Document.get().number
    with page.expect_download() as download:
        page.click(f"#documents-table a:text('{number}')")
    path = tmp_path / "invoice.pdf"
    download.value.save_as(path)
    text = pdf_text(path)
    assert number in text and "Шестьсот рублей 00 копеек" in text
    page.click("#documents-table details summary")
    page.fill("#documents-table textarea", "Не та сумма")
    page.check("#documents-table input[type=checkbox]")
    page.click("#documents-table details button[type=submit]")
    page.wait_for_load_state()
    expect(page.locator("#documents-table")).to_contain_text("Не та сумма")
    old = Document.get(Document.number == number)
    assert old.state == "cancelled" and old.replaced_by_id is not None
    shot(page, "documents-02-corrected")

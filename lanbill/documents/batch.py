"""A month's documents in one file for printing or the post: one PDF with
every document, or a ZIP of the stored PDFs (DESIGN §12), limited to the
subscribers the acting manager may see (lanbill.staff.access)."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

from pypdf import PdfWriter

from lanbill.documents.content import month_period
from lanbill.documents.issue import store_pdf
from lanbill.models import Agreement, Document
from lanbill.staff import access

BATCH_KINDS = ("act", "vat_invoice", "upd", "invoice")


def month_documents(month: str, *, actor=None, kinds=BATCH_KINDS):
    """The live documents for the month (by their period, or their date for
    documents without one), in number order, that the actor may see."""
    first, last = month_period(month)
    query = (Document.select(Document, Agreement).join(Agreement)
             .where((Document.state == "issued") & Document.kind.in_(kinds)
                    & ((Document.period_start.between(first, last))
                       | (Document.period_start.is_null() & Document.date.between(first, last))))
             .order_by(Document.kind, Document.year, Document.seq))
    manager = access.acting_manager(actor)
    return query if manager is None else access.scope_documents(query, manager)


def month_zip(month: str, *, actor=None, instance_path, kinds=BATCH_KINDS) -> Path:
    """A ZIP file (in a temporary folder: the caller sends and removes it)
    with each document as «<number> <agreement>.pdf»."""
    handle = tempfile.NamedTemporaryFile(prefix="documents-", suffix=".zip", delete=False)  # noqa: SIM115
    handle.close()
    with zipfile.ZipFile(handle.name, "w", zipfile.ZIP_STORED) as archive:  # PDFs are compressed already
        for document in month_documents(month, actor=actor, kinds=kinds).iterator():
            path = store_pdf(document, instance_path)
            archive.write(path, f"{document.number} {document.agreement.number}.pdf".replace("/", "-"))
    return Path(handle.name)


def month_pdf(month: str, *, actor=None, instance_path, kinds=BATCH_KINDS) -> Path:
    """One PDF with every document of the month, each from a new page."""
    handle = tempfile.NamedTemporaryFile(prefix="documents-", suffix=".pdf", delete=False)  # noqa: SIM115
    handle.close()
    writer = PdfWriter()
    for document in month_documents(month, actor=actor, kinds=kinds).iterator():
        writer.append(str(store_pdf(document, instance_path)))
    with open(handle.name, "wb") as out:
        writer.write(out)
    return Path(handle.name)

"""Documents in the cabinet (DESIGN §10): the subscriber's invoices, acts,
VAT invoices and reconciliation statements, each a PDF to download."""

from __future__ import annotations

from flask import current_app, send_file
from flask_babel import lazy_gettext as _l

from lanbill.cabinet import bp
from lanbill.cabinet.common import cabinet_required, me, own_or_404, render_page
from lanbill.documents import issue, listing

KIND_TEXT = {
    "invoice": _l("Invoice"),
    "prepayment_invoice": _l("Prepayment invoice"),
    "act": _l("Act of services"),
    "vat_invoice": _l("VAT invoice"),
    "upd": _l("UPD (universal transfer document)"),
    "reconciliation": _l("Reconciliation statement"),
}


@bp.route("/documents")
@cabinet_required
def documents():
    return render_page("cabinet/documents.html", rows=listing.own_documents(me()), kind_text=KIND_TEXT)


@bp.route("/documents/<int:document_id>.pdf")
@cabinet_required
def document_pdf(document_id):
    document = own_or_404(listing.own_document, document_id)
    path = issue.store_pdf(document, current_app.instance_path)
    return send_file(path, mimetype="application/pdf", as_attachment=True, download_name=f"{document.number}.pdf")

"""API: documents of an agreement (DESIGN §12) — issue one (`kind` with
`period` or `amount`), list them, read one, download its PDF, cancel or
correct it.  Every route is limited to the token's groups
(lanbill.staff.access)."""

from __future__ import annotations

from flask import current_app, g, jsonify, send_file

from lanbill.api import actor, bp, json_body, require
from lanbill.api.agreements import visible_agreement
from lanbill.api.common import ApiError, Field, check_fields, iso_date, iso_datetime, paged
from lanbill.documents import issue
from lanbill.errors import N_, NotFound
from lanbill.models import Document
from lanbill.models.documents import DOCUMENT_KINDS
from lanbill.money import money_str
from lanbill.staff import access

ISSUE_SPEC = {"kind": Field("text", max_length=32), "period": Field("text", nullable=True, max_length=32),
              "amount": Field("money", nullable=True), "template": Field("text", nullable=True, max_length=128)}
CANCEL_SPEC = {"reason": Field("text", max_length=500), "correct": Field("boolean")}


def document_json(d: Document) -> dict:
    return {
        "id": d.id, "agreement_id": d.agreement_id, "kind": d.kind, "number": d.number, "date": iso_date(d.date),
        "period_start": iso_date(d.period_start), "period_end": iso_date(d.period_end),
        "amount": money_str(d.amount), "vat_percent": d.vat_percent, "vat_amount": money_str(d.vat_amount),
        "lines": [{"name": line["name"], "unit": line["unit"], "quantity": line["quantity"],
                   "price": line["price"], "amount": line["amount"], "vat_amount": line["vat_amount"]}
                  for line in (d.lines or [])],
        "state": d.state, "cancelled_at": iso_datetime(d.cancelled_at), "cancel_reason": d.cancel_reason,
        "replaces_id": d.replaces_id, "replaced_by_id": d.replaced_by_id,
        "created_at": iso_datetime(d.created_at), "pdf_url": f"/api/v1/documents/{d.id}.pdf",
    }


def visible_document(document_id) -> Document:
    document = Document.get_or_none(Document.id == document_id)
    if document is None or not access.can_see_document(g.api_manager, document):
        raise NotFound(N_("Document not found."))
    return document


@bp.get("/agreements/<int:agreement_id>/documents")
def list_documents(agreement_id):
    require("subscribers.view")
    agreement = visible_agreement(agreement_id)
    query = Document.select().where(Document.agreement == agreement.id)
    return jsonify(paged(query, document_json, order_by=(Document.date.desc(), Document.id.desc())))


@bp.post("/agreements/<int:agreement_id>/documents")
def create_document(agreement_id):
    """{"kind": "act", "period": "2026-11"} or {"kind": "invoice", "amount": "600.00"}:
    201 with the new document; 200 with the existing one when the period
    already has its act, VAT invoice or УПД."""
    require("payments.create")
    agreement = visible_agreement(agreement_id)
    data = check_fields(json_body(), ISSUE_SPEC, required=("kind",))
    if data["kind"] not in DOCUMENT_KINDS:
        raise ApiError(422, N_("Check the highlighted fields."), {"kind": N_("Unknown kind of document.")})
    document, created = issue.issue_document(
        agreement, data["kind"], actor=actor(), instance_path=current_app.instance_path,
        period=data.get("period") or None, amount=data.get("amount"), template=data.get("template") or None)
    return jsonify(document_json(document)), 201 if created else 200


@bp.get("/documents/<int:document_id>")
def get_document(document_id):
    require("subscribers.view")
    return jsonify(document_json(visible_document(document_id)))


@bp.get("/documents/<int:document_id>.pdf")
def get_document_pdf(document_id):
    require("subscribers.view")
    document = visible_document(document_id)
    path = issue.store_pdf(document, current_app.instance_path)
    return send_file(path, mimetype="application/pdf", as_attachment=True, download_name=f"{document.number}.pdf")


@bp.post("/documents/<int:document_id>/cancel")
def cancel_document(document_id):
    """{"reason": "…", "correct": true}: cancel; with `correct`, a new
    document replaces it (answered instead)."""
    require("payments.cancel")
    document = visible_document(document_id)
    data = check_fields(json_body(), CANCEL_SPEC, required=("reason",))
    if data.get("correct"):
        new = issue.correct_document(document, data["reason"], actor=actor(), instance_path=current_app.instance_path)
        return jsonify(document_json(new)), 201
    return jsonify(document_json(issue.cancel_document(document, data["reason"], actor=actor())))

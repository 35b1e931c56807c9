"""API: services (USBox, DESIGN §3) — the catalogue, attaching a service
to an account, and the CSV import of rendered one-off services."""

from __future__ import annotations

from flask import jsonify

from lanbill.api import actor, bp, json_body, require
from lanbill.api.accounts import visible_account
from lanbill.api.common import FILE_TEXT_MAX_LENGTH, ApiError, Field, check_fields, unknown_reference
from lanbill.billing import services
from lanbill.errors import N_
from lanbill.models import AccountService, Service
from lanbill.money import money_str

SERVICE_CREATE_SPEC = {"name": Field("text"), "kind": Field("text"), "scheme": Field("text"),
                       "price": Field("money"), "currency": Field("text")}
IMPORT_SPEC = {"csv": Field("text", max_length=FILE_TEXT_MAX_LENGTH), "mapping": Field("object"),
               "dry_run": Field("boolean"),
               "service_id": Field("id", nullable=True), "delimiter": Field("text", nullable=True)}
ATTACH_SPEC = {"service_id": Field("id"), "start_date": Field("date", nullable=True),
               "end_date": Field("date", nullable=True), "quantity": Field("integer"),
               "comment": Field("text", nullable=True), "amount": Field("money", nullable=True)}


def service_json(s: Service) -> dict:
    return {"id": s.id, "name": s.name, "kind": s.kind, "scheme": s.scheme, "price": money_str(s.price)}


def account_service_json(s: AccountService) -> dict:
    return {"id": s.id, "account_id": s.account_id, "service_id": s.service_id,
            "start_date": s.start_date.isoformat(), "end_date": s.end_date.isoformat() if s.end_date else None,
            "quantity": s.quantity, "comment": s.comment}


@bp.post("/services")
def create_service():
    """A catalogue entry: {"name", "kind": periodic|one_off, "scheme", "price", "currency"}."""
    require("tariffs.edit")
    data = check_fields(json_body(), SERVICE_CREATE_SPEC, required=("name",))
    service = services.create_service(data, actor=actor())
    return jsonify(service_json(service)), 201


@bp.post("/services/import")
def import_services():
    """Rendered one-off services from CSV text with a column mapping
    ({"login": "Логин", "service": "Услуга", "date": "Дата", ...}); with
    "dry_run": true (the default) nothing is saved and every bad row is
    reported; a real import with any bad row saves nothing (422)."""
    require("payments.create")
    data = check_fields(json_body(), IMPORT_SPEC, required=("csv", "mapping"))
    mapping = data["mapping"]
    if not all(isinstance(v, str) for v in mapping.values()):
        raise ApiError(422, N_("Check the highlighted fields."), {"mapping": N_("Must be text.")})
    report = services.import_one_offs(
        data["csv"], mapping, actor=actor(), dry_run=data.get("dry_run", True),
        delimiter=data.get("delimiter") or None, service=data.get("service_id"),
    )
    out = {"dry_run": report.dry_run, "rows": report.rows, "good": report.good,
           "errors": [{"line": line, "message": message} for line, message in report.errors],
           "created": [account_service_json(a) for a in report.created]}
    return jsonify(out), 200 if report.ok or report.dry_run else 422


@bp.post("/accounts/<int:account_id>/services")
def attach_account_service(account_id):
    """{"service_id": 2, "start_date": "2026-12-01", "end_date": null,
    "quantity": 1}: attach a catalogue service; a one-off one is charged
    at once when its date has come (`amount` overrides price × quantity)."""
    require("subscribers.edit")
    account = visible_account(account_id)
    data = check_fields(json_body(), ATTACH_SPEC, required=("service_id",))
    if Service.get_or_none(Service.id == data["service_id"]) is None:
        raise unknown_reference("service_id", N_("No such service."))
    quantity = data.get("quantity", 1)
    if quantity < 1:
        raise ApiError(422, N_("Check the highlighted fields."), {"quantity": N_("1 or more.")})
    attached = services.attach_service(
        account, data["service_id"], actor=actor(), start_date=data.get("start_date"),
        end_date=data.get("end_date"), quantity=quantity, comment=data.get("comment") or "",
        amount=data.get("amount"),
    )
    return jsonify(account_service_json(attached)), 201

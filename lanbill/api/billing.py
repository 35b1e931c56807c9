"""API: billing actions — tariff changes now or planned (DESIGN §6), the
promised payment (seed 002 «Обещанный платеж»), and services attached to
accounts (USBox)."""

from __future__ import annotations

from flask import jsonify

from lanbill.api import ApiError, actor, bp, json_body, require
from lanbill.api.accounts import visible_account
from lanbill.api.agreements import visible_agreement
from lanbill.api.common import Field, check_fields, iso_datetime, unknown_reference
from lanbill.api.openapi import (
    DATE,
    DATETIME,
    ID,
    INT,
    MONEY,
    MONEY_IN,
    PATHS,
    SCHEMAS,
    TEXT,
    body,
    errors,
    nullable,
    obj,
    ok,
    operation,
    path_id,
    ref,
)
from lanbill.billing import promises, services, tariff_schedule
from lanbill.errors import N_, NotFound
from lanbill.models import AccountService, PromisedPayment, Service, Tariff, TariffChange
from lanbill.money import money_str

CHANGE_SPEC = {"tariff_id": Field("id"), "at": Field("datetime", nullable=True)}
PROMISE_SPEC = {"amount": Field("money")}
SERVICE_SPEC = {"service_id": Field("id"), "start_date": Field("date", nullable=True),
                "end_date": Field("date", nullable=True), "quantity": Field("integer"),
                "comment": Field("text", nullable=True), "amount": Field("money", nullable=True)}


def change_json(c: TariffChange) -> dict:
    return {
        "id": c.id, "account_id": c.account_id, "tariff_id": c.tariff_id, "previous_tariff_id": c.previous_tariff_id,
        "at": iso_datetime(c.at), "applied_at": iso_datetime(c.applied_at),
        "cancelled_at": iso_datetime(c.cancelled_at), "actor": c.actor,
        "state": "cancelled" if c.cancelled_at else ("applied" if c.applied_at else "planned"),
    }


def promise_json(p: PromisedPayment) -> dict:
    return {"id": p.id, "agreement_id": p.agreement_id, "amount": money_str(p.amount),
            "created_at": iso_datetime(p.created_at), "due_at": iso_datetime(p.due_at), "state": p.state}


def account_service_json(s: AccountService) -> dict:
    return {"id": s.id, "account_id": s.account_id, "service_id": s.service_id,
            "start_date": s.start_date.isoformat(), "end_date": s.end_date.isoformat() if s.end_date else None,
            "quantity": s.quantity, "comment": s.comment}


@bp.post("/accounts/<int:account_id>/tariff-changes")
def create_tariff_change(account_id):
    """{"tariff_id": 3, "at": "2026-12-01"}: a date means 00:00 local of it,
    a date-time that moment; no `at` (or a moment already past) is a change
    now.  201 with the change; `state` says planned or applied."""
    require("subscribers.edit")
    account = visible_account(account_id)
    data = check_fields(json_body(), CHANGE_SPEC, required=("tariff_id",))
    if Tariff.get_or_none(Tariff.id == data["tariff_id"]) is None:
        raise unknown_reference("tariff_id", N_("No such tariff."))
    change = tariff_schedule.plan_change(account, data["tariff_id"], data.get("at"), actor=actor())
    return jsonify(change_json(TariffChange.get_by_id(change.id))), 201


@bp.get("/accounts/<int:account_id>/tariff-changes")
def list_tariff_changes(account_id):
    require("subscribers.view")
    account = visible_account(account_id)
    return jsonify({"items": [change_json(c) for c in tariff_schedule.history(account)]})


@bp.delete("/accounts/<int:account_id>/tariff-changes/<int:change_id>")
def cancel_tariff_change(account_id, change_id):
    require("subscribers.edit")
    account = visible_account(account_id)
    change = TariffChange.get_or_none((TariffChange.id == change_id) & (TariffChange.account == account.id))
    if change is None:
        raise NotFound(N_("Tariff change not found."))
    return jsonify(change_json(tariff_schedule.cancel_change(change, actor=actor())))


@bp.post("/agreements/<int:agreement_id>/promised-payment")
def create_promised_payment(agreement_id):
    """{"amount": "300.00"}: a temporary credit within the subscriber's
    group settings; lifts the balance block at once."""
    require("payments.create")
    agreement = visible_agreement(agreement_id)
    data = check_fields(json_body(), PROMISE_SPEC, required=("amount",))
    promise = promises.request_promise(agreement, data["amount"], actor=actor())
    return jsonify(promise_json(promise)), 201


@bp.post("/accounts/<int:account_id>/services")
def attach_account_service(account_id):
    """{"service_id": 2, "start_date": "2026-12-01", "end_date": null,
    "quantity": 1}: attach a catalogue service; a one-off one is charged
    at once when its date has come (`amount` overrides price × quantity)."""
    require("subscribers.edit")
    account = visible_account(account_id)
    data = check_fields(json_body(), SERVICE_SPEC, required=("service_id",))
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


SERVICE_CREATE_SPEC = {"name": Field("text"), "kind": Field("text"), "scheme": Field("text"),
                       "price": Field("money"), "currency": Field("text")}
IMPORT_SPEC = {"csv": Field("text"), "mapping": Field("object"), "dry_run": Field("boolean"),
               "service_id": Field("id", nullable=True), "delimiter": Field("text", nullable=True)}


@bp.post("/services")
def create_service():
    """A catalogue entry: {"name", "kind": periodic|one_off, "scheme", "price", "currency"}."""
    require("tariffs.edit")
    data = check_fields(json_body(), SERVICE_CREATE_SPEC, required=("name",))
    service = services.create_service(data, actor=actor())
    return jsonify({"id": service.id, "name": service.name, "kind": service.kind, "scheme": service.scheme,
                    "price": money_str(service.price)}), 201


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


SCHEMAS.update({
    "ServiceCreate": obj({"name": TEXT, "kind": {"type": "string", "enum": ["periodic", "one_off"]},
                          "scheme": {"type": "string", "enum": ["monthly", "daily", "dynamic"]},
                          "price": MONEY_IN, "currency": TEXT}, required=("name",)),
    "Service": obj({"id": ID, "name": TEXT, "kind": TEXT, "scheme": TEXT, "price": MONEY}),
    "ServiceImport": obj({
        "csv": TEXT, "dry_run": {"type": "boolean", "default": True},
        "mapping": {"type": "object", "additionalProperties": TEXT,
                    "description": "Our field → the file's column: login, account_id or agreement (its "
                                   "number, with one live account), service (or service_id for every row), "
                                   "date, quantity, amount, comment."},
        "service_id": nullable(ID), "delimiter": nullable(TEXT),
    }, required=("csv", "mapping")),
    "ServiceImportReport": obj({
        "dry_run": {"type": "boolean"}, "rows": INT, "good": INT,
        "errors": {"type": "array", "items": obj({"line": INT, "message": TEXT})},
        "created": {"type": "array", "items": ref("AccountService")},
    }),

    "TariffChange": obj({
        "id": ID, "account_id": ID, "tariff_id": ID, "previous_tariff_id": nullable(ID), "at": DATETIME,
        "applied_at": nullable(DATETIME), "cancelled_at": nullable(DATETIME), "actor": TEXT,
        "state": {"type": "string", "enum": ["planned", "applied", "cancelled"]},
    }),
    "TariffChangeList": obj({"items": {"type": "array", "items": ref("TariffChange")}}, required=("items",)),
    "TariffChangeCreate": obj({
        "tariff_id": ID,
        "at": nullable({"type": "string", "description": "A date (00:00 local of it) or a date-time; "
                                                         "omitted or past: now."}),
    }, required=("tariff_id",)),
    "PromisedPayment": obj({"id": ID, "agreement_id": ID, "amount": MONEY, "created_at": DATETIME,
                            "due_at": DATETIME, "state": {"type": "string", "enum": ["open", "repaid", "expired"]}}),
    "PromisedPaymentCreate": obj({"amount": MONEY_IN}, required=("amount",)),
    "AccountService": obj({"id": ID, "account_id": ID, "service_id": ID, "start_date": DATE,
                           "end_date": nullable(DATE), "quantity": INT, "comment": TEXT}),
    "AccountServiceCreate": obj({"service_id": ID, "start_date": nullable(DATE), "end_date": nullable(DATE),
                                 "quantity": INT, "comment": nullable(TEXT), "amount": nullable(MONEY_IN)},
                                required=("service_id",)),
})
PATHS.update({
    "/services": {
        "post": operation("Add a service to the catalogue", permission="tariffs.edit", request=body("ServiceCreate"),
                          responses={**ok("Service", "Created", "201"), **errors(400, 403, 422)}),
    },
    "/services/import": {
        "post": operation("Import rendered one-off services from CSV", permission="payments.create",
                          request=body("ServiceImport"),
                          description="A dry run (the default) saves nothing and reports every bad row; a real "
                                      "import with a bad row saves nothing and answers 422 with the report.",
                          responses={**ok("ServiceImportReport"), **errors(400, 403, 422)}),
    },
    "/accounts/{account_id}/tariff-changes": {
        "parameters": [path_id("account_id")],
        "get": operation("Tariff changes of an account, planned and done, newest first",
                         permission="subscribers.view", responses={**ok("TariffChangeList"), **errors(403, 404)}),
        "post": operation("Change the tariff now or plan a change", permission="subscribers.edit",
                          request=body("TariffChangeCreate"),
                          description="The day of a change belongs to the new tariff (DESIGN §6); service "
                                      "is never interrupted.",
                          responses={**ok("TariffChange", "Created", "201"), **errors(400, 403, 404, 409, 422)}),
    },
    "/accounts/{account_id}/tariff-changes/{change_id}": {
        "parameters": [path_id("account_id"), path_id("change_id")],
        "delete": operation("Cancel a planned tariff change", permission="subscribers.edit",
                            responses={**ok("TariffChange"), **errors(403, 404, 409)}),
    },
    "/agreements/{agreement_id}/promised-payment": {
        "parameters": [path_id("agreement_id")],
        "post": operation("Give a promised payment (a temporary credit)", permission="payments.create",
                          request=body("PromisedPaymentCreate"),
                          responses={**ok("PromisedPayment", "Created", "201"), **errors(400, 403, 404, 409, 422)}),
    },
    "/accounts/{account_id}/services": {
        "parameters": [path_id("account_id")],
        "post": operation("Attach a periodic or one-off service", permission="subscribers.edit",
                          request=body("AccountServiceCreate"),
                          responses={**ok("AccountService", "Created", "201"), **errors(400, 403, 404, 409, 422)}),
    },
})

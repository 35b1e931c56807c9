"""API: payment systems — list, create, read, update (DESIGN §11).

The password (HTTP basic password or ЮKassa's secret key) is write-only:
never returned, only whether one is set.  Payment systems are settings,
so reading and writing both need settings.edit.
"""

from __future__ import annotations

from flask import jsonify

from lanbill import records
from lanbill.api import actor, bp, json_body, require
from lanbill.api.common import Field, check_fields, iso_datetime, paged
from lanbill.models.paysys import PaymentSystem
from lanbill.paysys import systems

SPEC = {
    "code": Field("text", max_length=24),
    "name": Field("text", max_length=128),
    "kind": Field("text", max_length=24),
    "operator_id": Field("id", nullable=True),
    "allowed_networks": Field("text_list", max_length=64),
    "login": Field("text", max_length=128),
    "password": Field("text", max_length=256),
    "account_identifier": Field("text", max_length=32),
    "min_amount": Field("money", nullable=True),
    "max_amount": Field("money", nullable=True),
    "options": Field("object"),
    "needs_receipt": Field("boolean"),
    "enabled": Field("boolean"),
}
UPDATE_SPEC = {**SPEC, "version": Field("integer")}


def _money(value):
    return None if value is None else f"{value:.2f}"


def payment_system_json(s: PaymentSystem) -> dict:
    return {
        "id": s.id,
        "code": s.code,
        "name": s.name,
        "kind": s.kind,
        "operator_id": s.operator_id,
        "allowed_networks": systems.networks_of(s),
        "login": s.login,
        "password_set": bool(s.password),
        "account_identifier": s.account_identifier,
        "min_amount": _money(s.min_amount),
        "max_amount": _money(s.max_amount),
        "options": s.options or {},
        "needs_receipt": s.needs_receipt,
        "enabled": s.enabled,
        "url": f"/pay/{s.code}",
        "version": s.version,
        "created_at": iso_datetime(s.created_at),
    }


@bp.get("/payment-systems")
def list_payment_systems():
    require("settings.edit")
    return jsonify(paged(PaymentSystem.select(), payment_system_json, order_by=[PaymentSystem.id]))


@bp.post("/payment-systems")
def create_payment_system():
    require("settings.edit")
    body = check_fields(json_body(), SPEC, required=("code", "name", "kind"))
    return jsonify(payment_system_json(systems.create_system(body, actor=actor()))), 201


@bp.get("/payment-systems/<int:system_id>")
def get_payment_system(system_id):
    require("settings.edit")
    return jsonify(payment_system_json(records.get_record(PaymentSystem, system_id)))


@bp.patch("/payment-systems/<int:system_id>")
def update_payment_system(system_id):
    require("settings.edit")
    body = check_fields(json_body(), UPDATE_SPEC)
    version = body.pop("version", None)
    return jsonify(payment_system_json(systems.update_system(system_id, body, actor=actor(), version=version)))

"""API: tariffs (DESIGN §6 fields) — list, create, read, update, archive.

`rent_admin_blocked` null means "as rent_blocked" (Ra defaults to Rb) and
`rent_user_blocked` null means "as rent" (Ru defaults to R); the effective
values are returned beside them.  Reading needs only a token; writing
needs tariffs.edit.
"""

from __future__ import annotations

from flask import jsonify, request

from lanbill import records
from lanbill.api import actor, bp, json_body, require
from lanbill.api.common import Field, check_fields, currency_code, iso_datetime, paged
from lanbill.billing import tariffs
from lanbill.models import Tariff
from lanbill.money import money_str

SPEC = {
    "name": Field("text", max_length=128),
    "description": Field("text"),
    "currency": Field("text", max_length=3),
    "scheme": Field("text"),
    "rent": Field("money"),
    "rent_blocked": Field("money"),
    "rent_admin_blocked": Field("money", nullable=True),
    "rent_user_blocked": Field("money", nullable=True),
    "prepaid_mb": Field("integer"),
    "traffic_limit_mb": Field("integer"),
    "speed_in_kbit": Field("integer"),
    "speed_out_kbit": Field("integer"),
    "volume_source": Field("text"),
    "price_per_minute": Field("money"),
    "prepaid_minutes": Field("integer"),
    "framed_pool": Field("text", max_length=64),
}
UPDATE_SPEC = {**SPEC, "version": Field("integer"), "archived": Field("boolean")}


def tariff_json(t: Tariff) -> dict:
    return {
        "id": t.id,
        "name": t.name,
        "description": t.description,
        "currency": currency_code(t.currency_id),
        "scheme": t.scheme,
        "rent": money_str(t.rent),
        "rent_blocked": money_str(t.rent_blocked),
        "rent_admin_blocked": money_str(t.rent_admin_blocked),
        "rent_user_blocked": money_str(t.rent_user_blocked),
        "effective_rent_admin_blocked": money_str(t.effective_rent_admin_blocked),
        "effective_rent_user_blocked": money_str(t.effective_rent_user_blocked),
        "prepaid_mb": t.prepaid_mb,
        "traffic_limit_mb": t.traffic_limit_mb,
        "speed_in_kbit": t.speed_in_kbit,
        "speed_out_kbit": t.speed_out_kbit,
        "volume_source": t.volume_source,
        "price_per_minute": money_str(t.price_per_minute),
        "prepaid_minutes": t.prepaid_minutes,
        "framed_pool": t.framed_pool,
        "archived": t.archived,
        "version": t.version,
        "created_at": iso_datetime(t.created_at),
    }


@bp.get("/tariffs")
def list_tariffs():
    """?archived=true lists archived tariffs too."""
    query = Tariff.select()
    if request.args.get("archived") not in ("1", "true", "yes"):
        query = query.where(Tariff.archived == False)  # noqa: E712
    return jsonify(paged(query, tariff_json, order_by=[Tariff.id]))


@bp.post("/tariffs")
def create_tariff():
    require("tariffs.edit")
    body = check_fields(json_body(), SPEC, required=("name",))
    return jsonify(tariff_json(tariffs.create_tariff(body, actor=actor()))), 201


@bp.get("/tariffs/<int:tariff_id>")
def get_tariff(tariff_id):
    return jsonify(tariff_json(records.get_record(Tariff, tariff_id)))


@bp.patch("/tariffs/<int:tariff_id>")
def update_tariff(tariff_id):
    """Partial update; `archived` true/false archives or restores it;
    `version` (optional) refuses a stale edit with 409."""
    require("tariffs.edit")
    tariff = records.get_record(Tariff, tariff_id)
    body = check_fields(json_body(), UPDATE_SPEC)
    archived = body.pop("archived", None)
    version = body.pop("version", None)
    if body or version is not None:
        tariff = tariffs.update_tariff(tariff, body, actor=actor(), version=version)
    if archived is not None and archived != tariff.archived:
        tariff = tariffs.archive_tariff(tariff, actor=actor(), archived=archived)
    return jsonify(tariff_json(tariff))

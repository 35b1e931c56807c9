"""API: NAS (network access servers) — list, create, read, update.

The RADIUS secret is write-only: it is never returned.  NAS are network
settings, so reading and writing both need settings.edit.
"""

from __future__ import annotations

from flask import jsonify

from lanbill import records
from lanbill.api import actor, bp, json_body, require
from lanbill.api.common import Field, check_fields, iso_datetime, paged
from lanbill.models import Nas
from lanbill.network import agents

SPEC = {
    "name": Field("text", max_length=128),
    "ip": Field("text", max_length=45),
    "secret": Field("text", max_length=128),
    "vendor": Field("text"),
    "coa_port": Field("integer"),
    "agent_id": Field("id", nullable=True),
    "require_message_authenticator": Field("boolean"),
}
UPDATE_SPEC = {**SPEC, "version": Field("integer")}


def nas_json(n: Nas) -> dict:
    return {
        "id": n.id,
        "name": n.name,
        "ip": n.ip,
        "vendor": n.vendor,
        "coa_port": n.coa_port,
        "agent_id": n.agent_id,
        "require_message_authenticator": n.require_message_authenticator,
        "created_at": iso_datetime(n.created_at),
    }


@bp.get("/nas")
def list_nas():
    require("settings.edit")
    return jsonify(paged(Nas.select(), nas_json, order_by=[Nas.id]))


@bp.post("/nas")
def create_nas():
    require("settings.edit")
    body = check_fields(json_body(), SPEC, required=("name", "ip", "secret"))
    return jsonify(nas_json(agents.create_nas(body, actor=actor()))), 201


@bp.get("/nas/<int:nas_id>")
def get_nas(nas_id):
    require("settings.edit")
    return jsonify(nas_json(records.get_record(Nas, nas_id)))


@bp.patch("/nas/<int:nas_id>")
def update_nas(nas_id):
    require("settings.edit")
    body = check_fields(json_body(), UPDATE_SPEC)
    version = body.pop("version", None)
    return jsonify(nas_json(agents.update_nas(nas_id, body, actor=actor(), version=version)))

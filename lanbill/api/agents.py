"""API: agents (RADIUS, NetFlow, USBox) — list, create, read, update.

Reading needs only a token (creating an account needs an agent id);
writing needs settings.edit.
"""

from __future__ import annotations

from flask import jsonify

from lanbill import records
from lanbill.api import actor, bp, json_body, require
from lanbill.api.common import Field, check_fields, iso_datetime, paged
from lanbill.models import Agent
from lanbill.network import agents

CREATE_SPEC = {
    "name": Field("text", max_length=128),
    "type": Field("text"),
    "options": Field("object", nullable=True),
    "listen_address": Field("text", nullable=True, max_length=64),
}
UPDATE_SPEC = {
    "version": Field("integer"),
    "name": Field("text", max_length=128),
    "options": Field("object"),
    "enabled": Field("boolean"),
}


def agent_json(a: Agent) -> dict:
    return {
        "id": a.id,
        "name": a.name,
        "type": a.type,
        "listen_address": a.listen_address,
        "options": a.options or {},
        "enabled": a.enabled,
        "created_at": iso_datetime(a.created_at),
    }


@bp.get("/agents")
def list_agents():
    return jsonify(paged(Agent.select(), agent_json, order_by=[Agent.id]))


@bp.post("/agents")
def create_agent():
    require("settings.edit")
    body = check_fields(json_body(), CREATE_SPEC, required=("name", "type"))
    return jsonify(agent_json(agents.create_agent(body, actor=actor()))), 201


@bp.get("/agents/<int:agent_id>")
def get_agent(agent_id):
    return jsonify(agent_json(records.get_record(Agent, agent_id)))


@bp.patch("/agents/<int:agent_id>")
def update_agent(agent_id):
    require("settings.edit")
    body = check_fields(json_body(), UPDATE_SPEC)
    version = body.pop("version", None)
    return jsonify(agent_json(agents.update_agent(agent_id, body, actor=actor(), version=version)))

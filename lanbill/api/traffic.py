"""API: an account's traffic statistics and the traffic categories of a
tariff.

GET /accounts/<id>/traffic?from=&to=&group=day|hour|category|address|port[&remote=]
→ {"items": [{period, category, remote, port, bytes_in, bytes_out, cost}], "total": {...}}
GET/POST /tariffs/<id>/categories → categories {id, name, networks, price_in_mb, price_out_mb, prepaid}
"""

from __future__ import annotations

from flask import jsonify, request

from lanbill import records
from lanbill.api import actor, bp, json_body, require
from lanbill.api.accounts import visible_account
from lanbill.api.common import ApiError, Field, check_fields, date_arg
from lanbill.errors import N_
from lanbill.models import Tariff, TrafficCategory
from lanbill.money import money_str
from lanbill.network import traffic_categories, traffic_stats

CATEGORY_SPEC = {
    "name": Field("text", max_length=128),
    "networks": Field("text_list"),
    "price_in_mb": Field("money"),
    "price_out_mb": Field("money"),
    "prepaid": Field("boolean"),
}


def row_json(row: traffic_stats.TrafficRow) -> dict:
    return {
        "period": row.period or None,
        "category": row.category,
        "category_id": row.category_id,
        "remote": row.remote,
        "port": row.port,
        "bytes_in": row.bytes_in,
        "bytes_out": row.bytes_out,
        "bytes_total": row.total,
        "cost": money_str(row.cost),
    }


def category_json(c: TrafficCategory) -> dict:
    return {
        "id": c.id,
        "tariff_id": c.tariff_id,
        "name": c.name,
        "networks": c.network_list,
        "price_in_mb": money_str(c.price_in_mb),
        "price_out_mb": money_str(c.price_out_mb),
        "prepaid": bool(c.prepaid),
    }


@bp.get("/accounts/<int:account_id>/traffic")
def account_traffic(account_id):
    require("subscribers.view")
    account = visible_account(account_id)
    group = request.args.get("group") or "day"
    if group not in traffic_stats.GROUPS:
        raise ApiError(400, N_("Query parameter group must be one of day, hour, category, address, port."),
                       {"group": N_("Unknown.")})
    rows = traffic_stats.account_traffic(account, date_arg("from"), date_arg("to"), group,
                                         request.args.get("remote") or None)
    return jsonify({"items": [row_json(r) for r in rows], "total": row_json(traffic_stats.totals(rows))})


@bp.get("/tariffs/<int:tariff_id>/categories")
def list_categories(tariff_id):
    tariff = records.get_record(Tariff, tariff_id)
    query = TrafficCategory.select().where(TrafficCategory.tariff == tariff.id).order_by(TrafficCategory.id)
    return jsonify({"items": [category_json(c) for c in query]})


@bp.post("/tariffs/<int:tariff_id>/categories")
def create_category(tariff_id):
    require("tariffs.edit")
    tariff = records.get_record(Tariff, tariff_id)
    body = check_fields(json_body(), CATEGORY_SPEC, required=("name",))
    data = dict(body)
    data["networks"] = ", ".join(body.get("networks") or [])
    category = traffic_categories.create_category(tariff.id, data, actor=actor())
    return jsonify(category_json(category)), 201

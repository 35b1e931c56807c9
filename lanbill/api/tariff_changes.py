"""API: tariff changes of an account — now or planned for a moment, listed
and cancelled (DESIGN §6: the day of a change belongs to the new tariff)."""

from __future__ import annotations

from flask import jsonify

from lanbill.api import actor, bp, json_body, require
from lanbill.api.accounts import visible_account
from lanbill.api.common import Field, check_fields, iso_datetime, unknown_reference
from lanbill.billing import tariff_schedule
from lanbill.errors import N_, NotFound
from lanbill.models import Tariff, TariffChange

CHANGE_SPEC = {"tariff_id": Field("id"), "at": Field("datetime", nullable=True)}


def tariff_change_json(c: TariffChange) -> dict:
    return {
        "id": c.id, "account_id": c.account_id, "tariff_id": c.tariff_id, "previous_tariff_id": c.previous_tariff_id,
        "at": iso_datetime(c.at), "applied_at": iso_datetime(c.applied_at),
        "cancelled_at": iso_datetime(c.cancelled_at), "actor": c.actor,
        "state": "cancelled" if c.cancelled_at else ("applied" if c.applied_at else "planned"),
    }


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
    return jsonify(tariff_change_json(TariffChange.get_by_id(change.id))), 201


@bp.get("/accounts/<int:account_id>/tariff-changes")
def list_tariff_changes(account_id):
    require("subscribers.view")
    account = visible_account(account_id)
    return jsonify({"items": [tariff_change_json(c) for c in tariff_schedule.history(account)]})


@bp.delete("/accounts/<int:account_id>/tariff-changes/<int:change_id>")
def cancel_tariff_change(account_id, change_id):
    require("subscribers.edit")
    account = visible_account(account_id)
    change = TariffChange.get_or_none((TariffChange.id == change_id) & (TariffChange.account == account.id))
    if change is None:
        raise NotFound(N_("Tariff change not found."))
    return jsonify(tariff_change_json(tariff_schedule.cancel_change(change, actor=actor())))

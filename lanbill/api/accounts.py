"""API: accounts («учетная запись») — create, read with state and blocks,
update, soft delete, and staff/user blocks (DESIGN §5).

The service password is write-only: it is never returned.
"""

from __future__ import annotations

from flask import jsonify, request

from lanbill.api import actor, bp, json_body, require
from lanbill.api.agreements import visible_agreement
from lanbill.api.common import (
    ApiError,
    Field,
    can_see,
    check_fields,
    int_arg,
    iso_date,
    iso_datetime,
    paged,
    unknown_reference,
    visible,
)
from lanbill.billing import blocks
from lanbill.customers import accounts
from lanbill.errors import N_, NotFound
from lanbill.models import Account, AccountIp, AccountStateChange
from lanbill.models.accounts import BLOCK_KINDS, FLAG_FIELDS, STATE_LABELS

FIELDS = {
    "login": Field("text"),
    "password": Field("text", nullable=True),
    "ips": Field("text_list", nullable=True),
    "mac": Field("text", nullable=True),
    "phone_numbers": Field("text", nullable=True, max_length=255),
    "bandwidth_kbit": Field("integer", nullable=True),
    "max_sessions": Field("integer", nullable=True),
    "connect_date": Field("date", nullable=True),
    "disconnect_date": Field("date", nullable=True),
    "keep_remote_address": Field("boolean"),
    "keep_remote_port": Field("boolean"),
    "description": Field("text", nullable=True),
    "options": Field("object"),
    "tariff_id": Field("id"),
}
CREATE_SPEC = {**FIELDS, "agreement_id": Field("id"), "agent_id": Field("id")}
UPDATE_SPEC = {**FIELDS, "version": Field("integer")}
BLOCK_SPEC = {"kind": Field("text"), "reason": Field("text", nullable=True)}
LIFT_SPEC = {"reason": Field("text", nullable=True)}


def account_json(a: Account, *, ips: list[str] | None = None, changes=None) -> dict:
    """`state` is the shown state (DESIGN §5: the set flag of highest
    priority, then off, else active); `blocks` lists every set block flag
    with when, why and by whom it was set.  `ips` and `changes` (the
    account's "set" state changes, newest first) may come preloaded."""
    if ips is None:
        ips = [row.network for row in AccountIp.select().where(AccountIp.account == a.id).order_by(AccountIp.id)]
    return {
        "id": a.id,
        "agreement_id": a.agreement_id,
        "subscriber_id": a.subscriber_id,
        "agent_id": a.agent_id,
        "tariff_id": a.tariff_id,
        "login": a.login,
        "ips": ips,
        "mac": a.mac,
        "phone_numbers": a.phone_numbers,
        "bandwidth_kbit": a.bandwidth_kbit,
        "max_sessions": a.max_sessions,
        "connect_date": iso_date(a.connect_date),
        "disconnect_date": iso_date(a.disconnect_date),
        "keep_remote_address": a.keep_remote_address,
        "keep_remote_port": a.keep_remote_port,
        "description": a.description,
        "options": a.options or {},
        "state": a.state,
        "state_label": STATE_LABELS.get(a.state, a.state),
        "state_changed_at": iso_datetime(a.state_changed_at),
        "is_off": a.is_off,
        "blocks": _blocks(a, changes),
        "deleted": a.deleted,
        "deleted_at": iso_datetime(a.deleted_at),
        "version": a.version,
        "created_at": iso_datetime(a.created_at),
        "updated_at": iso_datetime(a.updated_at),
    }


def _set_flags(a: Account) -> list[str]:
    return [kind for kind in BLOCK_KINDS if getattr(a, FLAG_FIELDS[kind])]


def _block_changes(account_ids, flags):
    return (
        AccountStateChange.select()
        .where((AccountStateChange.account.in_(account_ids)) & (AccountStateChange.flag.in_(flags))
               & (AccountStateChange.action == "set"))
        .order_by(AccountStateChange.id.desc())
    )


def _blocks(a: Account, changes=None) -> list[dict]:
    flags = _set_flags(a)
    if not flags:
        return []
    if changes is None:
        changes = _block_changes([a.id], flags)
    latest = {}
    for change in changes:
        if change.flag in flags:
            latest.setdefault(change.flag, change)
    out = []
    for kind in flags:
        change = latest.get(kind)
        out.append({
            "kind": kind,
            "since": iso_datetime(change.at) if change else None,
            "reason": change.reason if change else "",
            "actor": change.actor if change else "",
        })
    return out


def visible_account(account_id) -> Account:
    found = Account.get_or_none(Account.id == account_id)
    if found is None or not can_see(found.subscriber_id):
        raise NotFound(N_("Account not found."))
    return found


@bp.get("/accounts")
def list_accounts():
    """?agreement_id=, ?subscriber_id=, ?agent_id=, ?login= (exact) narrow
    the list; deleted accounts only with ?deleted=true."""
    require("subscribers.view")
    query = visible(Account.select(), Account.subscriber)
    for name, column in (("agreement_id", Account.agreement), ("subscriber_id", Account.subscriber),
                         ("agent_id", Account.agent)):
        value = int_arg(name, 0)
        if value:
            query = query.where(column == value)
    if request.args.get("login"):
        query = query.where(Account.login == request.args["login"])
    if request.args.get("deleted") not in ("1", "true", "yes"):
        query = query.where(Account.deleted == False)  # noqa: E712
    return jsonify(paged(query, account_json, order_by=[Account.id], prepare=_preload))


def _preload(rows):
    """IPs and block history of a page of accounts in two queries."""
    ids = [a.id for a in rows]
    ips = {i: [] for i in ids}
    for row in AccountIp.select().where(AccountIp.account.in_(ids)).order_by(AccountIp.id):
        ips[row.account_id].append(row.network)
    blocked = [a.id for a in rows if _set_flags(a)]
    changes = {i: [] for i in blocked}
    if blocked:
        for change in _block_changes(blocked, list(BLOCK_KINDS)):
            changes[change.account_id].append(change)
    return lambda a: account_json(a, ips=ips[a.id], changes=changes.get(a.id, []))


@bp.post("/accounts")
def create_account():
    require("subscribers.edit")
    body = check_fields(json_body(), CREATE_SPEC, required=("agreement_id", "agent_id", "tariff_id", "login"))
    # An agreement the token may not see is refused as if it did not exist.
    visible_agreement(body["agreement_id"], unknown_reference("agreement_id", N_("No such agreement.")))
    account = accounts.create_account(body, actor=actor())
    return jsonify(account_json(account)), 201


@bp.get("/accounts/<int:account_id>")
def get_account(account_id):
    require("subscribers.view")
    return jsonify(account_json(visible_account(account_id)))


@bp.patch("/accounts/<int:account_id>")
def update_account(account_id):
    """Partial update; a new `tariff_id` switches the tariff now (the day
    belongs to the new tariff, DESIGN §6); `version` refuses a stale edit."""
    require("subscribers.edit")
    account = visible_account(account_id)
    body = check_fields(json_body(), UPDATE_SPEC)
    version = body.pop("version", None)
    return jsonify(account_json(accounts.update_account(account, body, actor=actor(), version=version)))


@bp.delete("/accounts/<int:account_id>")
def delete_account(account_id):
    """Soft delete (seed 002): the account is marked deleted, its history stays."""
    require("subscribers.edit")
    account = visible_account(account_id)
    return jsonify(account_json(accounts.delete_account(account, actor=actor())))


def _check_kind(kind) -> None:
    if kind not in BLOCK_KINDS:
        raise ApiError(422, N_("Unknown block kind %(kind)s."), {"kind": N_("One of balance, admin, traffic, user.")},
                       kind=str(kind))


@bp.post("/accounts/<int:account_id>/blocks")
def set_block(account_id):
    """{"kind": "admin", "reason": "..."}: 201 when the block was set, 200
    when it was already set.  Balance and traffic blocks belong to the system."""
    require("subscribers.edit")
    account = visible_account(account_id)
    body = check_fields(json_body(), BLOCK_SPEC, required=("kind",))
    _check_kind(body["kind"])
    changed = blocks.set_block(account, body["kind"], actor=actor(), reason=body.get("reason") or "")
    return jsonify(account_json(Account.get_by_id(account.id))), 201 if changed else 200


@bp.delete("/accounts/<int:account_id>/blocks/<kind>")
def lift_block(account_id, kind):
    """Lift a block; a balance block cannot be lifted by hand (409).  An
    optional JSON body {"reason": "..."} is recorded with the change."""
    require("subscribers.edit")
    account = visible_account(account_id)
    _check_kind(kind)
    body = check_fields(json_body(), LIFT_SPEC) if _has_body() else {}
    blocks.lift_block(account, kind, actor=actor(), reason=body.get("reason") or "")
    return jsonify(account_json(Account.get_by_id(account.id)))


def _has_body() -> bool:
    return bool(request.get_data(cache=True))

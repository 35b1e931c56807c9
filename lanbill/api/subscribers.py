"""API: subscribers (seed 002 «Пользователь») — list/search, create, read,
update.

Passport data (DESIGN §9) is shown and written only by roles with
personal_data.view, as in the admin screens: a read returns it only when
asked for with ?passport=1, and each such read is written to the audit log
("personal_data.view").  Lists never carry it."""

from __future__ import annotations

from flask import g, jsonify, request

from lanbill.api import actor, bp, json_body, require
from lanbill.api.common import ApiError, Field, can_see, check_fields, iso_datetime, paged, text_fields, visible
from lanbill.customers import cabinet, subscribers
from lanbill.customers.search import ensure_index, subscriber_condition
from lanbill.errors import N_, NotFound
from lanbill.models import Address, Group, RoleGroup, Subscriber, SubscriberGroup
from lanbill.models.subscribers import (
    COMMON_FIELDS,
    INDIVIDUAL_FIELDS,
    KINDS,
    LEGAL_FIELDS,
    PERSONAL_FIELDS,
)
from lanbill.staff import audit

# The fields of both classes; those of the other class than the
# subscriber's are refused in _domain_data.  The cabinet password is not
# an API field.
WRITABLE = tuple(dict.fromkeys(COMMON_FIELDS + INDIVIDUAL_FIELDS + LEGAL_FIELDS))
SPEC = {
    "kind": Field("text"),
    "category": Field("text"),
    "is_template": Field("boolean"),
    "main_address_id": Field("id", nullable=True),
    "postal_address_id": Field("id", nullable=True),
    "delivery_address_id": Field("id", nullable=True),
    "group_ids": Field("id_list"),
    **text_fields(Subscriber, WRITABLE, nullable=("login",)),
}
# Groups are set at creation; membership changes are not a PATCH field.
UPDATE_SPEC = {k: v for k, v in SPEC.items() if k != "group_ids"}
ADDRESS_FIELDS = {"main_address_id": "main_address", "postal_address_id": "postal_address",
                  "delivery_address_id": "delivery_address"}


def subscriber_json(s: Subscriber, *, personal: bool, groups: list[int] | None = None) -> dict:
    """A subscriber with its class's fields; passport data only if `personal`."""
    class_fields = INDIVIDUAL_FIELDS if s.kind == "individual" else LEGAL_FIELDS
    out = {
        "id": s.id,
        "kind": s.kind,
        "category": s.category,
        **{name: getattr(s, name) for name in COMMON_FIELDS},
        **{name: getattr(s, name) for name in class_fields if personal or name not in PERSONAL_FIELDS},
        "main_address_id": s.main_address_id,
        "postal_address_id": s.postal_address_id,
        "delivery_address_id": s.delivery_address_id,
        "is_template": s.is_template,
        "version": s.version,
        "created_at": iso_datetime(s.created_at),
        "updated_at": iso_datetime(s.updated_at),
    }
    if groups is not None:
        out["group_ids"] = groups
    return out


def _groups(subscriber_id: int) -> list[int]:
    query = SubscriberGroup.select(SubscriberGroup.group).where(SubscriberGroup.subscriber == subscriber_id)
    return sorted(row.group_id for row in query)


def _wants_personal() -> bool:
    """Whether this answer carries passport data: asked for with
    ?passport=1 by a role allowed to see it (403 otherwise, before anything
    is written)."""
    if request.args.get("passport") not in ("1", "true", "yes"):
        return False
    require("personal_data.view")
    return True


def _shown(subscriber: Subscriber, personal: bool) -> dict:
    """The answer; a passport shown is a read the audit log keeps."""
    if personal and subscriber.kind == "individual":
        audit.record(actor(), "personal_data.view", "subscriber", subscriber.id)
    return subscriber_json(subscriber, personal=personal, groups=_groups(subscriber.id))


def _refuse_personal_without_permission(body: dict) -> None:
    if any(key in PERSONAL_FIELDS for key in body):
        require("personal_data.view")


def _visible_or_404(subscriber_id: int) -> Subscriber:
    subscriber = Subscriber.get_or_none(Subscriber.id == subscriber_id)
    if subscriber is None or not can_see(subscriber_id):
        raise NotFound(N_("Subscriber not found."))
    return subscriber


def _domain_data(body: dict, kind: str) -> dict:
    """The JSON body as create/update_subscriber take it.  Fields of the
    other class are refused rather than silently dropped."""
    other = set(LEGAL_FIELDS if kind == "individual" else INDIVIDUAL_FIELDS)
    other -= set(INDIVIDUAL_FIELDS if kind == "individual" else LEGAL_FIELDS)
    wrong = {k: N_("Not a field of this subscriber class.") for k in body if k in other}
    for key in ADDRESS_FIELDS:
        if body.get(key) is not None and Address.get_or_none(Address.id == body[key]) is None:
            wrong[key] = N_("No such address.")
    if "group_ids" in body:
        # Only groups the token's role may see (the others do not exist for it).
        groups = Group.select(Group.id).where(Group.id.in_(body["group_ids"]))
        if not g.api_manager.role.all_groups:
            groups = groups.where(Group.id.in_(RoleGroup.select(RoleGroup.group).where(
                RoleGroup.role == g.api_manager.role_id)))
        found = {row.id for row in groups}
        if len(found) != len(set(body["group_ids"])):
            wrong["group_ids"] = N_("No such group.")
    if wrong:
        raise ApiError(422, N_("Check the highlighted fields."), wrong)
    data = {ADDRESS_FIELDS.get(k, k): v for k, v in body.items() if k != "group_ids"}
    if "login" in data and data["login"] is None:
        data["login"] = ""
    return data


@bp.get("/subscribers")
def list_subscribers():
    """?q= is the admin screens' quick search: "contains", case-insensitive
    (Cyrillic too), in name, e-mail, phone, cabinet or account login,
    agreement number and IP."""
    require("subscribers.view")
    query = visible(Subscriber.select().where(Subscriber.is_template == False), Subscriber.id)  # noqa: E712
    condition = subscriber_condition("any", request.args.get("q") or "")
    if condition is not None:
        ensure_index()  # the search index catches up with the latest changes
        query = query.where(condition)
    return jsonify(paged(query, lambda s: subscriber_json(s, personal=False), order_by=[Subscriber.id]))


@bp.post("/subscribers")
def create_subscriber():
    require("subscribers.edit")
    body = check_fields(json_body(), SPEC, required=("name",))
    body.setdefault("kind", "individual")
    if body["kind"] not in KINDS:  # checked before _domain_data needs the class
        raise ApiError(422, N_("Check the highlighted fields."), {"kind": N_("One of individual, legal.")})
    _refuse_personal_without_permission(body)
    personal = _wants_personal()
    data = _domain_data(body, body["kind"])
    subscriber = subscribers.create_subscriber(data, actor=actor(), groups=body.get("group_ids", ()))
    return jsonify(_shown(subscriber, personal)), 201


@bp.get("/subscribers/<int:subscriber_id>")
def get_subscriber(subscriber_id):
    require("subscribers.view")
    subscriber = _visible_or_404(subscriber_id)
    return jsonify(_shown(subscriber, _wants_personal()))


@bp.patch("/subscribers/<int:subscriber_id>")
def update_subscriber(subscriber_id):
    """Partial update; `version` (optional) refuses a stale edit with 409."""
    require("subscribers.edit")
    subscriber = _visible_or_404(subscriber_id)
    body = json_body()
    version = body.pop("version", None)
    check_fields(body, UPDATE_SPEC)
    if version is not None:
        check_fields({"version": version}, {"version": Field("integer")})
    _refuse_personal_without_permission(body)
    personal = _wants_personal()
    data = _domain_data(body, subscriber.kind)
    subscriber = subscribers.update_subscriber(subscriber, data, actor=actor(), version=version)
    return jsonify(_shown(subscriber, personal))




CABINET_PASSWORD_SPEC = {"password": Field("text", max_length=128), "generate": Field("boolean")}


@bp.put("/subscribers/<int:subscriber_id>/cabinet-password")
def set_cabinet_password(subscriber_id):
    """Set the cabinet password ({"password": "..."}, the password rules
    apply) or reset it ({"generate": true}: the answer carries the
    generated password, this once; only its hash is stored)."""
    require("subscribers.edit")
    subscriber = _visible_or_404(subscriber_id)
    body = check_fields(json_body(), CABINET_PASSWORD_SPEC)
    generate = body.get("generate") is True
    if generate == ("password" in body):
        raise ApiError(422, N_("Give either a password or \"generate\": true."),
                       {"password": N_("Give either a password or \"generate\": true.")})
    generated = cabinet.reset_password(subscriber, actor=actor(),
                                       password=None if generate else body["password"])
    out = {"id": subscriber.id, "password_set": True}
    if generated:
        out["password"] = generated
    return jsonify(out), 200, {"Cache-Control": "no-store"}

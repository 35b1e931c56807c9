"""The audit log: who did what to which object, with before/after values."""

from __future__ import annotations

from lanbill.actor import actor_of
from lanbill.db import insert_row
from lanbill.models import AuditLog


def record(actor, action: str, obj_type: str, obj_id, before=None, after=None) -> AuditLog:
    """Write one audit row.  Call it inside the transaction of the change."""
    who = actor_of(actor)
    return insert_row(
        AuditLog,
        manager_id=who.manager_id,
        actor=who.label,
        action=action,
        object_type=obj_type,
        object_id=str(obj_id) if obj_id is not None else "",
        before=_jsonable(before),
        after=_jsonable(after),
        ip=who.ip,
    )


def _jsonable(value):
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, bool, float)) or value is None:
        return value
    return str(value)


def diff(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the keys whose values changed, for compact audit rows."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}

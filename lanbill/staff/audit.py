"""The audit log: who did what to which object, with before/after values.

Personal data (passport, birth date: PERSONAL_FIELDS, DESIGN §9) never
lands in it in clear: a change of such a field is recorded as
`CHANGED` — that it changed, not from what to what."""

from __future__ import annotations

from lanbill.actor import actor_of
from lanbill.db import database, insert_row, is_sqlite
from lanbill.models import AuditLog
from lanbill.models.subscribers import PERSONAL_FIELDS

# What an audit row holds in place of a personal field's values.
CHANGED = "(changed)"


def record(actor, action: str, obj_type: str, obj_id, before=None, after=None) -> AuditLog:
    """Write one audit row.  Call it inside the transaction of the change."""
    who = actor_of(actor)
    before, after = redact_personal(_jsonable(before), _jsonable(after))
    return insert_row(
        AuditLog,
        manager_id=who.manager_id,
        actor=who.label,
        action=action,
        object_type=obj_type,
        object_id=str(obj_id) if obj_id is not None else "",
        before=before,
        after=after,
        ip=who.ip,
    )


def redact_personal(before, after):
    """(before, after) with the personal fields' values taken out: the
    field stays in `after` as CHANGED when it was set, cleared or changed,
    and leaves `before`; a field empty on both sides is dropped.  Values
    that are not dicts are returned as they are."""
    old = dict(before) if isinstance(before, dict) else {}
    new = dict(after) if isinstance(after, dict) else {}
    touched = False
    for key in PERSONAL_FIELDS:
        if key not in old and key not in new:
            continue
        touched = True
        previous, current = old.pop(key, None), new.pop(key, None)
        if previous not in (None, "", CHANGED) or current not in (None, ""):
            new[key] = CHANGED
    if not touched:
        return before, after
    return (old if isinstance(before, dict) else before), (new if isinstance(after, dict) or new else after)


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


def record_many(actor, action: str, obj_type: str, changes) -> int:
    """`record` for many objects changed together by one actor (a bank
    registry's payments): `changes` is [(object id, before, after), …],
    each row the same as `record` writes, in one statement.  Returns
    how many were written."""
    who = actor_of(actor)
    fields = [AuditLog.at, AuditLog.manager_id, AuditLog.actor, AuditLog.action, AuditLog.object_type,
              AuditLog.object_id, AuditLog.before, AuditLog.after, AuditLog.ip]
    at = AuditLog.at.default()
    at = at.isoformat(" ") if is_sqlite() else at
    rows = []
    for obj_id, before, after in changes:
        before, after = redact_personal(_jsonable(before), _jsonable(after))
        rows.append((at, who.manager_id, who.label, action, obj_type, str(obj_id) if obj_id is not None else "",
                     AuditLog.before.db_value(before), AuditLog.after.db_value(after), who.ip))
    if rows:
        columns = ", ".join(f'"{f.column_name}"' for f in fields)
        marks = ", ".join([database.param] * len(fields))
        database.cursor().executemany(f'INSERT INTO "audit_log" ({columns}) VALUES ({marks})', rows)
    return len(rows)

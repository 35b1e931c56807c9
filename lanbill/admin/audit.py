"""The audit log screen: who did what to which object and when, with the
values before and after; filters by manager, action, object and dates.
The screen and its CSV show only rows about subscribers the manager's
groups cover (staff/access.py), and personal data only to roles allowed to
see it; the log itself never holds passport values (staff/audit.py)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from flask import current_app, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from lanbill.admin import bp
from lanbill.admin.common import requires
from lanbill.admin.settings_forms import AuditFilterForm
from lanbill.admin.sources import describe_audit_rows
from lanbill.admin.tables import Column, Table, wants_csv
from lanbill.clock import midnight_utc, to_local
from lanbill.models import AuditLog, Manager
from lanbill.staff import access
from lanbill.staff.audit import CHANGED

# Where an audited object is shown: object_type → (endpoint, URL argument).
OBJECT_LINKS = {
    "tariff": ("admin.tariff_edit", "tariff_id"),
    "agent": ("admin.agent_edit", "agent_id"),
    "nas": ("admin.nas_edit", "nas_id"),
    "operator": ("admin.operator_edit", "operator_id"),
    "group": ("admin.group_edit", "group_id"),
    "currency": ("admin.currency_edit", "currency_id"),
    "manager": ("admin.manager_edit", "manager_id"),
    "role": ("admin.role_edit", "role_id"),
    "subscriber": ("admin.subscriber", "subscriber_id"),
    "agreement": ("admin.agreement", "agreement_id"),
    "account": ("admin.account", "account_id"),
}


# Offered in the object filter (any other type can be typed in): a fixed
# list, because a DISTINCT over a log of millions of rows is not free.
OBJECT_TYPES = ("account", "address", "address_building", "address_city", "address_region", "address_street",
                "agent", "agreement", "api_token", "currency", "group", "manager", "nas", "operator", "payment",
                "role", "service", "setting", "subscriber", "tariff")


def object_url(row) -> str | None:
    link = OBJECT_LINKS.get(row.object_type)
    if not link or link[0] not in current_app.view_functions or not str(row.object_id).isdigit():
        return None
    try:
        return url_for(link[0], **{link[1]: int(row.object_id)})
    except Exception:  # noqa: BLE001 - an endpoint with other arguments: no link
        return None


def changes(row) -> list[tuple[str, object, object]]:
    """(key, before, after) for every key either side mentions; a personal
    field shows only that it changed, and only that to a role allowed to
    see personal data."""
    before = row.before if isinstance(row.before, dict) else ({} if row.before is None else {"": row.before})
    after = row.after if isinstance(row.after, dict) else ({} if row.after is None else {"": row.after})
    before = access.hide_personal(before, current_user, CHANGED)
    after = access.hide_personal(after, current_user, CHANGED)
    keys = list(dict.fromkeys([*before.keys(), *after.keys()]))
    return [(k, _shown(before.get(k)), _shown(after.get(k))) for k in keys]


DECIMAL_TEXT = re.compile(r"-?\d+\.\d+")
ISO_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?")


def _shown(value):
    """A logged value as staff read it: amounts with the UI language's
    decimal sign, timestamps in the operator's zone, "changed" for a
    personal field."""
    if value == CHANGED:
        return _("changed")
    if isinstance(value, str) and DECIMAL_TEXT.fullmatch(value):
        return format_decimal(Decimal(value), format="#,##0.00##")
    if isinstance(value, str) and ISO_TIMESTAMP.fullmatch(value):
        return to_local(dt.datetime.fromisoformat(value)).strftime("%d.%m.%Y %H:%M:%S")
    return value


def changes_text(row) -> str:
    """The changes on one line, for the CSV export."""
    parts = []
    for key, old, new in changes(row):
        label = f"{key}: " if key else ""
        parts.append(f"{label}{old} → {new}" if old is not None else f"{label}{new}")
    return "; ".join(parts)


def _columns():
    return [
        Column("at", _l("When"), sort=AuditLog.at, value=lambda r: to_local(r.at).strftime("%d.%m.%Y %H:%M:%S")),
        Column("actor", _l("Who"), sort=AuditLog.actor, value=lambda r: getattr(r, "who_text", r.actor)),
        Column("action", _l("Action"), sort=AuditLog.action, value=lambda r: getattr(r, "action_text", r.action)),
        Column("object", _l("Object"), sort=[AuditLog.object_type, AuditLog.object_id],
               value=lambda r: getattr(r, "object_text", f"{r.object_type} {r.object_id}")),
        Column("changes", _l("Before → after"), value=changes_text),
        Column("ip", _l("IP address"), sort=AuditLog.ip, visible=False),
    ]


def filtered_query(form):
    query = access.scope_audit(AuditLog.select(), current_user)
    if form.manager.data:
        if form.manager.data.isdigit():
            query = query.where(AuditLog.manager_id == int(form.manager.data))
    if form.action.data:
        query = query.where(AuditLog.action.contains(form.action.data.strip()))
    if form.object_type.data:
        query = query.where(AuditLog.object_type == form.object_type.data.strip())
    if form.object_id.data:
        query = query.where(AuditLog.object_id == form.object_id.data.strip())
    if form.date_from.data:
        query = query.where(AuditLog.at >= midnight_utc(form.date_from.data))
    if form.date_to.data:
        query = query.where(AuditLog.at < midnight_utc(form.date_to.data + dt.timedelta(days=1)))
    return query


@bp.route("/audit")
@requires("settings.edit")
def audit_log():
    form = AuditFilterForm(request.args)
    form.manager.choices = [("", "—")] + [(str(m.id), m.login) for m in Manager.select().order_by(Manager.login)]
    form.validate()
    # A filter that does not parse (a bad date) is dropped and shown as an error.
    for name in ("date_from", "date_to"):
        if getattr(form, name).errors:
            getattr(form, name).data = None
    if form.manager.data and form.manager.data not in {c[0] for c in form.manager.choices}:
        form.manager.data = ""
    table = Table.from_request("audit", _columns(), default_sort="at", descending=True, tie_breaker=AuditLog.id,
                               manager=current_user)
    if wants_csv():
        return table.csv(filtered_query(form), "audit.csv", prepare=describe_audit_rows)
    page = table.page(filtered_query(form))
    describe_audit_rows(page.items)
    return render_template("admin/audit/list.html", form=form, t=table, page=page, changes=changes,
                           object_url=object_url, object_types=OBJECT_TYPES)

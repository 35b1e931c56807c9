"""API: reports (DESIGN §13) — GET /api/v1/reports/<name> answers the same
figures as the report screen, as JSON: the cleaned filters, the columns,
every row and the totals.  Money is a decimal string ("650.00"), dates
ISO 8601, months "YYYY-MM", percents decimal strings.  The token's role
needs "reports.view", and its groups limit the figures exactly as on the
screen (lanbill.staff.access)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import g, jsonify, request

from lanbill import reports
from lanbill.api import bp, require
from lanbill.api.common import ApiError
from lanbill.api.openapi import DATE, INT, MONEY, PATHS, SCHEMAS, TEXT, errors, obj, ok, operation, ref
from lanbill.errors import N_
from lanbill.money import money_str


def value_json(column, value):
    if value is None:
        return None
    if column.kind == "money":
        return money_str(value)
    if column.kind == "month":
        return value.strftime("%Y-%m")
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def filter_json(value):
    if isinstance(value, Decimal):
        return money_str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def report_json(report) -> dict:
    columns = report.columns
    return {
        "report": report.name,
        "filters": {k: filter_json(v) for k, v in report.filters.items()},
        "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in columns],
        "rows": [{c.key: value_json(c, row.get(c.key)) for c in columns} for row in report.rows],
        "totals": {c.key: value_json(c, report.totals[c.key]) for c in columns if c.key in report.totals},
    }


@bp.get("/reports/<name>")
def report_get(name):
    require("reports.view")
    if reports.get(name) is None:
        raise ApiError(404, N_("Not found."))
    return jsonify(report_json(reports.run_report(name, request.args, g.api_manager)))


# --- OpenAPI ------------------------------------------------------------------------

SCHEMAS.update({
    "ReportColumn": obj({"key": TEXT, "label": TEXT, "kind": {
        "type": "string", "enum": ["text", "int", "money", "percent", "date", "month", "state", "flag"]}},
        required=("key", "label", "kind")),
    "Report": obj({
        "report": TEXT,
        "filters": {"type": "object", "description": "The filters the figures are for, defaults filled in."},
        "columns": {"type": "array", "items": ref("ReportColumn")},
        "rows": {"type": "array", "items": {"type": "object", "description":
                 "One value per column key: money as a decimal string, dates ISO 8601, months YYYY-MM."}},
        "totals": {"type": "object", "description": "Totals by column key (a subscriber in several groups "
                                                    "is counted once)."},
    }, required=("report", "filters", "columns", "rows", "totals")),
})

_MONTH = {"type": "string", "pattern": r"^\d{4}-\d{2}$", "example": "2026-01"}
_QUERY = [
    ("from", {"oneOf": [DATE, _MONTH]}, "First day (payments, YYYY-MM-DD) or month (YYYY-MM) of the period."),
    ("to", {"oneOf": [DATE, _MONTH]}, "Last day or month of the period."),
    ("by", {"type": "string", "enum": ["none", "group", "tariff", "operator", "day", "system", "manager"]},
     "Breakdown; which ones a report offers is listed on its screen."),
    ("group", INT, "Only subscribers of this group (one the role may see)."),
    ("operator", INT, "Only agreements of this operator."),
    ("mode", {"type": "string", "enum": ["negative", "credit"]}, "debtors: a negative balance or below the "
                                                                  "credit limit."),
    ("days", INT, "debtors: in debt at least this many days."),
    ("amount", MONEY, "debtors: a debt of at least this amount."),
    ("threshold", INT, "arpu: mark a month-to-month change beyond this many per cent."),
    ("blocked_days", INT, "movement: blocked longer than this many days counts as long-blocked."),
    ("view", {"type": "string", "enum": ["months", "shadow"]}, "movement: per month, or the accounts of "
                                                               "shadow churn."),
    ("month", _MONTH, "tariffs: the month whose revenue is shown."),
]

PATHS.update({
    "/reports/{name}": {
        "parameters": [{"name": "name", "in": "path", "required": True,
                        "schema": {"type": "string", "enum": list(reports.REPORTS)}}],
        "get": operation(
            "A report's figures (the same as its screen)", permission="reports.view",
            parameters=[{"name": n, "in": "query", "schema": s, "description": d} for n, s, d in _QUERY],
            responses={**ok("Report"), **errors(403, 404, 422)}),
    },
})

"""Report screens (/admin/reports): an index and one screen per report of
lanbill.reports — filters in the URL (a GET form, so a report is a
bookmark), a sortable paged table with totals, an SVG chart, CSV and
XLSX downloads and a print view.  Everything shown or exported is what
the report returns for the current manager, so the group scope of
lanbill.staff.access applies to the screen, the totals and the files
alike.  Needs "reports.view"."""

from __future__ import annotations

import tempfile

from flask import Response, abort, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from lanbill import reports
from lanbill.admin import bp
from lanbill.admin.common import requires, translate_error
from lanbill.admin.report_charts import render_chart
from lanbill.admin.tables import DEFAULT_PER_PAGE, PER_PAGE_CHOICES, attachment_header, csv_response, parse_page
from lanbill.clock import today
from lanbill.errors import BillingError
from lanbill.money import format_money
from lanbill.reports.common import filter_choices, sort_rows

# Labels of the values a choice filter offers.
CHOICE_LABELS = {
    "none": _l("Total only"),
    "group": _l("By group"),
    "tariff": _l("By tariff"),
    "operator": _l("By operator"),
    "day": _l("By day"),
    "system": _l("By payment system"),
    "manager": _l("By manager"),
    "negative": _l("Negative balance"),
    "credit": _l("Below the credit limit"),
    "months": _l("Months"),
    "shadow": _l("Shadow churn accounts"),
}
STATE_NAMES = {
    "active": _l("Active"), "balance": _l("Blocked for balance"), "admin": _l("Blocked by staff"),
    "traffic": _l("Traffic limit"), "user": _l("Blocked by the subscriber"), "off": _l("Off"),
    "none": _l("No accounts"),
}
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK = 1 << 16


def report_or_404(name: str):
    module = reports.get(name)
    if module is None:
        abort(404)
    return module


def cell_text(column, value, report) -> str:
    """A cell as the screen and CSV show it."""
    if column.key == "name" and value is None:
        return _(report.none_label)
    if value is None:
        return ""
    if column.kind == "money":
        return format_money(value, "")
    if column.kind == "date":
        return value.strftime("%d.%m.%Y")
    if column.kind == "month":
        return value.strftime("%m.%Y")
    if column.kind == "percent":
        return f"{value}".replace(".", ",")
    if column.kind == "state":
        return str(STATE_NAMES.get(value, value))
    if column.kind == "flag":
        return "!" if value else ""
    return str(value)


def csv_value(column, value, report) -> str:
    """A CSV cell: money and percents as plain numbers a spreadsheet adds up."""
    if column.kind == "money" and value is not None:
        return f"{value:.2f}".replace(".", ",")
    if column.kind == "flag":
        return _("yes") if value else ""
    return cell_text(column, value, report)


def xlsx_value(column, value, report):
    """A typed XLSX cell value: numbers stay numbers, dates dates."""
    if column.key == "name" and value is None:
        return _(report.none_label)
    if value is None:
        return None
    if column.kind in ("money", "percent", "int"):
        return value
    if column.kind in ("date", "month"):
        return value
    if column.kind in ("state", "flag"):
        return cell_text(column, value, report)
    return str(value)


def _sorted(module, report):
    keys = {c.key for c in report.columns}
    sort = request.args.get("sort") or module.DEFAULT_SORT
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in keys:
        sort = module.DEFAULT_SORT
        descending, key = sort.startswith("-"), sort.lstrip("-")
        if key not in keys:
            key = report.columns[0].key
    return sort_rows(report.rows, key, descending), key, descending


def _url(name: str, **changes) -> str:
    args = request.args.to_dict(flat=True)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return url_for("admin.report_view", name=name, **args)


def _filter_fields(module, filters: dict, errors: dict) -> list[dict]:
    """What the filter form shows: each field's input type, value and choices."""
    fields = []
    for spec in module.FILTERS:
        value = filters.get(spec.name) if filters else None
        raw = request.args.get(spec.name, "")
        field = {"name": spec.name, "label": _(spec.label), "kind": spec.kind, "error": errors.get(spec.name)}
        if spec.kind in ("group", "operator", "tariff"):
            field["choices"] = [("", _("All"))] + [(str(i), n) for i, n in filter_choices(spec.kind, current_user)]
            field["value"] = raw if raw else ""
        elif spec.kind == "choice":
            field["choices"] = [(c, str(CHOICE_LABELS.get(c, c))) for c in spec.choices]
            field["value"] = raw or (value or "")
        elif spec.kind == "month":
            field["value"] = raw or (value.strftime("%Y-%m") if value else "")
        elif spec.kind == "date":
            field["value"] = raw or (value.isoformat() if value else "")
        else:
            field["value"] = raw or ("" if value in (None, 0) and spec.kind == "money" else (value or ""))
            field["low"], field["high"] = spec.low, spec.high
        fields.append(field)
    return fields


@bp.route("/reports")
@requires("reports.view")
def reports_index():
    items = [{"name": m.NAME, "title": _(m.TITLE), "description": _(m.DESCRIPTION)}
             for m in reports.REPORTS.values()]
    return render_template("admin/reports/index.html", items=items)


@bp.route("/reports/<name>")
@requires("reports.view")
def report_view(name):
    module = report_or_404(name)
    errors, report, status = {}, None, 200
    try:
        report = reports.run_report(name, request.args, current_user)
    except BillingError as exc:
        status = exc.status if exc.status != 404 else 422
        errors = {k: _(v) for k, v in (exc.fields or {}).items()}
        errors["_"] = translate_error(exc)
    output = request.args.get("format", "")
    if report is not None and output in ("csv", "xlsx"):
        rows, _key, _desc = _sorted(module, report)
        filename = f"{name}-{today().isoformat()}.{output}"
        if output == "csv":
            return csv_response(_csv_rows(report, rows), filename)
        return xlsx_response(report, rows, filename, _(module.TITLE))
    rows, sort_key, descending = ([], "", False) if report is None else _sorted(module, report)
    printing = output == "print"
    per_page = _per_page()
    page = parse_page(request.args.get("page"))
    shown = rows if printing else rows[(page - 1) * per_page: page * per_page]
    context = {
        "module": module, "name": name, "title": _(module.TITLE), "report": report, "errors": errors,
        "fields": _filter_fields(module, report.filters if report else {}, errors),
        "rows": shown, "row_count": len(rows), "page": page, "per_page": per_page,
        "has_next": not printing and page * per_page < len(rows), "sort_key": sort_key, "descending": descending,
        "chart": render_chart(report.chart) if report is not None and report.chart is not None else None,
        "cell": cell_text, "url": lambda **changes: _url(name, **changes), "printing": printing,
        "notes": [(_(n[0], **n[1]) if isinstance(n, tuple) else _(n)) for n in (report.notes if report else [])],
        "per_page_choices": PER_PAGE_CHOICES,
        # translated here: a label may hold "%", which the template's _() would read as a placeholder
        "labels": {c.key: _(c.label) for c in report.columns} if report is not None else {},
    }
    return render_template("admin/reports/report.html", **context), status


def _per_page() -> int:
    try:
        value = int(request.args.get("per_page", DEFAULT_PER_PAGE))
    except ValueError:
        return DEFAULT_PER_PAGE
    return value if value in PER_PAGE_CHOICES else DEFAULT_PER_PAGE


def _csv_rows(report, rows):
    yield [_(c.label) for c in report.columns]
    for row in rows:
        yield [csv_value(c, row.get(c.key), report) for c in report.columns]
    yield [_("Total")] + [csv_value(c, report.totals.get(c.key), report) if c.key in report.totals else ""
                          for c in report.columns[1:]]


def xlsx_response(report, rows, filename: str, title: str) -> Response:
    """The report as an XLSX workbook: openpyxl's write-only mode (rows go
    to disk as they are added, memory stays flat), then the file is sent
    in chunks."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    formats = {"money": "#,##0.00", "percent": "0.0", "date": "DD.MM.YYYY", "month": "MM.YYYY", "int": "0"}

    def cells(values):
        out = []
        for column, value in zip(report.columns, values, strict=True):
            cell = WriteOnlyCell(sheet, value=value)
            if column.kind in formats and value is not None and not isinstance(value, str):
                cell.number_format = formats[column.kind]
            out.append(cell)
        return out

    sheet.append([_(c.label) for c in report.columns])
    for row in rows:
        sheet.append(cells([xlsx_value(c, row.get(c.key), report) for c in report.columns]))
    totals = [_("Total")] + [xlsx_value(c, report.totals.get(c.key), report) if c.key in report.totals else None
                             for c in report.columns[1:]]
    sheet.append(cells(totals))
    handle = tempfile.TemporaryFile()
    workbook.save(handle)
    handle.seek(0)

    def generate():
        with handle:
            while True:
                chunk = handle.read(CHUNK)
                if not chunk:
                    break
                yield chunk

    response = Response(stream_with_context(generate()), mimetype=XLSX_MIME)
    response.headers["Content-Disposition"] = attachment_header(filename)
    return response


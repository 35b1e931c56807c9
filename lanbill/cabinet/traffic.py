"""Traffic statistics in the cabinet (seed 002 «Статистика о трафике»,
Рис. 8–9): every own account's totals for a period, then one account by
day, hour, category or remote address (an address drills down to its
ports), with in/out/total, cost and a CSV file."""

from __future__ import annotations

import csv
import io

from flask import Response, abort, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from lanbill.cabinet import bp
from lanbill.cabinet.common import cabinet_required, me, own_or_404, render_page, translate_error
from lanbill.customers import cabinet
from lanbill.errors import BillingError
from lanbill.network import traffic_stats

GROUP_TEXT = {"day": _l("By days"), "hour": _l("By hours"), "category": _l("By categories"),
              "address": _l("By addresses")}
MB = 1024 * 1024


def megabytes(value: int) -> str:
    """Bytes as megabytes with two decimals and a comma (1 MB = 1,048,576
    bytes, DESIGN §6)."""
    return f"{value / MB:,.2f}".replace(",", " ").replace(".", ",")


@bp.app_template_filter("megabytes")
def _megabytes_filter(value):
    return megabytes(int(value or 0))


@bp.route("/traffic")
@cabinet_required
def traffic_summary():
    """Every own account's traffic and cost for the period."""
    error = ""
    try:
        first, last = cabinet.parse_period(request.args.get("from"), request.args.get("to"))
    except BillingError as exc:
        error = translate_error(exc)
        first, last = cabinet.parse_period(None, None)
    rows = []
    for account in cabinet.own_accounts(me()):
        total = traffic_stats.totals(traffic_stats.account_traffic(account, first, last, "category"))
        rows.append((account, total))
    return render_page("cabinet/traffic.html", rows=rows, first=first, last=last, error=error)


@bp.route("/traffic/<int:account_id>")
@cabinet_required
def traffic_account(account_id):
    """One account by day, hour, category or address; ?format=csv for a file."""
    own_or_404(cabinet.own_account, account_id)
    group = request.args.get("group", "day")
    if group not in ("day", "hour", "category", "address", "port"):
        abort(404)
    remote = request.args.get("remote") or None
    if group == "port" and not remote:
        abort(404)
    error = ""
    try:
        account, first, last, rows, total = cabinet.traffic(me(), account_id, request.args.get("from"),
                                                            request.args.get("to"), group, remote)
    except BillingError as exc:
        error = translate_error(exc)
        account, first, last, rows, total = cabinet.traffic(me(), account_id, None, None, group, remote)
    if request.args.get("format") == "csv" and not error:
        return _csv(account, group, first, last, rows, total)
    return render_page("cabinet/traffic_account.html", account=account, group=group, remote=remote, first=first,
                 last=last, rows=rows, total=total, error=error, groups=GROUP_TEXT)


def _csv(account, group, first, last, rows, total) -> Response:
    """The statistics as a CSV file for a spreadsheet (seed 002): `;`
    separated, decimal commas, UTF-8 with a BOM so that Excel reads the
    Cyrillic."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    first_column = {"day": _("Day"), "hour": _("Hour"), "category": _("Category"), "address": _("Address"),
                    "port": _("Port")}[group]
    writer.writerow([first_column, _("Incoming, MB"), _("Outgoing, MB"), _("Total, MB"), _("Cost")])
    for row in rows:
        label = {"day": row.period, "hour": row.period, "category": row.category or _("Other"),
                 "address": row.remote, "port": row.port}[group]
        writer.writerow([_plain(label), megabytes(row.bytes_in), megabytes(row.bytes_out), megabytes(row.total),
                         str(row.cost).replace(".", ",")])
    writer.writerow([_("Total"), megabytes(total.bytes_in), megabytes(total.bytes_out), megabytes(total.total),
                     str(total.cost).replace(".", ",")])
    name = f"traffic-{account.login}-{first.isoformat()}-{last.isoformat()}.csv"
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _plain(value) -> str:
    """A cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text

"""Admin: an account's traffic statistics (by day, hour, category, remote
address and port, with CSV export and a chart of daily traffic) and the
NetFlow collector's status per exporter."""

from __future__ import annotations

import datetime as dt

from flask import Response, render_template, request
from flask_babel import gettext as _

from lanbill.admin import bp
from lanbill.admin.common import requires, translate_error, visible_account
from lanbill.admin.tables import csv_response
from lanbill.errors import BillingError
from lanbill.models import Agent
from lanbill.models.traffic import NetflowAgentStatus, NetflowStatus
from lanbill.network import traffic_stats

MB = 1_048_576
CHART_WIDTH, CHART_HEIGHT = 720, 200


@bp.app_template_filter("traffic_mb")
def traffic_mb(value) -> str:
    """Bytes as megabytes with two decimals, Russian grouping: 1 234,56."""
    whole, frac = f"{(value or 0) / MB:,.2f}".split(".")
    return whole.replace(",", "\u00a0") + "," + frac


def _date(name):
    raw = request.args.get(name) or ""
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def daily_chart(series) -> dict:
    """Bars of incoming and outgoing traffic per day, as SVG geometry."""
    peak = max((i + o for _, i, o in series), default=0) or 1
    step = CHART_WIDTH / max(len(series), 1)
    bars = []
    for n, (day, bytes_in, bytes_out) in enumerate(series):
        h_in = round(bytes_in / peak * (CHART_HEIGHT - 20), 1)
        h_out = round(bytes_out / peak * (CHART_HEIGHT - 20), 1)
        bars.append({"x": round(n * step + 1, 1), "w": round(max(step - 2, 1), 1), "h_in": h_in, "h_out": h_out,
                     "y_in": round(CHART_HEIGHT - h_in, 1), "y_out": round(CHART_HEIGHT - h_in - h_out, 1),
                     "day": day, "bytes_in": bytes_in, "bytes_out": bytes_out})
    return {"bars": bars, "width": CHART_WIDTH, "height": CHART_HEIGHT, "peak": peak}


@bp.route("/accounts/<int:account_id>/traffic")
@requires("subscribers.view")
def account_traffic(account_id):
    account = visible_account(account_id)
    group = request.args.get("group") or "day"
    if group not in traffic_stats.GROUPS:
        group = "day"
    remote = request.args.get("remote") or None
    error = None
    try:
        first, last = traffic_stats.check_range(_date("from"), _date("to"))
        rows = traffic_stats.account_traffic(account, first, last, group, remote)
    except BillingError as exc:
        error = translate_error(exc)
        first, last = traffic_stats.check_range(None, None)
        rows = traffic_stats.account_traffic(account, first, last, group, remote)
    if request.args.get("format") == "csv":
        return _csv(account, rows, group, first, last)
    chart = daily_chart(traffic_stats.daily_series(account, first, last))
    return render_template("admin/traffic/account.html", account=account, rows=rows,
                           total=traffic_stats.totals(rows), group=group, remote=remote, first=first, last=last,
                           chart=chart, error=error, groups=traffic_stats.GROUPS)


def _csv(account, rows, group, first, last) -> Response:
    header = [_("Period"), _("Category"), _("Remote address"), _("Port"), _("Incoming, bytes"),
              _("Outgoing, bytes"), _("Total, bytes"), _("Cost")]
    body = ([r.period, r.category or "", r.remote or "", r.port if r.port is not None else "",
             r.bytes_in, r.bytes_out, r.total, f"{r.cost:.2f}".replace(".", ",")] for r in rows)
    return csv_response([header, *body], f"traffic-{account.login}-{first}-{last}-{group}.csv")


@bp.route("/netflow")
@requires("settings.edit")
def netflow_status():
    agents = list(Agent.select().where(Agent.type == "netflow").order_by(Agent.id))
    rows = list(NetflowStatus.select().order_by(NetflowStatus.agent_id, NetflowStatus.exporter))
    by_agent = {a.id: [r for r in rows if r.agent_id == a.id] for a in agents}
    agent_rows = {row.agent_id: row for row in NetflowAgentStatus.select()}
    return render_template("admin/traffic/netflow.html", agents=agents, by_agent=by_agent, agent_rows=agent_rows)

"""Admin: an account's traffic statistics (by day, hour, category, remote
address and port, with CSV export and a chart of daily traffic) and the
NetFlow collector's status per exporter."""

from __future__ import annotations

import datetime as dt
import math

from flask import Response, render_template, request
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

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


# Chart geometry (SVG units): the plot sits right of the value labels and
# above the day labels.
PLOT_LEFT, PLOT_TOP, PLOT_BOTTOM = 64, 18, 30
GB = 1024 * MB
UNITS = {"MB": (MB, _l("MB")), "GB": (GB, _l("GB"))}
MAX_DAY_LABELS = 10


def _nice_step(peak: float, ticks: int = 4) -> float:
    """A round step (1, 2, 2.5 or 5 × 10ⁿ) that splits 0…peak into about
    `ticks` parts."""
    raw = peak / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def daily_chart(series) -> dict:
    """Bars of incoming and outgoing traffic per day, as SVG geometry, with
    a value axis in MB or GB (GB once the busiest day passes 1 GB; the unit
    translated) at round steps, and day labels (every day up to ten days,
    else every n-th day so that at most ten are shown)."""
    peak_bytes = max((i + o for _, i, o in series), default=0)
    unit = "GB" if peak_bytes >= GB else "MB"
    divisor, unit_label = UNITS[unit]
    peak = peak_bytes / divisor
    step = _nice_step(peak) if peak > 0 else 1
    top = step * max(1, math.ceil(peak / step - 1e-9))
    plot_w, plot_h = CHART_WIDTH - PLOT_LEFT - 8, CHART_HEIGHT - PLOT_TOP - PLOT_BOTTOM
    bottom = PLOT_TOP + plot_h
    scale = plot_h / (top * divisor)
    slot = plot_w / max(len(series), 1)
    bars = []
    for n, (day, bytes_in, bytes_out) in enumerate(series):
        h_in, h_out = round(bytes_in * scale, 1), round(bytes_out * scale, 1)
        bars.append({"x": round(PLOT_LEFT + n * slot + 1, 1), "w": round(max(slot - 2, 1), 1), "h_in": h_in,
                     "h_out": h_out, "y_in": round(bottom - h_in, 1), "y_out": round(bottom - h_in - h_out, 1),
                     "day": day, "bytes_in": bytes_in, "bytes_out": bytes_out})
    y_ticks = []
    count = round(top / step)
    for k in range(count + 1):
        value = step * k
        y_ticks.append({"y": round(bottom - plot_h * k / count, 1),
                        "label": format_decimal(round(value, 2), format="#,##0.##")})
    every = max(1, math.ceil(len(series) / MAX_DAY_LABELS))
    x_ticks = [{"x": round(PLOT_LEFT + n * slot + slot / 2, 1), "label": day.strftime("%d.%m")}
               for n, (day, _i, _o) in enumerate(series) if n % every == 0]
    return {"bars": bars, "width": CHART_WIDTH, "height": CHART_HEIGHT, "peak": peak_bytes, "unit": unit_label,
            "divisor": divisor, "left": PLOT_LEFT, "top": PLOT_TOP, "bottom": bottom, "right": PLOT_LEFT + plot_w,
            "y_ticks": y_ticks, "x_ticks": x_ticks}


def in_unit(value, divisor) -> str:
    """Bytes in the chart's unit, two decimals, in the UI language's format."""
    return format_decimal((value or 0) / divisor, format="#,##0.00")


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
    return render_template("admin/traffic/account.html", account=account, rows=rows, in_unit=in_unit,
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

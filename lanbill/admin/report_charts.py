"""Server-rendered SVG charts for the report screens: bars (one or more
series side by side per category) or a line, with a y axis of round
steps labelled in the chart's unit, category labels along x (thinned to
fit), a legend and marked points.  No script: the Content-Security-Policy
allows none inline, and a chart that is only an image prints and scales
on a phone as it is."""

from __future__ import annotations

import math
from decimal import Decimal

from flask_babel import gettext as _
from markupsafe import Markup, escape

from lanbill.money import format_money

WIDTH, HEIGHT = 960, 300
LEFT, RIGHT, TOP, BOTTOM = 84, 12, 24, 58
COLORS = {"payment": "#067647", "charge": "#b42318", "arpu": "#1d4ed8", "neutral": "#98a2b3"}
PALETTE = ("#1d4ed8", "#067647", "#b42318", "#98a2b3")
MAX_X_LABELS = 12


def nice_step(span: float) -> float:
    """A round step (1, 2, 2.5 or 5 × 10^n) giving about four grid lines."""
    if span <= 0:
        return 1.0
    raw = span / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if magnitude * factor >= raw:
            return magnitude * factor
    return magnitude * 10


def _amount_label(value: float, unit: str) -> str:
    if unit == "₽":
        return format_money(Decimal(str(round(value))), "")[:-3]
    return f"{value:g}"


def render_chart(chart, *, chart_id: str = "report-chart") -> Markup:
    """The SVG of a lanbill.reports.common.Chart; labels translated here."""
    values = [float(v or 0) for s in chart.series for v in s.values]
    count = len(chart.x)
    if not count or not values:
        return Markup("")
    low, high = min(0.0, *values), max(0.0, *values)
    step = nice_step(high - low)
    if not chart.unit:
        step = max(step, 1.0)  # counts: whole steps
    low = step * math.floor(low / step)
    high = step * math.ceil(high / step)
    if high <= low:
        high = low + step
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y_of(value: float) -> float:
        return TOP + plot_h - (value - low) * plot_h / (high - low)

    title = _(chart.title) if chart.title else ""
    parts = [f'<svg class="chart report-chart" id="{chart_id}" data-kind="{chart.kind}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" preserveAspectRatio="xMidYMid meet" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    # y axis: grid lines at round steps, labelled in the unit
    tick = low
    while tick <= high + step / 1000:
        y = y_of(tick)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="{"#667085" if tick == 0 else "#d0d5dd"}" stroke-width="1"/>')
        parts.append(f'<text class="y-label" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12" '
                     f'fill="#475467">{escape(_amount_label(tick, chart.unit))}</text>')
        tick += step
    unit = chart.unit or _("subscribers")
    parts.append(f'<text class="unit" x="{LEFT - 6}" y="{TOP - 8}" text-anchor="end" font-size="12" '
                 f'fill="#475467">{escape(unit)}</text>')
    parts.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}" stroke="#667085"/>')
    slot = plot_w / count
    every = max(1, -(-count // MAX_X_LABELS))
    for i, label in enumerate(chart.x):
        if i % every == 0 or i == count - 1:
            text = str(label)
            if len(text) > 14:
                text = text[:13] + "…"
            parts.append(f'<text class="x-label" x="{LEFT + slot * (i + 0.5):.1f}" y="{TOP + plot_h + 16}" '
                         f'text-anchor="middle" font-size="12" fill="#475467">{escape(text)}</text>')
    zero = y_of(0.0)
    if chart.kind == "line":
        for n, series in enumerate(chart.series):
            color = COLORS.get(series.css, PALETTE[n % len(PALETTE)])
            points = [(LEFT + slot * (i + 0.5), y_of(float(v or 0))) for i, v in enumerate(series.values)]
            parts.append('<polyline class="series" fill="none" stroke="{}" stroke-width="2" points="{}"/>'.format(
                color, " ".join(f"{x:.1f},{y:.1f}" for x, y in points)))
            for i, (x, y) in enumerate(points):
                marked = i in chart.marks
                label = f"{chart.x[i]}: {_amount_label(float(series.values[i] or 0), chart.unit)} {chart.unit}"
                parts.append(f'<circle class="point{" marked" if marked else ""}" cx="{x:.1f}" cy="{y:.1f}" '
                             f'r="{6 if marked else 3}" fill="{"#b42318" if marked else color}">'
                             f'<title>{escape(label)}</title></circle>')
    else:
        width = slot * 0.8 / max(len(chart.series), 1)
        for n, series in enumerate(chart.series):
            color = COLORS.get(series.css, PALETTE[n % len(PALETTE)])
            for i, value in enumerate(series.values):
                value = float(value or 0)
                if value == 0:
                    continue
                y = y_of(value)
                top, height = min(y, zero), max(abs(zero - y), 0.5)
                x = LEFT + slot * i + slot * 0.1 + width * n
                label = f"{chart.x[i]}: {_amount_label(value, chart.unit)} {chart.unit}".strip()
                parts.append(f'<rect class="bar {escape(series.css)}" x="{x:.1f}" y="{top:.1f}" '
                             f'width="{max(width - 1, 1):.1f}" height="{height:.1f}" fill="{color}">'
                             f'<title>{escape(label)}</title></rect>')
    legend_x = LEFT
    for n, series in enumerate(chart.series):
        color = COLORS.get(series.css, PALETTE[n % len(PALETTE)])
        name = _(series.label)
        parts.append(f'<rect x="{legend_x}" y="{HEIGHT - 17}" width="11" height="11" fill="{color}"/>'
                     f'<text class="legend" x="{legend_x + 15}" y="{HEIGHT - 7}" font-size="13">{escape(name)}</text>')
        legend_x += 30 + 8 * len(name)
    if chart.marks:
        parts.append(f'<circle cx="{legend_x + 5}" cy="{HEIGHT - 12}" r="5" fill="#b42318"/>'
                     f'<text class="legend" x="{legend_x + 15}" y="{HEIGHT - 7}" font-size="13">'
                     f'{escape(_("Deviates beyond the threshold"))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))

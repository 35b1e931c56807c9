"""The account's daily traffic chart has axes: a value axis at round steps
in МБ or ГБ (the unit translated, decimal comma in Russian), a label under
the days (every day for a short period, every n-th for a long one) and
bars that grow with the traffic."""

from __future__ import annotations

import datetime as dt
import re

from lanbill.admin.traffic import daily_chart
from lanbill.models import TrafficHourly
from tests.factories import make_account

MB = 1_048_576
GB = 1024 * MB


def _traffic(account, day: dt.date, bytes_in: int, bytes_out: int = 0) -> None:
    TrafficHourly.create(account_id=account.id, category_id=None, hour=dt.datetime.combine(day, dt.time(9)),
                         bytes_in=bytes_in, bytes_out=bytes_out)


def _chart(client, account, first, last):
    html = client.get(f"/admin/accounts/{account.id}/traffic?from={first}&to={last}").get_data(as_text=True)
    return html[html.index('id="traffic-chart"'):html.index("</figure>")]


def test_axes_in_gigabytes_with_day_labels(client, admin, login_as):
    account = make_account()
    _traffic(account, dt.date(2026, 11, 3), 3 * GB, GB // 2)
    _traffic(account, dt.date(2026, 11, 5), GB)
    login_as()
    chart = _chart(client, account, "2026-11-01", "2026-11-07")
    assert '<text class="unit"' in chart and ">ГБ</text>" in chart
    ticks = re.findall(r'<text class="tick"[^>]*>([^<]+)</text>', chart)
    assert ticks[0] == "0" and len(ticks) >= 3
    assert all("." not in t for t in ticks)  # decimal comma in Russian
    assert re.findall(r'<text class="day"[^>]*>([^<]+)</text>', chart) == [
        "01.11", "02.11", "03.11", "04.11", "05.11", "06.11", "07.11"]
    assert "3,50 ГБ" in chart  # the peak, in the caption
    heights = [float(h) for h in re.findall(r'class="in"[^>]*height="([\d.]+)"', chart)]
    assert heights[2] > heights[4] > 0 == heights[0]


def test_small_traffic_in_megabytes_and_long_periods_label_every_nth_day(client, admin, login_as):
    account = make_account()
    _traffic(account, dt.date(2026, 10, 10), 250 * MB)
    login_as()
    chart = _chart(client, account, "2026-10-01", "2026-10-31")
    assert ">МБ</text>" in chart
    days = re.findall(r'<text class="day"[^>]*>([^<]+)</text>', chart)
    assert days[0] == "01.10" and 4 <= len(days) <= 10


def test_round_steps_cover_the_peak(app):
    day = dt.date(2026, 1, 1)
    with app.test_request_context("/admin/"):
        chart = daily_chart([(day, 730 * MB, 0)])
        empty = daily_chart([(day, 0, 0)])
    values = [float(t["label"].replace(",", ".").replace("\u00a0", "")) for t in chart["y_ticks"]]
    assert values[-1] >= 730 and values[1] in (100, 200, 250, 500)
    assert empty["bars"][0]["h_in"] == 0 and empty["y_ticks"][0]["label"] == "0"

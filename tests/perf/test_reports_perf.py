"""Report screens benchmark (`pytest tests/perf/test_reports_perf.py
--run-perf -s`): the demo (LANBILL_PERF_SUBSCRIBERS, default 100,000
subscribers with a year of rent and payments) on SQLite served by
gunicorn; every report screen for one month and for a year, a few
requests each, p95 against the bounds (1 s for a month, 3 s for a year),
and the XLSX export of the debtors list (10 s).

The demo is built once into the perf cache (tests/perf/conftest.py), or
taken from LANBILL_PERF_INSTANCE (an instance folder with a demo built
before), and copied, so the admin password set here never touches the
source; pending migrations are applied to the copy.  Figures
depend on the machine and on what else runs on its cores: the test
prints them and asserts the bounds.
"""

from __future__ import annotations

import html
import http.cookiejar
import io
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import openpyxl
import pytest

from tests.perf.conftest import ROOT, Gunicorn, copy_instance, demo_instance, flask_cli, report, sqlite_env

SUBSCRIBERS = int(os.environ.get("LANBILL_PERF_SUBSCRIBERS", "100000"))
REPEAT = int(os.environ.get("LANBILL_PERF_REPEAT", "5"))
PASSWORD = "Bench-pass-1"
MONTH_BOUND, YEAR_BOUND, XLSX_BOUND = 1.0, 3.0, 10.0
TIMEZONE = "Europe/Moscow"


@pytest.fixture(scope="module")
def instance():
    given = os.environ.get("LANBILL_PERF_INSTANCE")
    if given:
        source = Path(given)
    else:
        source, seconds = demo_instance(SUBSCRIBERS)
        if seconds is not None:
            report("demo generation", subscribers=SUBSCRIBERS, seconds=round(seconds, 1))
    folder = copy_instance(source, Path(tempfile.mkdtemp(prefix="lanbill-reports-perf-")))
    flask_cli(folder, "db", "upgrade")
    # a demo built before the aggregates existed gets them now (`flask demo` builds them itself)
    # in the server's time zone: aggregates of another zone are not read
    started = time.perf_counter()
    output = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "reports", "rebuild"], cwd=ROOT,
                            env=sqlite_env(folder, LANBILL_TIMEZONE=TIMEZONE), capture_output=True, text=True,
                            timeout=1800, check=True).stdout
    report("report totals rebuild", seconds=round(time.perf_counter() - started, 1), output=output.strip())
    from lanbill.staff.managers import hash_password

    db = sqlite3.connect(folder / "lanbill.db")
    db.execute("UPDATE manager SET password_hash = ?, one_time_password_hash = '', failed_logins = 0 "
               "WHERE login = 'admin'", (hash_password(PASSWORD),))
    db.commit()
    db.close()
    yield folder
    for item in folder.iterdir():
        item.unlink()
    folder.rmdir()


@pytest.fixture(scope="module")
def gunicorn(instance):
    with Gunicorn(instance, workers=2, threads=4, LANBILL_TIMEZONE=TIMEZONE) as web:
        yield web


@pytest.fixture(scope="module")
def server(gunicorn):
    return gunicorn.url


@pytest.fixture(scope="module")
def opener(server):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(server + "/login").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    data = {"login": "admin", "password": PASSWORD}
    if token:
        data["csrf_token"] = html.unescape(token.group(1))
    opener.open(server + "/login", urllib.parse.urlencode(data).encode()).read()
    assert 'id="report-list"' in opener.open(server + "/admin/reports").read().decode()
    return opener


def _timed(opener, url: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    body = opener.open(url, timeout=120).read()
    return time.perf_counter() - started, body


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)


def _screens(month: str, year_from: str, day_from: str, year_day_from: str, today: str) -> dict[str, tuple]:
    """name → (month URL, year URL) of every report screen."""
    return {
        "payments by day": (f"payments?from={day_from}&to={today}", f"payments?from={year_day_from}&to={today}"),
        "payments by system": (f"payments?from={day_from}&to={today}&by=system",
                               f"payments?from={year_day_from}&to={today}&by=system"),
        "payments by group": (f"payments?from={day_from}&to={today}&by=group",
                              f"payments?from={year_day_from}&to={today}&by=group"),
        "debtors": ("debtors", "debtors?days=30"),
        "charges-vs-payments": (f"charges-vs-payments?from={month}&to={month}",
                                f"charges-vs-payments?from={year_from}&to={month}"),
        "charges-vs-payments by group": (f"charges-vs-payments?from={month}&to={month}&by=group",
                                         f"charges-vs-payments?from={year_from}&to={month}&by=group"),
        "charges-vs-payments by tariff": (f"charges-vs-payments?from={month}&to={month}&by=tariff",
                                          f"charges-vs-payments?from={year_from}&to={month}&by=tariff"),
        "arpu": (f"arpu?from={month}&to={month}", f"arpu?from={year_from}&to={month}"),
        "arpu by tariff": (f"arpu?from={month}&to={month}&by=tariff", f"arpu?from={year_from}&to={month}&by=tariff"),
        "movement": (f"movement?from={month}&to={month}", f"movement?from={year_from}&to={month}"),
        "tariffs": (f"tariffs?month={month}", f"tariffs?month={year_from}"),
    }


def test_report_screens_month_and_year_and_debtors_xlsx(instance, gunicorn, server, opener):
    import datetime as dt

    today = dt.date.today()
    month = today.strftime("%Y-%m")
    first = today.replace(day=1)
    year_first = (first.replace(year=first.year - 1) if first.month == 12 else
                  first.replace(year=first.year - 1, month=first.month + 1))
    screens = _screens(month, year_first.strftime("%Y-%m"), first.isoformat(), year_first.isoformat(),
                       today.isoformat())
    base = server + "/admin/reports/"
    for month_url, _year_url in screens.values():  # warm both workers
        _timed(opener, base + month_url)
    results = {}
    for name, (month_url, year_url) in screens.items():
        for span, url, bound in (("month", month_url, MONTH_BOUND), ("year", year_url, YEAR_BOUND)):
            times = []
            cpu = gunicorn.cpu_seconds()
            for _ in range(REPEAT):
                seconds, body = _timed(opener, base + url)
                assert b'id="report-table"' in body, url
                times.append(seconds)
            results[f"{name} ({span})"] = (times, bound, (gunicorn.cpu_seconds() - cpu) / REPEAT)
    cpu = gunicorn.cpu_seconds()
    seconds, body = _timed(opener, base + "debtors?format=xlsx")
    xlsx_cpu = gunicorn.cpu_seconds() - cpu
    rows = sum(1 for _ in openpyxl.load_workbook(io.BytesIO(body), read_only=True).active.iter_rows())
    print(f"\nreport screens, {SUBSCRIBERS} subscribers, SQLite, gunicorn 2 workers x 4 threads, "
          f"{REPEAT} requests each")
    print(f"load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    print(f"{'screen':44} {'median ms':>10} {'p95 ms':>8} {'CPU ms':>8} {'bound ms':>9}")
    for key, (times, bound, cpu) in results.items():
        print(f"{key:44} {statistics.median(times) * 1000:>10.0f} {_p95(times) * 1000:>8.0f} {cpu * 1000:>8.0f} "
              f"{bound * 1000:>9.0f}")
    print(f"{'debtors XLSX (' + str(rows - 2) + ' rows)':44} {seconds * 1000:>10.0f} {'':>8} {xlsx_cpu * 1000:>8.0f} "
          f"{XLSX_BOUND * 1000:>9.0f}")
    slow = {k: round(_p95(t) * 1000) for k, (t, bound, _cpu) in results.items() if _p95(t) >= bound}
    assert seconds < XLSX_BOUND, f"debtors XLSX took {seconds:.1f} s"
    assert not slow, f"p95 over the bound (ms): {slow}"

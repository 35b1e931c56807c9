"""Operations benchmarks (DESIGN §14), SQLite, the 100,000-subscriber demo:

- `flask backup` while gunicorn serves payments: under 30 s, beside
  `sqlite3 .backup` of the same database (the ratio is printed);
- `flask restore` into an empty instance + `flask backup verify`: under 90 s;
- `flask import subscribers` of 100,000 subscribers with agreements,
  accounts, IPs and opening balances: under 3 minutes (the bulk path;
  LANBILL_PERF_IMPORT_ROWS changes N for a quicker look, the bound then
  scales with it).

The 100,000-subscriber demo of this code's schema is taken from the cache
(tests/perf/conftest.py), generated there the first time.
Run with `pytest tests/perf/test_ops_perf.py --run-perf -s`.
"""

from __future__ import annotations

import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import Gunicorn, HttpClient, api_token, copy_instance, demo_instance, flask_cli, report

pytestmark = pytest.mark.perf

BACKUP_SECONDS = 30
RESTORE_VERIFY_SECONDS = 90
IMPORT_ROWS = int(os.environ.get("LANBILL_PERF_IMPORT_ROWS", "100000"))
IMPORT_SECONDS_PER_100K = 180


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _load() -> str:
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    # the demo of this code's schema (generated once into the cache): an older cached one
    # would need `db upgrade`, and upgrading a 100k database is not what is measured here
    source = demo_instance(100_000)[0]
    instance = copy_instance(source, tmp_path_factory.mktemp("ops-bench"))
    flask_cli(instance, "db", "upgrade")
    return instance


def test_backup_while_serving_then_restore_and_verify(demo, tmp_path):
    token = api_token(demo)
    with sqlite3.connect(demo / "lanbill.db") as db:
        low, high = db.execute("SELECT MIN(id), MAX(id) FROM agreement").fetchone()
    stop = threading.Event()
    booked = []

    with Gunicorn(demo, workers=2, threads=4) as web:
        def pay(client_index):
            client = HttpClient(web.url)
            rng = random.Random(client_index)
            n = 0
            while not stop.is_set():
                status, _ = client.request("POST", "/api/v1/payments", {
                    "agreement_id": rng.randint(low, high), "amount": "10.00",
                    "document_number": f"ops-{client_index}-{n}"},
                    {"Authorization": f"Bearer {token}", "Accept-Language": "en"})
                booked.append(status)
                n += 1

        threads = [threading.Thread(target=pay, args=(i,), daemon=True) for i in range(2)]
        for thread in threads:
            thread.start()
        time.sleep(1)  # payments are flowing
        started, cpu = time.perf_counter(), _children_cpu()
        output = flask_cli(demo, "backup", "--to", str(tmp_path / "out"), timeout=600)
        backup_seconds = time.perf_counter() - started
        backup_cpu = _children_cpu() - cpu
        during = len(booked)
        stop.set()
        for thread in threads:
            thread.join(30)
    archive = next((tmp_path / "out").glob("lanbill-*.tar"))

    started = time.perf_counter()
    subprocess.run(["sqlite3", str(demo / "lanbill.db"), f".backup {tmp_path / 'cli.db'}"], check=True, timeout=600)
    cli_seconds = time.perf_counter() - started

    target = tmp_path / "restored"
    target.mkdir()
    started, cpu = time.perf_counter(), _children_cpu()
    restored = flask_cli(target, "restore", str(archive), timeout=600)
    restore_seconds = time.perf_counter() - started
    verified = flask_cli(target, "backup", "verify", str(archive), timeout=600)
    restore_verify_seconds = time.perf_counter() - started
    restore_verify_cpu = _children_cpu() - cpu

    report("flask backup of the 100k demo while gunicorn books payments (SQLite)",
           backup_seconds=f"{backup_seconds:.1f}", backup_cpu_seconds=f"{backup_cpu:.1f}",
           sqlite3_cli_backup_seconds=f"{cli_seconds:.1f}",
           ratio=f"{backup_seconds / cli_seconds:.1f}× sqlite3 .backup (which does not checksum or count rows)",
           database_mb=f"{(demo / 'lanbill.db').stat().st_size / 1e6:.0f}",
           archive_mb=f"{archive.stat().st_size / 1e6:.0f}",
           payments_booked_meanwhile=during, non_201=sum(1 for s in booked if s != 201),
           output=output.strip(), load_average=_load())
    report("flask restore + flask backup verify (SQLite, 100k demo)",
           restore_seconds=f"{restore_seconds:.1f}", restore_and_verify_seconds=f"{restore_verify_seconds:.1f}",
           restore_and_verify_cpu_seconds=f"{restore_verify_cpu:.1f}",
           verify=verified.strip(), restore=restored.strip().splitlines()[0], load_average=_load())
    assert "ok:" in verified
    assert backup_seconds < BACKUP_SECONDS
    assert restore_verify_seconds < RESTORE_VERIFY_SECONDS


def test_import_subscribers_with_accounts(tmp_path):
    instance = tmp_path / "import"
    instance.mkdir()
    flask_cli(instance, "init")
    setup = ("from lanbill import create_app\n"
             "from lanbill.billing.tariffs import create_tariff\n"
             "from lanbill.network.agents import create_agent\n"
             "with create_app().app_context():\n"
             "    create_tariff({'name': 'Базовый', 'scheme': 'dynamic', 'rent': '500.00', 'rent_blocked': '0'},"
             " actor=None)\n"
             "    create_agent({'name': 'bras', 'type': 'radius', 'options': {}}, actor=None)\n")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "HUEY_URL")}
    env["LANBILL_INSTANCE"] = str(instance)
    subprocess.run([sys.executable, "-c", setup], check=True,
                   env=env, cwd=Path(__file__).resolve().parents[2], timeout=300)
    source = tmp_path / "users.csv"
    with open(source, "w", encoding="utf-8") as out:
        out.write("login;password;name;contract;ip;tariff;balance\n")
        for i in range(IMPORT_ROWS):
            out.write(f"u{i};pw-{i:06d};Абонент {i};IMP-{i};10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255};"
                      f"Базовый;{i % 1000}.50\n")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"columns": {
        "account.login": "login", "account.password": "password", "subscriber.name": "name",
        "agreement.number": "contract", "account.ips": "ip", "account.tariff": "tariff",
        "opening_balance": "balance"}}))
    started, cpu = time.perf_counter(), _children_cpu()
    output = flask_cli(instance, "import", "subscribers", str(source), "--mapping", str(mapping), timeout=3600)
    seconds = time.perf_counter() - started
    cpu_seconds = _children_cpu() - cpu
    rate = IMPORT_ROWS / seconds
    report(f"flask import subscribers: {IMPORT_ROWS} subscribers with agreements, accounts, IPs and balances",
           seconds=f"{seconds:.1f}", cpu_seconds=f"{cpu_seconds:.1f}", rows_per_second=f"{rate:.0f}",
           extrapolated_100k_minutes=f"{100_000 / rate / 60:.0f}",
           extrapolated_100k_cpu_minutes=f"{100_000 * cpu_seconds / IMPORT_ROWS / 60:.0f}",
           output=output.strip().splitlines()[-1],
           load_average=_load())
    assert f"created {IMPORT_ROWS} subscribers" in output
    assert seconds < IMPORT_SECONDS_PER_100K * max(IMPORT_ROWS, 10_000) / 100_000

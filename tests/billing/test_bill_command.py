"""`flask --app app bill`: the command, idempotence, and kill -9 then rerun
leaving the ledger exactly as one clean run (DESIGN §4, §6)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from lanbill.clock import today
from lanbill.db import database
from lanbill.models import Account, Agreement, LedgerEntry, Subscriber
from lanbill.models.billing import BillingDay
from tests.conftest import USE_PG
from tests.factories import ACTOR, make_account, make_agent, make_agreement, make_tariff

ROOT = Path(__file__).resolve().parents[2]


def test_bill_command_charges_once(app, runner):
    tariff = make_tariff(scheme="dynamic", rent="620.00")
    agreement = make_agreement()
    from lanbill.billing.payments import post_payment

    post_payment(agreement, "1000", "p", actor=ACTOR)
    make_account(agreement, tariff=tariff)
    first = runner.invoke(args=["bill"])
    assert first.exit_code == 0, first.output
    assert "entries: 1" in first.output
    second = runner.invoke(args=["bill"])
    assert second.exit_code == 0
    assert "entries: 0" in second.output
    assert LedgerEntry.select().where(LedgerEntry.kind == "rent").count() == 1
    runner.invoke(args=["check"])


def _populate(accounts: int) -> None:
    """Many accounts quickly (bulk rows without a tariff history, so the
    tariff is the account's from its connect date; the billing is real):
    daily, dynamic and monthly tariffs, some agreements without money, some
    staff blocks, and the last billed day five days ago, so the run has
    five days to catch up."""
    agent = make_agent()
    tariffs = [make_tariff(scheme=s, rent=r, rent_blocked="10.00")
               for s, r in (("daily", "450.00"), ("dynamic", "650.00"), ("monthly", "300.00"))]
    seed = make_agreement()
    operator_id, currency_id = seed.operator_id, seed.currency_id
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    start = today() - dt.timedelta(days=40)
    with database.atomic():
        Subscriber.insert_many([{"name": f"Bulk {i}", "kind": "individual"} for i in range(accounts)]).execute()
        subs = [s for (s,) in Subscriber.select(Subscriber.id).where(Subscriber.name.startswith("Bulk ")).tuples()]
        Agreement.insert_many([
            {"number": f"B-{i}", "date": start, "operator": operator_id, "subscriber": sub, "currency": currency_id,
             "credit_limit": Decimal("0") if i % 7 == 0 else Decimal("5000")}
            for i, sub in enumerate(subs)
        ]).execute()
        agreements = dict(Agreement.select(Agreement.subscriber, Agreement.id)
                          .where(Agreement.number.startswith("B-")).tuples())
        Account.insert_many([
            {"agent": agent.id, "subscriber": sub, "agreement": agreements[sub], "tariff": tariffs[i % 3].id,
             "login": f"bulk{i}", "connect_date": start, "blocked_admin": i % 11 == 0,
             "state": "admin" if i % 11 == 0 else "active"}
            for i, sub in enumerate(subs)
        ]).execute()
        BillingDay.create(day=today() - dt.timedelta(days=6), finished_at=now)


QUERIES = (
    "SELECT idempotency_key, agreement_id, account_id, kind, amount, period_start, period_end "
    "FROM ledger_entry WHERE idempotency_key IS NOT NULL",
    "SELECT id, balance FROM agreement",
    "SELECT account_id, at, flag, action FROM account_state_change",
    "SELECT day FROM billing_day WHERE finished_at IS NOT NULL",
)
WRONG = ("SELECT a.id FROM agreement a LEFT JOIN (SELECT agreement_id, SUM(amount) s FROM ledger_entry "
         "GROUP BY agreement_id) l ON l.agreement_id = a.id WHERE a.balance != COALESCE(l.s, 0)")


def _connect(target):
    if USE_PG:
        import psycopg2

        return psycopg2.connect(target)
    return sqlite3.connect(f"file:{target}?mode=ro", uri=True, timeout=1)


def _ledger(target):
    """Entries, balances, block history, billed days, and the agreements
    whose balance is not the sum of their ledger (must be none)."""
    conn = _connect(target)
    try:
        cursor = conn.cursor()
        out = []
        for sql in (*QUERIES, WRONG):
            cursor.execute(sql)
            out.append(sorted(cursor.fetchall()))
        return out
    finally:
        conn.close()


def _count(target) -> int:
    try:
        conn = _connect(target)
    except Exception:  # the file or database is not ready yet
        return 0
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT COUNT(*) FROM ledger_entry WHERE idempotency_key IS NOT NULL")
        return cursor.fetchone()[0]
    except Exception:
        return 0
    finally:
        conn.close()


def _bill(url: str, instance: Path, app_config) -> subprocess.Popen:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": url, "LANBILL_INSTANCE": str(instance),
        "LANBILL_DATA_KEY": app_config["DATA_KEY"], "LANBILL_SECRET_KEY": "x",
        "LANBILL_TIMEZONE": app_config["TIMEZONE"], "HUEY_URL": f"sqlite:///{instance / 'huey.db'}",
    })
    flask = str(Path(sys.executable).parent / "flask")
    return subprocess.Popen([flask, "--app", "app", "bill"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _copies(app_config, tmp_path):
    """Two copies of the test database: (url, target for reading) each."""
    source = app_config["DATABASE_URL"]
    if not USE_PG:
        database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        database.close()
        path = Path(source[len("sqlite:///"):])
        out = []
        for name in ("clean.db", "killed.db"):
            shutil.copy(path, tmp_path / name)
            out.append((f"sqlite:///{tmp_path / name}", tmp_path / name))
        return out, lambda: None
    import psycopg2

    database.close()
    base, _, dbname = source.rpartition("/")
    admin = psycopg2.connect(f"{base}/postgres")
    admin.autocommit = True
    names = [f"{dbname}_clean", f"{dbname}_killed"]
    for name in names:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.cursor().execute(f'CREATE DATABASE "{name}" TEMPLATE "{dbname}"')

    def drop():
        for name in names:
            admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    return [(f"{base}/{name}", f"{base}/{name}") for name in names], drop


def test_kill_minus_nine_then_rerun_equals_one_clean_run(app, app_config, tmp_path):
    _populate(1500)
    copies, drop = _copies(app_config, tmp_path)
    (clean_url, clean_db), (killed_url, killed_db) = copies
    (tmp_path / "i1").mkdir()
    (tmp_path / "i2").mkdir()
    try:
        clean = _bill(clean_url, tmp_path / "i1", app_config)
        _, err = clean.communicate(timeout=300)
        assert clean.returncode == 0, err.decode()

        victim = _bill(killed_url, tmp_path / "i2", app_config)
        deadline = time.monotonic() + 120
        killed_with = None
        while time.monotonic() < deadline and victim.poll() is None:
            count = _count(killed_db)
            if count > 0:
                victim.send_signal(signal.SIGKILL)
                victim.wait()
                killed_with = count
                break
            time.sleep(0.01)
        assert killed_with is not None, "the run finished before it could be killed"
        assert victim.returncode == -signal.SIGKILL
        partial = _ledger(killed_db)
        clean_result = _ledger(clean_db)
        assert len(partial[0]) < len(clean_result[0]), "killed after the whole run"
        assert partial[4] == []  # even the half-done ledger explains every balance

        rerun = _bill(killed_url, tmp_path / "i2", app_config)
        _, err = rerun.communicate(timeout=300)
        assert rerun.returncode == 0, err.decode()
        again = _ledger(killed_db)
    finally:
        drop()
    assert again[0] == clean_result[0]  # the same entries, keys, amounts, periods
    assert again[1] == clean_result[1]  # the same balances
    assert again[2] == clean_result[2]  # the same block history (flag, action, instant)
    assert again[3] == clean_result[3]
    assert again[4] == []
    assert len(clean_result[0]) > 2500

"""Huey on Redis (HUEY_URL=redis://…, DESIGN §14 "outgrowing one box"): a
real redis-server started by the test on a free port, the real `flask
worker` process consuming from it, and an import enqueued into Redis the
way the import screen enqueues it — run by that worker against the same
database."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from huey import RedisHuey

from lanbill import jobs
from lanbill.billing.ledger import check_invariant
from lanbill.models import Account, Agreement, LedgerEntry
from lanbill.operations import imports
from lanbill.tasks import make_huey
from tests.factories import ACTOR, make_agent, make_tariff

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None,
                                reason="redis-server is not installed (apt-get install redis-server)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", str(tmp_path)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait(10)


@pytest.fixture
def worker(app_config, redis_url, tmp_path):
    """The real worker process (`flask worker`) on Redis and this test's database."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "HUEY_URL")}
    env.update(LANBILL_INSTANCE=app_config["INSTANCE_PATH"], DATABASE_URL=app_config["DATABASE_URL"],
               HUEY_URL=redis_url, LANBILL_DATA_KEY=app_config["DATA_KEY"],
               LANBILL_TIMEZONE=app_config["TIMEZONE"])
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115
    process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker", "--workers", "1"],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    yield process
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


def test_huey_url_selects_redis(redis_url):
    huey = make_huey(redis_url)
    assert isinstance(huey, RedisHuey)
    assert huey.storage.conn.ping()


def test_the_worker_runs_an_import_enqueued_into_redis(app, redis_url, worker, tmp_path):
    make_tariff(name="Домашний 100")
    make_tariff(name="Домашний 200")
    make_agent(name="bras")
    folder = imports.runs_folder(tmp_path) / "0123456789abcdef0123456789abcdef"
    folder.mkdir(parents=True)
    source = ROOT / "deploy/import-examples/ubilling-users.csv"
    (folder / "source").write_bytes(source.read_bytes())
    (folder / "mapping.json").write_text((ROOT / "deploy/import-examples/ubilling-users.mapping.json").read_text())
    imports.write_state(folder, filename="ubilling-users.csv", dry_run=False, status="queued", manager_id=1)

    # what the import screen does, with this process's Huey pointed at Redis
    redis_huey = make_huey(redis_url)
    task = jobs.run_import.s(str(folder), ACTOR)
    redis_huey._registry.register(type(task))
    result = redis_huey.enqueue(task)
    status = result.get(blocking=True, timeout=120)
    assert status == "done", (tmp_path / "worker.log").read_text()[-3000:]

    state = json.loads((folder / "state.json").read_text())
    assert state["report"]["accounts"] == 4 and state["done"] == 4
    assert Account.select().count() == 4
    agreement = Agreement.get(Agreement.number == "UB-1003")
    opening = LedgerEntry.get((LedgerEntry.agreement == agreement) & (LedgerEntry.kind == "opening_balance"))
    assert opening.amount == Decimal("-120.00")
    assert check_invariant() == []  # the worker's own billing run may have charged rent meanwhile
    assert worker.poll() is None

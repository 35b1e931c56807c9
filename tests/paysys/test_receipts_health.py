"""Receipt failures in /healthz: the `receipts` check is down (and the
answer 503, by the existing health rules) while a receipt has failed for
good or is still not done RECEIPTS_LATE_MINUTES after it was queued;
sending it again brings it back to ok.  Receipts go to the local fake
ATOL server through the real outbox."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from lanbill.clock import now_utc
from lanbill.models.receipts import FiscalReceipt
from lanbill.operations import health
from lanbill.paysys import receipts
from tests.factories import make_agreement
from tests.paysys.fake_atol import FakeAtol
from tests.paysys.test_receipts import STAFF, fiscal, pay, receipt_of


@pytest.fixture
def atol():
    fake = FakeAtol().start()
    yield fake
    fake.stop()


def healthz(client):
    health.beat()  # the worker is alive: only the receipts decide here
    response = client.get("/healthz", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    return response.status_code, response.get_json()["checks"]["receipts"]


def test_no_receipts_is_ok(app, client):
    status, check = healthz(client)
    assert status == 200 and check["status"] == "ok" and check["failed"] == 0 and check["waiting"] == 0


def test_a_refused_receipt_is_down_until_sent_again(app, client, atol):
    fiscal(atol)
    payment = pay(make_agreement())
    atol.refuse_next = 1
    receipts.send_due()
    assert receipt_of(payment).status == "failed"
    status, check = healthz(client)
    assert status == 503 and check["status"] == "down" and check["failed"] == 1
    receipts.retry(receipt_of(payment).id, actor=STAFF)
    receipts.send_due()
    assert receipt_of(payment).status == "done"
    status, check = healthz(client)
    assert status == 200 and check == {"status": "ok", "failed": 0, "waiting": 0, "late": 0,
                                       "late_after_minutes": 60, "oldest_waiting": None}


def test_a_receipt_still_waiting_after_the_limit_is_down(app, client, atol):
    fiscal(atol)
    payment = pay(make_agreement())
    atol.fail_next = 3  # ATOL answers 500: the outbox retries later
    receipts.send_due()
    assert receipt_of(payment).status == "pending"
    status, check = healthz(client)
    assert status == 200 and check["status"] == "ok" and check["waiting"] == 1 and check["late"] == 0
    with time_machine.travel(now_utc().replace(tzinfo=dt.UTC) + dt.timedelta(minutes=61), tick=False):
        status, check = healthz(client)
    assert status == 503 and check["status"] == "down" and check["late"] == 1
    app.config["RECEIPTS_LATE_MINUTES"] = 120
    with time_machine.travel(now_utc().replace(tzinfo=dt.UTC) + dt.timedelta(minutes=61), tick=False):
        status, check = healthz(client)
    assert status == 200 and check["late_after_minutes"] == 120
    assert FiscalReceipt.select().count() == 1

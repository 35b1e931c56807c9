"""Benchmarks of notifications (run with `--run-perf -s`; figures printed):

- 10,000 e-mails sent to a local SMTP server (aiosmtpd in a process of
  its own, as a real mail server would be) in under 60 s — one SMTP
  connection carries each batch;
- the nightly low-balance evaluation over 100,000 agreements in under
  30 s, data made by bulk inserts (one agreement in 10 runs low and has a
  confirmed e-mail, so 10,000 warnings are queued as part of the run).
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import time
from decimal import Decimal

import pytest

from lanbill.clock import now_utc
from lanbill.db import database
from lanbill.models import Account, Agreement, Subscriber
from lanbill.models.notify import NotifyContact, OutboxMessage
from lanbill.notify import outbox
from lanbill.notify.nightly import low_balance
from lanbill.notify.settings import notify_settings
from tests.factories import make_agent, make_agreement, make_tariff
from tests.notify.harness import SmtpProcess

pytestmark = pytest.mark.perf

EMAILS = int(os.environ.get("LANBILL_BENCH_EMAILS", "10000"))
AGREEMENTS = int(os.environ.get("LANBILL_BENCH_AGREEMENTS", "100000"))


def _backend() -> str:
    return "SQLite" if database.obj.__class__.__name__.startswith("Sqlite") else "PostgreSQL"


@pytest.fixture
def smtp(tmp_path):
    server = SmtpProcess(tmp_path).start()
    yield server
    server.stop()


def test_ten_thousand_emails_to_a_local_smtp_server(app, smtp):
    text = "Здравствуйте!\n\nНа договор 2026-000123 зачислен платёж 650,00 ₽.\nБаланс: 1 200,00 ₽.\n" * 3
    outbox.queue_many([{"channel": "email", "address": f"user{n}@example.ru", "subject": "Платёж зачислен",
                        "body": text, "event": "payment", "idempotency_key": f"bench:{n}"} for n in range(EMAILS)])
    settings = notify_settings(dict(app.config, SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port))
    started = time.perf_counter()
    cpu = time.process_time()
    server_cpu = smtp.cpu_seconds()
    if os.environ.get("LANBILL_BENCH_PROFILE"):
        import cProfile
        import pstats

        profile = cProfile.Profile()
        result = profile.runcall(outbox.send_due, settings)
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)
    else:
        result = outbox.send_due(settings)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    server_cpu = smtp.cpu_seconds() - server_cpu
    print(f"\n[{_backend()}] {result.sent} e-mails in {elapsed:.1f} s ({result.sent / elapsed:.0f}/s), "
          f"sender CPU {cpu:.1f} s, SMTP server CPU {server_cpu:.1f} s, "
          f"load average {open('/proc/loadavg').read().split()[0]}")
    assert result.sent == EMAILS and smtp.received == EMAILS
    assert OutboxMessage.select().where(OutboxMessage.status == "sent").count() == EMAILS
    if EMAILS >= 10000:
        assert elapsed < 60


def _populate(count: int) -> None:
    """Bulk rows: every agreement with one account on a daily tariff of
    310,00 (10,00 a day in March); one in 10 has 25,00 (runs out within 3
    days) and a confirmed e-mail; the rest have 5 000,00."""
    agent = make_agent()
    tariff = make_tariff(scheme="daily", rent="310.00", rent_blocked="0")
    seed = make_agreement()
    start = dt.date(2026, 2, 1)
    confirmed_at = now_utc()
    step = 5000
    for base in range(0, count, step):
        n = min(step, count - base)
        with database.atomic():
            Subscriber.insert_many([{"name": f"Bench {base + i}", "kind": "individual"} for i in range(n)]).execute()
            subs = [s for (s,) in Subscriber.select(Subscriber.id).order_by(Subscriber.id.desc()).limit(n).tuples()]
            subs.reverse()
            Agreement.insert_many([
                {"number": f"N-{base + i}", "date": start, "operator": seed.operator_id, "subscriber": sub,
                 "currency": seed.currency_id,
                 "balance": Decimal("25.00") if (base + i) % 10 == 0 else Decimal("5000.00")}
                for i, sub in enumerate(subs)
            ]).execute()
            agreements = dict(Agreement.select(Agreement.subscriber, Agreement.id)
                              .where(Agreement.subscriber.in_(subs)).tuples())
            Account.insert_many([
                {"agent": agent.id, "subscriber": sub, "agreement": agreements[sub], "tariff": tariff.id,
                 "login": f"b{base + i}", "connect_date": start}
                for i, sub in enumerate(subs)
            ]).execute()
            NotifyContact.insert_many([
                {"subscriber": sub, "channel": "email", "address": f"b{base + i}@example.ru",
                 "confirmed_at": confirmed_at}
                for i, sub in enumerate(subs) if (base + i) % 10 == 0
            ]).execute()


def test_nightly_low_balance_for_100k_agreements(app):
    started = time.perf_counter()
    _populate(AGREEMENTS)
    print(f"\n[{_backend()}] populated {AGREEMENTS} agreements in {time.perf_counter() - started:.1f} s")
    settings = notify_settings(app.config)
    started = time.perf_counter()
    result = low_balance(settings, day=dt.date(2026, 3, 10))
    elapsed = time.perf_counter() - started
    again_started = time.perf_counter()
    again = low_balance(settings, day=dt.date(2026, 3, 10))
    again_elapsed = time.perf_counter() - again_started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"low-balance evaluation: {elapsed:.1f} s ({result}); again (nothing new): {again_elapsed:.1f} s "
          f"({again}); peak RSS {peak_mb:.0f} MB")
    assert result["warned"] == AGREEMENTS // 10 and result["queued"] == AGREEMENTS // 10
    assert again["queued"] == 0
    if AGREEMENTS >= 100000:
        assert elapsed < 30 and again_elapsed < 30

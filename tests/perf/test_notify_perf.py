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

import pytest
from peewee import fn

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


def _insert_from(model, source: str, expressions: dict, params=()) -> int:
    """INSERT INTO model SELECT … FROM `source` in one statement: the
    columns in `expressions` (a str: SQL over the source's rows; anything
    else: a value bound as a parameter), every other NOT NULL column its
    model default; `params` bind the placeholders of `source`.  Seconds for 100,000 rows, where
    row-by-row inserts take minutes on a busy box."""
    columns, values, values_params = [], [], []
    for f in model._meta.sorted_fields:
        if f is model._meta.primary_key:
            continue
        if f.name in expressions and isinstance(expressions[f.name], str):
            columns.append(f'"{f.column_name}"')
            values.append(expressions[f.name])
        elif f.name in expressions:
            columns.append(f'"{f.column_name}"')
            values.append(database.param)
            values_params.append(expressions[f.name])
        elif not f.null:
            default = f.default() if callable(f.default) else f.default
            columns.append(f'"{f.column_name}"')
            values.append(database.param)
            values_params.append(f.db_value(default))
    sql = (f'INSERT INTO "{model._meta.table_name}" ({", ".join(columns)}) '
           f'SELECT {", ".join(values)} FROM {source}')
    return database.execute_sql(sql, (*values_params, *params)).rowcount


def _populate(count: int) -> None:
    """Every agreement with one account on a daily tariff of 310,00 (10,00
    a day in March); one in 10 has 25,00 (runs out within 3 days) and a
    confirmed e-mail; the rest have 5 000,00."""
    agent = make_agent()
    tariff = make_tariff(scheme="daily", rent="310.00", rent_blocked="0")
    seed = make_agreement()
    last_subscriber = Subscriber.select(fn.MAX(Subscriber.id)).scalar()
    last_agreement = Agreement.select(fn.MAX(Agreement.id)).scalar()
    p = database.param
    with database.atomic():
        counter = (f"(WITH RECURSIVE c(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM c WHERE n < {count - 1}) "
                   f"SELECT n FROM c)")
        _insert_from(Subscriber, f"{counter} AS c", {"name": "'Bench ' || CAST(c.n AS VARCHAR(12))"})
        _insert_from(Agreement, f'"subscriber" s WHERE s."id" > {p}', {
            "number": "'N-' || CAST(s.\"id\" AS VARCHAR(12))", "date": dt.date(2026, 2, 1),
            "operator": seed.operator_id, "subscriber": 's."id"', "currency": seed.currency_id,
            "balance": 'CASE WHEN s."id" - (s."id" / 10) * 10 = 0 THEN 2500 ELSE 500000 END',  # no %: psycopg2
        }, (last_subscriber,))
        _insert_from(Account, f'"agreement" a WHERE a."id" > {p}', {
            "agent": agent.id, "subscriber": 'a."subscriber_id"', "agreement": 'a."id"', "tariff": tariff.id,
            "login": "'b' || CAST(a.\"id\" AS VARCHAR(12))", "connect_date": dt.date(2026, 2, 1),
        }, (last_agreement,))
        _insert_from(NotifyContact, f'"agreement" a WHERE a."id" > {p} AND a."balance" = 2500', {
            "subscriber": 'a."subscriber_id"', "channel": "'email'",
            "address": "'b' || CAST(a.\"id\" AS VARCHAR(12)) || '@example.ru'", "confirmed_at": now_utc(),
        }, (last_agreement,))


def test_nightly_low_balance_for_100k_agreements(app):
    started = time.perf_counter()
    _populate(AGREEMENTS)
    print(f"\n[{_backend()}] populated {AGREEMENTS} agreements in {time.perf_counter() - started:.1f} s")
    settings = notify_settings(app.config)
    started, cpu = time.perf_counter(), time.process_time()
    if os.environ.get("LANBILL_BENCH_PROFILE"):
        import cProfile
        import pstats

        profile = cProfile.Profile()
        result = profile.runcall(low_balance, settings, day=dt.date(2026, 3, 10))
        pstats.Stats(profile).sort_stats("cumulative").print_stats(20)
    else:
        result = low_balance(settings, day=dt.date(2026, 3, 10))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    again_started = time.perf_counter()
    again = low_balance(settings, day=dt.date(2026, 3, 10))
    again_elapsed = time.perf_counter() - again_started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"low-balance evaluation: {elapsed:.1f} s, CPU {cpu:.1f} s ({result}); "
          f"again (nothing new): {again_elapsed:.1f} s ({again}); peak RSS {peak_mb:.0f} MB; "
          f"load average {open('/proc/loadavg').read().split()[0]}")
    assert result["warned"] == AGREEMENTS // 10 and result["queued"] == AGREEMENTS // 10
    assert again["queued"] == 0
    if AGREEMENTS >= 100000:
        assert elapsed < 30 and again_elapsed < 30

"""Benchmark of the nightly billing run: 100,000 active accounts.

Targets on SQLite: a night with rent due under 60 s, a night with nothing
due under 15 s, memory under 500 MB.  Run with `make bench` (or
`pytest tests/perf --run-perf -s`); DATABASE_URL=postgresql://… measures
PostgreSQL.  Figures are printed; the asserts are the targets.
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import time
from decimal import Decimal

from lanbill.billing.ledger import check_invariant
from lanbill.billing.run import run_due
from lanbill.clock import midnight_utc
from lanbill.db import database
from lanbill.models import Account, Agreement, LedgerEntry, Subscriber
from lanbill.models.billing import BillingDay
from tests.factories import make_agent, make_agreement, make_tariff

ACCOUNTS = int(os.environ.get("LANBILL_BENCH_ACCOUNTS", "100000"))


def _populate(count: int) -> None:
    """Bulk rows (the run under test is real): 40 % daily, 40 % dynamic,
    20 % monthly tariffs; one agreement in 20 without money (blocked by
    balance once charged), one account in 25 blocked by staff."""
    agent = make_agent()
    tariffs = [
        make_tariff(scheme="daily", rent="450.00", rent_blocked="0"),
        make_tariff(scheme="dynamic", rent="650.00", rent_blocked="50.00"),
        make_tariff(scheme="dynamic", rent="650.00", rent_blocked="50.00"),
        make_tariff(scheme="daily", rent="450.00", rent_blocked="0"),
        make_tariff(scheme="monthly", rent="300.00", rent_blocked="0"),
    ]
    seed = make_agreement()
    start = dt.date(2026, 2, 1)
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
                 "credit_limit": Decimal("0") if (base + i) % 20 == 0 else Decimal("9000")}
                for i, sub in enumerate(subs)
            ]).execute()
            agreements = dict(Agreement.select(Agreement.subscriber, Agreement.id)
                              .where(Agreement.subscriber.in_(subs)).tuples())
            Account.insert_many([
                {"agent": agent.id, "subscriber": sub, "agreement": agreements[sub],
                 "tariff": tariffs[(base + i) % 5].id, "login": f"b{base + i}", "connect_date": start,
                 "blocked_admin": (base + i) % 25 == 0, "state": "admin" if (base + i) % 25 == 0 else "active"}
                for i, sub in enumerate(subs)
            ]).execute()
    BillingDay.create(day=dt.date(2026, 3, 31), finished_at=midnight_utc(dt.date(2026, 3, 31)))


def _timed(label: str, now: dt.datetime):
    started = time.perf_counter()
    if os.environ.get("LANBILL_BENCH_PROFILE"):
        import cProfile
        import pstats

        profile = cProfile.Profile()
        result = profile.runcall(run_due, now)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    else:
        result = run_due(now)
    elapsed = time.perf_counter() - started
    print(f"\n{label}: {elapsed:.1f} s, {result.entries} entries ({result.summary()})")
    return elapsed, result


def test_nightly_run_for_100k_accounts(app):
    backend = "PostgreSQL" if not database.obj.__class__.__name__.startswith("Sqlite") else "SQLite"
    started = time.perf_counter()
    _populate(ACCOUNTS)
    print(f"\n[{backend}] populated {ACCOUNTS} accounts in {time.perf_counter() - started:.1f} s")

    first_of_month, result = _timed("1st of the month (advances + daily + blocks)",
                                    midnight_utc(dt.date(2026, 4, 1)))
    assert result.entries >= ACCOUNTS * 9 // 10
    ordinary, result = _timed("ordinary night (daily charges + corrections)", midnight_utc(dt.date(2026, 4, 2)))
    assert result.entries > 0
    idle, result = _timed("run again, nothing due", midnight_utc(dt.date(2026, 4, 2)) + dt.timedelta(minutes=5))
    assert result.entries == 0
    BillingDay.delete().where(BillingDay.day == dt.date(2026, 4, 2)).execute()
    rebill, result = _timed("the same night billed again (every key present)", midnight_utc(dt.date(2026, 4, 2))
                            + dt.timedelta(minutes=10))
    assert result.entries == 0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the test process (population included): {peak_mb:.0f} MB; "
          f"ledger rows {LedgerEntry.select().count()}")
    assert check_invariant() == []
    if backend == "SQLite" and ACCOUNTS >= 100000:
        assert first_of_month < 60 and ordinary < 60
        assert idle < 15 and rebill < 15
    assert peak_mb < 500

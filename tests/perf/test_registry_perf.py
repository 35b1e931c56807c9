"""Benchmark: a 10,000-row registry, dry run + post, under 20 s on SQLite
(run with --run-perf -s to see the figures).  The agreements are written
in bulk first; the registry books through the one payment door with the
54-FZ receipt outbox switched on (the heavier case)."""

from __future__ import annotations

import os
import time
from decimal import Decimal

from lanbill.actor import Actor
from lanbill.clock import today
from lanbill.customers.operators import default_operator
from lanbill.db import transaction
from lanbill.models import Agreement, Currency, Subscriber
from lanbill.models.receipts import FiscalReceipt
from lanbill.paysys import receipts, registry_booking
from tests.paysys.helpers import make_registry_system
from tests.perf.conftest import report

ROWS = int(os.environ.get("REGISTRY_BENCH_ROWS", "10000"))
STAFF = Actor("manager:bench", is_staff=True)


def _agreements(count: int) -> None:
    operator = default_operator()
    currency = Currency.select().order_by(Currency.is_default.desc()).first()
    with transaction():
        for start in range(0, count, 1000):
            Subscriber.insert_many([{"name": f"Абонент {n}", "kind": "individual", "email": f"a{n}@example.ru"}
                                    for n in range(start, min(count, start + 1000))]).execute()
        ids = [s.id for s in Subscriber.select(Subscriber.id).where(Subscriber.name.startswith("Абонент "))
               .order_by(Subscriber.id)]
        for start in range(0, count, 1000):
            Agreement.insert_many([{"number": f"B-{n:06d}", "date": today(), "operator": operator.id,
                                    "subscriber": ids[n], "currency": currency.id}
                                   for n in range(start, min(count, start + 1000))]).execute()


def test_ten_thousand_row_registry_dry_run_and_post_under_20_seconds(app):
    _agreements(ROWS)
    receipts.save_settings(default_operator().id, {
        "enabled": True, "api_url": "http://127.0.0.1:9/possystem", "login": "l", "password": "p",
        "group_code": "g", "inn": "4027000011", "sno": "usn_income", "payment_address": "https://lk.example.ru",
        "company_email": "kassa@example.ru", "vat": "none", "settlement_mode": "advance",
        "item_name": "Услуги связи по договору {agreement}"}, actor=STAFF)
    system = make_registry_system(code="bench", needs_receipt=True)
    lines = ["40702810900000000001"] + [f"B-{n:06d};T{n:07d};2026-11-20;{100 + n % 900},50;;;Оплата;{n}"
                                        for n in range(ROWS)]
    content = "\r\n".join(lines).encode("cp1251")

    started, cpu = time.perf_counter(), time.process_time()
    registry = registry_booking.start_import(system, "bench.txt", content, actor=STAFF)
    registry = registry_booking.read_import(registry.id)
    dry_run, dry_run_cpu = time.perf_counter() - started, time.process_time() - cpu
    assert registry.status == "dry_run" and registry.matched_count == ROWS

    started, cpu = time.perf_counter(), time.process_time()
    registry = registry_booking.post_import(registry.id, actor=STAFF)
    post, post_cpu = time.perf_counter() - started, time.process_time() - cpu
    assert registry.status == "posted" and registry.booked_count == ROWS
    expected = sum(Decimal(f"{100 + n % 900}.50") for n in range(ROWS))
    assert registry.booked_amount == expected
    assert FiscalReceipt.select().count() == ROWS

    # CPU seconds of this process beside the wall clock: on a shared, loaded
    # box the wall clock measures the neighbours as much as the registry
    report(f"registry: {ROWS} rows on SQLite", dry_run_s=f"{dry_run:.2f}", post_s=f"{post:.2f}",
           total_s=f"{dry_run + post:.2f}", rows_per_s=f"{ROWS / (dry_run + post):.0f}",
           dry_run_cpu_s=f"{dry_run_cpu:.2f}", post_cpu_s=f"{post_cpu:.2f}",
           load_average=" ".join(f"{x:.1f}" for x in os.getloadavg()))
    assert dry_run + post < 20

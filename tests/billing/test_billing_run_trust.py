"""The billing run: the very first run catches up from the first account's
start, following the block history, with the same ledger as a punctual
worker (DESIGN §4, §6's worked examples); and only one run at a time."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from decimal import Decimal

import pytest

from lanbill.billing import blocks
from lanbill.billing import run as billing_run
from lanbill.billing.payments import post_payment
from lanbill.billing.run import billing_lock, run_due
from lanbill.db import bind_database, database
from lanbill.models import AccountStateChange, Agreement, LedgerEntry, Manager
from lanbill.models.billing import BillingDay
from tests.billing_helpers import charged, local, run_days, travel
from tests.conftest import USE_PG, _reset_pg
from tests.factories import ACTOR, make_account, make_agreement, make_tariff


def fresh_database(database_template, tmp_path, name: str) -> None:
    """Start again from the template database, as a new test would."""
    database.close()
    if USE_PG:
        _reset_pg(database_template)
    else:
        target = tmp_path / f"{name}.db"
        shutil.copy(database_template, target)
        bind_database(f"sqlite:///{target}")
    database.connect(reuse_if_open=True)


def initialised_on(text: str) -> None:
    """The system was set up (`flask init`: its first manager) at local `text`."""
    Manager.update(created_at=local(text).astimezone(dt.UTC).replace(tzinfo=None)).execute()


def ledger() -> dict:
    """What a run leaves: every periodic entry (key, kind, amount, period),
    the balances and the block history."""
    return {
        "entries": sorted((e.idempotency_key, e.kind, e.amount, e.period_start, e.period_end)
                          for e in LedgerEntry.select() if e.idempotency_key),
        "balances": sorted(Agreement.select(Agreement.id, Agreement.balance).tuples()),
        "blocks": sorted(AccountStateChange.select(AccountStateChange.account, AccountStateChange.at,
                                                   AccountStateChange.flag, AccountStateChange.action).tuples()),
    }


def staff_block_from_16th(scheme: str, first_run: str | None):
    """DESIGN §6 examples 1 and 2: R = 650, Rb = 0, blocked by staff from
    00:00 of the 16th.  `first_run`: the local moment of the only run up
    to February (None: a run at 00:00 of every day)."""
    with travel("2026-01-01 00:00") as t:
        initialised_on("2026-01-01 00:00")
        tariff = make_tariff(scheme=scheme, rent="650.00", rent_blocked="0")
        agreement = make_agreement()
        post_payment(agreement, "1000.00", "p-1", actor=ACTOR)
        account = make_account(agreement, tariff=tariff)

        def block():
            blocks.block_by_staff(account, actor=ACTOR, reason="equipment")

        if first_run is None:
            run_days(t, "2026-01-01", "2026-02-01", events={"2026-01-16": block})
        else:
            t.move_to(local("2026-01-16 00:00"))
            block()
            t.move_to(local(first_run))
            run_due()
            run_days(t, first_run[:10], "2026-02-01")
    return account


def balance_300(first_run: str | None):
    """DESIGN §6 example 3: dynamic, 300.00 on the 1st; the corrections
    lift the balance block at 00:00 of the 18th."""
    with travel("2025-12-31 20:00") as t:
        initialised_on("2025-12-31 20:00")
        tariff = make_tariff(scheme="dynamic", rent="650.00", rent_blocked="0")
        agreement = make_agreement()
        post_payment(agreement, "300.00", "p-1", actor=ACTOR)
        t.move_to(local("2026-01-01 00:00"))
        account = make_account(agreement, tariff=tariff)
        if first_run is None:
            run_days(t, "2026-01-01", "2026-02-01")
        else:
            t.move_to(local(first_run))
            run_due()
            run_days(t, first_run[:10], "2026-02-01")
    return account


@pytest.mark.parametrize("scheme", ["daily", "dynamic"])
def test_a_first_run_on_the_20th_charges_the_same_as_a_worker_running_every_day(
        app, database_template, tmp_path, scheme):
    account = staff_block_from_16th(scheme, None)
    punctual = ledger()
    assert charged(account, first="2026-01-01", last="2026-01-31") == Decimal("314.52")

    fresh_database(database_template, tmp_path, "late")
    account = staff_block_from_16th(scheme, "2026-01-20 00:00")
    assert charged(account, first="2026-01-01", last="2026-01-31") == Decimal("314.52")
    assert ledger() == punctual
    assert BillingDay.select().order_by(BillingDay.day).first().day == dt.date(2026, 1, 1)


def test_a_first_run_on_the_14th_follows_the_block_history_of_the_days_before(app):
    with travel("2026-01-01 00:00") as t:
        initialised_on("2026-01-01 00:00")
        tariff = make_tariff(scheme="daily", rent="620.00", rent_blocked="0")
        agreement = make_agreement()
        post_payment(agreement, "1000.00", "p-1", actor=ACTOR)
        account = make_account(agreement, tariff=tariff)
        t.move_to(local("2026-01-05 00:00"))
        blocks.block_by_staff(account, actor=ACTOR, reason="equipment")
        t.move_to(local("2026-01-10 00:00"))
        blocks.unblock_by_staff(account, actor=ACTOR, reason="fixed")
        t.move_to(local("2026-01-14 12:00"))
        run_due()
    # days 1–4 and 10–14 active: 9 days of 20.00; the 5th–9th blocked at Rb = 0
    assert charged(account, first="2026-01-01", last="2026-01-14") == Decimal("180.00")


def test_the_dynamic_balance_example_caught_up_late_equals_the_punctual_run(app, database_template, tmp_path):
    account = balance_300(None)
    punctual = ledger()
    assert charged(account, first="2026-01-01", last="2026-01-31") == Decimal("293.55")

    fresh_database(database_template, tmp_path, "late")
    account = balance_300("2026-01-25 09:30")
    assert charged(account, first="2026-01-01", last="2026-01-31") == Decimal("293.55")
    assert ledger() == punctual


def test_days_before_the_system_was_initialised_are_not_charged(app):
    """Accounts imported on the 10th with older connect dates (their
    opening balances say what was paid before) are billed from the 10th."""
    with travel("2026-01-10 10:00") as t:
        initialised_on("2026-01-10 09:00")
        tariff = make_tariff(scheme="daily", rent="620.00")
        agreement = make_agreement()
        post_payment(agreement, "1000.00", "p-1", actor=ACTOR)
        account = make_account(agreement, tariff=tariff, connect_date=dt.date(2025, 11, 1))
        t.move_to(local("2026-01-14 12:00"))
        run_due()
    assert charged(account) == Decimal("100.00")  # the 10th to the 14th


def test_a_system_with_no_accounts_starts_billing_today(app):
    with travel("2026-03-10 00:00"):
        run_due()
    assert [d.day for d in BillingDay.select()] == [dt.date(2026, 3, 10)]


# --- one run at a time ----------------------------------------------------------------


def test_a_second_run_while_one_runs_is_refused(app):
    tariff = make_tariff(scheme="daily", rent="310.00")
    make_account(make_agreement(), tariff=tariff)
    entered, release = threading.Event(), threading.Event()
    results = []
    real_run = billing_run._run_due

    def slow_run(now):
        entered.set()
        release.wait(30)
        return real_run(now)

    def first():
        with app.app_context():
            database.connect(reuse_if_open=True)
            try:
                results.append(run_due())
            finally:
                database.close()

    billing_run._run_due = slow_run
    try:
        worker = threading.Thread(target=first)
        worker.start()
        assert entered.wait(30)
        second = run_due()
        release.set()
        worker.join(60)
    finally:
        billing_run._run_due = real_run
    assert second.already_running and second.entries == 0
    assert "already running" in second.summary()
    assert results[0].entries == 1 and not results[0].already_running
    assert LedgerEntry.select().where(LedgerEntry.kind == "rent").count() == 1
    third = run_due()  # the lock is released
    assert not third.already_running


def test_flask_bill_says_so_and_exits_non_zero_while_a_run_holds_the_lock(app, runner):
    holder_ready, release = threading.Event(), threading.Event()

    def hold():
        with app.app_context():
            database.connect(reuse_if_open=True)
            try:
                with billing_lock() as held:
                    assert held
                    holder_ready.set()
                    release.wait(30)
            finally:
                database.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holder_ready.wait(30)
        refused = runner.invoke(args=["bill"])
        app.config["BABEL_DEFAULT_LOCALE"] = "en"
        refused_en = runner.invoke(args=["bill"])
    finally:
        release.set()
        holder.join(30)
    assert refused.exit_code == 1
    assert "Расчёт уже идёт" in refused.output
    assert refused_en.exit_code == 1
    assert "Billing is already running" in refused_en.output
    done = runner.invoke(args=["bill"])
    assert done.exit_code == 0, done.output

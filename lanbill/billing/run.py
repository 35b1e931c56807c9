"""The billing run: everything due as of now (`flask --app app bill` and
the worker's periodic job call the same `run_due`).

Order of work (DESIGN §6):
1. planned tariff changes whose moment has come are applied;
2. promised payments whose term has ended are closed;
3. accounts changed since the last run (tariff changed or assigned, flags,
   dates, services) are billed again for the days of the month already
   billed — only what is missing is posted;
4. every local day not billed yet, up to today, is billed in order, each
   with its own period (catch-up after the worker was down);
5. one-off services whose date has come are charged.

It is idempotent (run twice, charge once) and resumable: a day is marked
finished only after all its batches are committed; a run killed half-way
is redone by the next one, and the idempotency keys post only the rest.
The very first run starts where the first account did (billed_days.
first_day_to_bill), not today.

Only one run at a time (`billing_lock`): a second one — another worker, or
`flask bill` while the worker runs — returns at once with
`already_running` set and does nothing.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from lanbill.billing import promises, rent, services, tariff_schedule
from lanbill.billing.billed_days import first_billed_day, first_day_to_bill, last_billed_day
from lanbill.billing.periods import month_start
from lanbill.clock import local_date_of, now_utc
from lanbill.db import database, is_sqlite, transaction
from lanbill.errors import N_
from lanbill.models import Account, AccountService, Setting, TariffChange
from lanbill.models.billing import BillingDay

log = logging.getLogger("lanbill.billing")
CHECKPOINT_KEY = "billing.checkpoint"
ALREADY_RUNNING = N_("Billing is already running; try again when it has finished.")
# PostgreSQL advisory lock key of the billing run: a fixed 63-bit number
LOCK_KEY = int.from_bytes(hashlib.sha256(b"lanbill billing run").digest()[:8], "big") >> 1


@dataclass
class RunResult:
    changes_applied: int = 0
    promises_closed: int = 0
    days: list = field(default_factory=list)  # rent.DayResult per day billed
    rebilled_accounts: int = 0
    one_offs: int = 0
    already_running: bool = False  # another run held the lock: nothing was done

    @property
    def entries(self) -> int:
        return sum(d.entries for d in self.days)

    @property
    def errors(self) -> list:
        return [e for d in self.days for e in d.errors]

    def summary(self) -> str:
        if self.already_running:
            return "billing is already running: nothing done"
        days = ", ".join(str(d.day) for d in self.days if d.accounts or d.entries) or "none"
        return (f"days billed: {days}; entries: {self.entries}; tariff changes applied: {self.changes_applied}; "
                f"promises closed: {self.promises_closed}; accounts re-billed: {self.rebilled_accounts}; "
                f"one-off services: {self.one_offs}; errors: {len(self.errors)}")


def _checkpoint() -> dt.datetime | None:
    row = Setting.get_or_none(Setting.key == CHECKPOINT_KEY)
    return dt.datetime.fromisoformat(row.value) if row and row.value else None


def _set_checkpoint(value: dt.datetime) -> None:
    with transaction():
        Setting.insert(key=CHECKPOINT_KEY, value=value.isoformat()).on_conflict(
            conflict_target=[Setting.key], update={Setting.value: value.isoformat()}
        ).execute()


def changed_accounts(since: dt.datetime) -> set[int]:
    """Accounts whose billing of days already billed may have changed since
    `since`: tariff changes made or applied, services attached, and changed
    accounts with a disconnect date or deleted.  A block changed by staff
    needs nothing here: it counts from the next 00:00."""
    ids = {a for (a,) in Account.select(Account.id).where(
        (Account.updated_at >= since) & (Account.disconnect_date.is_null(False) | (Account.deleted == True))  # noqa: E712
    ).tuples()}
    ids |= {a for (a,) in TariffChange.select(TariffChange.account).where(
        (TariffChange.created_at >= since) | (TariffChange.applied_at >= since)).tuples()}
    ids |= {a for (a,) in AccountService.select(AccountService.account).where(
        AccountService.created_at >= since).tuples()}
    return ids


@contextmanager
def billing_lock() -> Iterator[bool]:
    """Yields True while this process holds the one billing-run lock, False
    (at once, without waiting) when another run holds it.

    PostgreSQL: a session advisory lock (pg_try_advisory_lock) on this
    thread's connection.  SQLite: flock on `<database file>-billing.lock`
    beside the database in the instance folder.  Either is released by the
    server or the kernel if the process dies, so a crash never leaves the
    billing locked."""
    if is_sqlite():
        path = str(database.obj.database)
        if not path or path == ":memory:" or path.startswith("file::memory"):
            yield True
            return
        handle = open(path + "-billing.lock", "a+b")  # noqa: SIM115 - closed below, the lock with it
        try:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()).encode())
            handle.flush()
            yield True
        finally:
            handle.close()
        return
    database.connect(reuse_if_open=True)
    held = database.execute_sql("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0]
    if not held:
        yield False
        return
    try:
        yield True
    finally:
        database.execute_sql("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))


def run_due(now: dt.datetime | None = None) -> RunResult:
    """Do all billing work due as of `now` (naive UTC; default the clock),
    unless another run is doing it (then `already_running`, nothing done)."""
    with billing_lock() as held:
        if not held:
            log.warning("billing run skipped: another run holds the lock")
            return RunResult(already_running=True)
        return _run_due(now)


def _run_due(now: dt.datetime | None) -> RunResult:
    started = now or now_utc()
    result = RunResult()
    result.changes_applied = tariff_schedule.apply_due(started)
    result.promises_closed = promises.expire_due(started)
    day_now = local_date_of(started)
    last = last_billed_day()
    checkpoint = _checkpoint()
    if last is not None and checkpoint is not None:
        subset = changed_accounts(checkpoint)
        if subset:
            result.rebilled_accounts = len(subset)
            day = month_start(last)
            while day <= last:
                result.days.append(rent.bill_day(day, subset, nightly=False, since=first_billed_day()))
                day += dt.timedelta(days=1)
    if last is not None:
        first = last + dt.timedelta(days=1)
    else:  # the very first run, or a first run that died before finishing a day
        first = first_billed_day() or first_day_to_bill(day_now)
    day = first
    while day <= day_now:
        with transaction():
            BillingDay.insert(day=day, started_at=now_utc()).on_conflict_ignore().execute()
        outcome = rent.bill_day(day, since=first_billed_day())
        with transaction():
            BillingDay.update(finished_at=now_utc(), accounts=outcome.accounts, entries=outcome.entries).where(
                BillingDay.day == day).execute()
        log.info("billed %s: %s accounts, %s entries", day, outcome.accounts, outcome.entries)
        result.days.append(outcome)
        day += dt.timedelta(days=1)
    result.one_offs = services.charge_due_one_offs(day_now)
    _set_checkpoint(started)
    return result

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
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from lanbill.billing import promises, rent, services, tariff_schedule
from lanbill.billing.billed_days import first_billed_day, last_billed_day
from lanbill.billing.periods import month_start
from lanbill.clock import local_date_of, now_utc
from lanbill.db import transaction
from lanbill.models import Account, AccountService, Setting, TariffChange
from lanbill.models.billing import BillingDay

log = logging.getLogger("lanbill.billing")
CHECKPOINT_KEY = "billing.checkpoint"


@dataclass
class RunResult:
    changes_applied: int = 0
    promises_closed: int = 0
    days: list = field(default_factory=list)  # rent.DayResult per day billed
    rebilled_accounts: int = 0
    one_offs: int = 0

    @property
    def entries(self) -> int:
        return sum(d.entries for d in self.days)

    @property
    def errors(self) -> list:
        return [e for d in self.days for e in d.errors]

    def summary(self) -> str:
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


def run_due(now: dt.datetime | None = None) -> RunResult:
    """Do all billing work due as of `now` (naive UTC; default the clock)."""
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
    first = day_now if last is None else last + dt.timedelta(days=1)
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

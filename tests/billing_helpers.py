"""Helpers for the billing tests: drive the clock day by day through the
same public function the worker and `flask --app app bill` call."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import time_machine

from lanbill.billing.run import run_due
from lanbill.models import Account, Agreement, LedgerEntry

TZ = ZoneInfo("Europe/Moscow")  # the tests' LANBILL_TIMEZONE (conftest)


def local(text: str) -> dt.datetime:
    """'2026-01-16 00:00' local → an aware datetime for time-machine."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=TZ)


def travel(text: str):
    return time_machine.travel(local(text), tick=False)


def run_days(traveller, first: str, last: str, at: str = "00:00", events=None) -> None:
    """Run the billing at `at` of each day first..last (local dates);
    `events` maps a date to a callable run at 00:00 of it, before the run."""
    day = dt.date.fromisoformat(first)
    end = dt.date.fromisoformat(last)
    while day <= end:
        traveller.move_to(local(f"{day} {at}"))
        if events and str(day) in events:
            events[str(day)]()
        run_due()
        day += dt.timedelta(days=1)


def balance(agreement) -> Decimal:
    return Agreement.get_by_id(agreement.id).balance


def charged(account, kinds=("rent", "rent_correction"), first=None, last=None) -> Decimal:
    """What the account was charged (positive) for rent in the period."""
    query = LedgerEntry.select().where((LedgerEntry.account_id == account.id) & LedgerEntry.kind.in_(kinds))
    if first:
        query = query.where(LedgerEntry.period_start >= dt.date.fromisoformat(first))
    if last:
        query = query.where(LedgerEntry.period_start <= dt.date.fromisoformat(last))
    return -sum((e.amount for e in query), Decimal("0.00"))


def state(account) -> str:
    return Account.get_by_id(account.id).state


def simulate(traveller, first: str, last: str, events=(), run_at: str = "00:00") -> None:
    """Run the billing at `run_at` of every day first..last, and each event
    (local "YYYY-MM-DD HH:MM", callable) at its moment; an event at the same
    moment as a run happens before it."""
    timeline = [(local(when), 0, action) for when, action in events]
    day = dt.date.fromisoformat(first)
    while day <= dt.date.fromisoformat(last):
        timeline.append((local(f"{day} {run_at}"), 1, None))
        day += dt.timedelta(days=1)
    for moment, _, action in sorted(timeline, key=lambda item: (item[0], item[1])):
        traveller.move_to(moment)
        if action is None:
            run_due()
        else:
            action()

"""The days the billing run has billed (BillingDay rows): the first, the
last finished one, whether today is billed yet, and where the very first
run starts.

Kept apart from the run so that the rent and the tariff schedule can ask
"is today billed?" without importing the run that calls them.
"""

from __future__ import annotations

import datetime as dt

import peewee

from lanbill.clock import local_date_of, today
from lanbill.models import Account, Manager
from lanbill.models.billing import BillingDay


def last_billed_day() -> dt.date | None:
    """The latest day whose billing finished."""
    row = (BillingDay.select(BillingDay.day).where(BillingDay.finished_at.is_null(False))
           .order_by(BillingDay.day.desc()).first())
    return row.day if row else None


def first_billed_day() -> dt.date | None:
    """The first day billing ever ran: no day before it is corrected."""
    row = BillingDay.select(BillingDay.day).order_by(BillingDay.day).first()
    return row.day if row else None


def today_billed() -> bool:
    """Has the run already billed today (so a change must be charged at once)?"""
    last = last_billed_day()
    return last is not None and last >= today()


def first_day_to_bill(day_now: dt.date) -> dt.date:
    """Where the very first billing run starts (DESIGN §4: a job that was
    not run catches up): the earliest day an account was both connected and
    in the system — max(connect date, the local day it was created) — and
    not before the system was initialised (`flask init` creates the first
    manager).  So a system set up on the 1st whose worker first runs on
    the 14th bills the 1st–13th from the block history, as a punctual
    worker would have; accounts imported with old connect dates, or a demo
    history, are not charged again for the days before the system existed.
    Today at the latest."""
    initialised = Manager.select(peewee.fn.MIN(Manager.created_at)).scalar()
    if isinstance(initialised, str):
        initialised = dt.datetime.fromisoformat(initialised)
    floor = local_date_of(initialised) if initialised else None
    if floor is not None and floor >= day_now:
        return day_now
    first = day_now
    query = Account.select(Account.connect_date, Account.created_at).where(Account.connect_date <= day_now).tuples()
    for connect_date, created_at in query:
        if isinstance(connect_date, str):
            connect_date = dt.date.fromisoformat(connect_date[:10])
        start = max(connect_date, local_date_of(created_at)) if created_at else connect_date
        first = min(first, start)
    return first if floor is None else max(first, floor)

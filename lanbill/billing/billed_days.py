"""The days the billing run has billed (BillingDay rows): the first, the
last finished one, and whether today is billed yet.

Kept apart from the run so that the rent and the tariff schedule can ask
"is today billed?" without importing the run that calls them.
"""

from __future__ import annotations

import datetime as dt

from lanbill.clock import today
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

"""Billing periods: the operator's local months and days, and the share of
an amount that falls on a day (DESIGN §4, §6).

A period is a calendar month of the operator's local time zone
(LANBILL_TIMEZONE).  M is the number of days in it.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from decimal import Decimal

from lanbill.db import CENT


@functools.lru_cache(maxsize=512)
def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


@functools.lru_cache(maxsize=512)
def month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def days_in_month(day: dt.date) -> int:
    """M of DESIGN §6."""
    return calendar.monthrange(day.year, day.month)[1]


def days(first: dt.date, last: dt.date):
    """Every date from `first` to `last`, both included."""
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def cumulative(amount: Decimal, upto: int, month_days: int) -> Decimal:
    """round(amount·upto/M) half-up to the kopeck — the cumulative part of a
    month's amount for the first `upto` days (DESIGN §4)."""
    if upto <= 0 or not amount:
        return Decimal("0.00")
    if upto >= month_days:
        return Decimal(amount).quantize(CENT)
    return (Decimal(amount) * upto / month_days).quantize(CENT, rounding="ROUND_HALF_UP")


def day_share(amount: Decimal, day: dt.date) -> Decimal:
    """The part of a monthly `amount` that falls on `day`:
    round(R·d/M) − round(R·(d−1)/M) with d the day of the month (DESIGN §4),
    so the days of a month add up to R to the kopeck."""
    month_days = days_in_month(day)
    return cumulative(amount, day.day, month_days) - cumulative(amount, day.day - 1, month_days)


def range_share(amount: Decimal, first: dt.date, last: dt.date) -> Decimal:
    """The part of a monthly `amount` for the days `first`..`last` of one
    month: the sum of their day shares (R·D/M for the days left)."""
    if last < first:
        return Decimal("0.00")
    month_days = days_in_month(first)
    return cumulative(amount, last.day, month_days) - cumulative(amount, first.day - 1, month_days)

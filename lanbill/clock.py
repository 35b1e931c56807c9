"""Time for billing: UTC in the database, the operator's local days for rent.

DESIGN §6: a day is counted in the state the account had at 00:00 of that
day, operator's local time (LANBILL_TIMEZONE, default the system's zone).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

_zone: dt.tzinfo | None = None


def set_timezone(name: str | None) -> None:
    """Called once at start-up from the configuration."""
    global _zone
    _zone = ZoneInfo(name) if name else None


def zone() -> dt.tzinfo:
    if _zone is not None:
        return _zone
    return dt.datetime.now().astimezone().tzinfo


def now_utc() -> dt.datetime:
    """Naive UTC now — the form every timestamp column stores."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def local_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).astimezone(zone())


def today() -> dt.date:
    """The operator's local date."""
    return local_now().date()


def to_utc(local: dt.datetime) -> dt.datetime:
    """A local wall-clock time (naive or aware) → naive UTC."""
    if local.tzinfo is None:
        local = local.replace(tzinfo=zone())
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def to_local(utc_naive: dt.datetime) -> dt.datetime:
    return utc_naive.replace(tzinfo=dt.UTC).astimezone(zone())


def midnight_utc(day: dt.date) -> dt.datetime:
    """00:00 local of `day`, as naive UTC."""
    return to_utc(dt.datetime.combine(day, dt.time()))


def local_date_of(utc_naive: dt.datetime) -> dt.date:
    return to_local(utc_naive).date()

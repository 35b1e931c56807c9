"""The per-address slow-down of staff logins (DESIGN §9: logins are
rate-limited).

staff.managers slows down one manager's login after repeated wrong
passwords; this covers what that cannot see: guessing many logins, or
logins that do not exist, from one address.  After `free` failed attempts
from an address within WINDOW, each further attempt from it must wait 2,
4, 8 … seconds (at most 15 minutes) after the last failure — the same
schedule as lockout_seconds below.
"""

from __future__ import annotations

import datetime as dt
import math

from peewee import fn

from lanbill.clock import now_utc
from lanbill.db import transaction
from lanbill.models.logins import LoginFailure

WINDOW = dt.timedelta(minutes=15)
KEEP = dt.timedelta(days=1)


def lockout_seconds(failures: int, free_failures: int) -> int:
    """After `free_failures` wrong passwords in a row, each further attempt
    waits 2, 4, 8 … seconds (at most 15 minutes)."""
    if failures < free_failures:
        return 0
    return min(2 ** (failures - free_failures + 1), 900)


def address_wait(ip: str, free: int) -> int:
    """Seconds the address must still wait before its next attempt (0: none)."""
    now = now_utc()
    count, last = (
        LoginFailure.select(fn.COUNT(LoginFailure.id), fn.MAX(LoginFailure.at))
        .where((LoginFailure.ip == ip) & (LoginFailure.at >= now - WINDOW))
        .tuples()
        .get()
    )
    wait = lockout_seconds(count, free)
    if not wait or last is None:
        return 0
    if isinstance(last, str):  # MAX() over SQLite text comes back unconverted
        last = dt.datetime.fromisoformat(last)
    remaining = (last + dt.timedelta(seconds=wait) - now).total_seconds()
    return math.ceil(remaining) if remaining > 0 else 0


def record_failure(ip: str, login: str) -> None:
    """Remember a refused attempt; forget those older than a day."""
    now = now_utc()
    with transaction():
        LoginFailure.create(ip=ip, login=(login or "")[:64], at=now)
        LoginFailure.delete().where(LoginFailure.at < now - KEEP).execute()

"""The slow-down of staff logins (DESIGN §9: logins are rate-limited),
counted per client address and per login from an address.

Rules:
- failures of one login from one address (LOGIN_MAX_FAILURES, default 5
  free) slow down that login *from that address* only: wrong guesses from
  address A never keep the right password out when it comes from an
  address B without failures — no one can lock the administrator out;
- failures from one address over any logins, known or not
  (LOGIN_MAX_FAILURES_PER_ADDRESS, default 20 free), slow down the whole
  address;
- past the free failures within WINDOW, each further attempt must wait 2,
  4, 8 … seconds (at most 15 minutes) after the last failure;
- an attempt is counted as a failure *before* its password is checked, in
  one transaction serialised per address (SQLite: the writer lock;
  PostgreSQL: an advisory lock on the address), so parallel guesses cannot
  all slip through while the first ones are still being hashed; a correct
  password takes its own attempt back and forgets that login's failures
  from that address.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math

from peewee import fn

from lanbill.clock import now_utc
from lanbill.db import database, is_sqlite, transaction
from lanbill.models.logins import LoginFailure

WINDOW = dt.timedelta(minutes=15)
KEEP = dt.timedelta(days=1)
LONGEST_WAIT = 900


def lockout_seconds(failures: int, free_failures: int) -> int:
    """After `free_failures` failures, each further attempt waits 2, 4, 8 …
    seconds (at most 15 minutes) after the last one."""
    if failures < free_failures:
        return 0
    return min(2 ** (failures - free_failures + 1), LONGEST_WAIT)


def _failures_since(condition, since: dt.datetime) -> tuple[int, dt.datetime | None]:
    count, last = (
        LoginFailure.select(fn.COUNT(LoginFailure.id), fn.MAX(LoginFailure.at))
        .where(condition & (LoginFailure.at >= since))
        .tuples()
        .get()
    )
    if isinstance(last, str):  # MAX() over SQLite text comes back unconverted
        last = dt.datetime.fromisoformat(last)
    return count, last


def _remaining(count: int, last: dt.datetime | None, free: int, now: dt.datetime) -> int:
    wait = lockout_seconds(count, free)
    if not wait or last is None:
        return 0
    remaining = (last + dt.timedelta(seconds=wait) - now).total_seconds()
    return math.ceil(remaining) if remaining > 0 else 0


def _lock_address(ip: str) -> None:
    """Serialise the attempts from one address.  SQLite's write transaction
    already runs alone; PostgreSQL takes a transaction-scoped advisory lock
    keyed by the address."""
    if is_sqlite():
        return
    key = int.from_bytes(hashlib.sha256(b"lanbill-login:" + ip.encode()).digest()[:8], "big", signed=True)
    database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (key,))


def clean_login(login: str | None) -> str:
    return (login or "").strip()[:64]


def waits(ip: str, login: str, *, free_per_login: int, free_per_address: int) -> int:
    """Seconds the next attempt of `login` from `ip` must still wait (0: none)."""
    now = now_utc()
    since = now - WINDOW
    pair = _failures_since((LoginFailure.ip == ip) & (LoginFailure.login == clean_login(login)), since)
    address = _failures_since(LoginFailure.ip == ip, since)
    return max(_remaining(*pair, free_per_login, now), _remaining(*address, free_per_address, now))


def begin_attempt(ip: str, login: str, *, free_per_login: int, free_per_address: int) -> tuple[int, int | None]:
    """Count one login attempt before its password is checked.

    Returns (seconds to wait, None) when the attempt must not be made, or
    (0, attempt id) when it may: the attempt is already recorded as a
    failure and stays one unless `forget_failures` is called for it."""
    with transaction():
        _lock_address(ip)
        wait = waits(ip, login, free_per_login=free_per_login, free_per_address=free_per_address)
        if wait:
            return wait, None
        now = now_utc()
        attempt = LoginFailure.create(ip=ip, login=clean_login(login), at=now)
        LoginFailure.delete().where(LoginFailure.at < now - KEEP).execute()
    return 0, attempt.id


def forget_failures(attempt_id: int, ip: str, login: str) -> None:
    """A correct password: its own attempt and the earlier failures of that
    login from that address are forgotten (the address's failures with
    other logins stay)."""
    with transaction():
        LoginFailure.delete().where(
            (LoginFailure.id == attempt_id)
            | ((LoginFailure.ip == ip) & (LoginFailure.login == clean_login(login)))
        ).execute()

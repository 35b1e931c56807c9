"""Charging from RADIUS accounting (DESIGN §7): time on per-minute
tariffs, and volume for tariffs that take it from RADIUS.

Time: the minutes of an account's sessions inside the operator's local
calendar month (each session's [start, start + Acct-Session-Time] clipped
to the month), rounded up to a whole minute for the month as a whole,
less the tariff's prepaid minutes, times the price per minute.  Charging
is cumulative: each run posts (cost so far − already charged this month),
so re-runs never charge twice and the month adds up exactly.  The
idempotency key carries the cumulative total it brings the month to.

Volume: octets not yet moved (`billed_input`/`billed_output`) go into the
hourly counters (TrafficHourly, category NULL) at the hour of the
session's last update; usage charging prices them from there.  Download
(octets the NAS sent to the subscriber) is bytes_in.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

from lanbill.actor import job
from lanbill.billing.ledger import post_entry
from lanbill.clock import midnight_utc, now_utc, to_local
from lanbill.db import CENT, transaction
from lanbill.models import Account, LedgerEntry, Tariff, TrafficHourly
from lanbill.models.radius import RadiusSession


def month_bounds(now: dt.datetime) -> tuple[dt.date, dt.date, dt.datetime, dt.datetime]:
    """(first day, last day, start UTC, end UTC) of the local month of `now`."""
    local = to_local(now).date()
    first = local.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first, following - dt.timedelta(days=1), midnight_utc(first), midnight_utc(following)


def session_seconds(account_id: int, start: dt.datetime, end: dt.datetime) -> int:
    total = 0
    query = RadiusSession.select(RadiusSession.started_at, RadiusSession.session_time).where(
        (RadiusSession.account_id == account_id) & (RadiusSession.updated_at >= start)
        & (RadiusSession.started_at < end))
    for started_at, seconds in query.tuples():
        session_end = started_at + dt.timedelta(seconds=seconds)
        overlap = (min(session_end, end) - max(started_at, start)).total_seconds()
        if overlap > 0:
            total += int(overlap)
    return total


def charge_time(now: dt.datetime | None = None, *, actor=None) -> int:
    """Post the time charges due as of `now`; returns how many entries."""
    now = now or now_utc()
    actor = actor or job("time")
    first, last, start, end = month_bounds(now)
    posted = 0
    accounts = (Account.select(Account, Tariff).join(Tariff)
                .where((Tariff.price_per_minute > 0) & (Account.deleted == False)))  # noqa: E712
    for account in accounts:
        tariff = account.tariff
        minutes = math.ceil(session_seconds(account.id, start, end) / 60)
        billable = max(0, minutes - tariff.prepaid_minutes)
        target = (tariff.price_per_minute * billable).quantize(CENT)
        charged = -sum((e.amount for e in LedgerEntry.select(LedgerEntry.amount).where(
            (LedgerEntry.account_id == account.id) & (LedgerEntry.kind == "time")
            & (LedgerEntry.period_start == first))), Decimal(0))
        if target <= charged:
            continue
        key = f"{account.agreement_id}:{account.id}:time:-:{first}..{last}:{target}"
        _, created = post_entry(account.agreement_id, -(target - charged), "time", actor=actor, account=account.id,
                                tariff=tariff.id, period_start=first, period_end=last, idempotency_key=key,
                                comment=f"{minutes} min")
        posted += int(created)
    return posted


def move_radius_volume(now: dt.datetime | None = None) -> int:
    """Move unbilled session octets of RADIUS-volume tariffs into hourly
    traffic counters; returns the sessions moved."""
    moved = 0
    radius_tariffs = Tariff.select(Tariff.id).where(Tariff.volume_source == "radius")
    accounts = Account.select(Account.id).where(Account.tariff.in_(radius_tariffs))
    sessions = RadiusSession.select().where(
        RadiusSession.account_id.in_(accounts)
        & ((RadiusSession.input_octets > RadiusSession.billed_input)
           | (RadiusSession.output_octets > RadiusSession.billed_output)))
    with transaction():
        for session in sessions:
            hour = session.updated_at.replace(minute=0, second=0, microsecond=0)
            down = max(0, session.output_octets - session.billed_output)
            up = max(0, session.input_octets - session.billed_input)
            row = TrafficHourly.get_or_none((TrafficHourly.account_id == session.account_id)
                                            & (TrafficHourly.hour == hour) & TrafficHourly.category_id.is_null())
            if row is None:
                TrafficHourly.create(account_id=session.account_id, category_id=None, hour=hour,
                                     bytes_in=down, bytes_out=up, updated_at=now_utc())
            else:
                # updated_at marks the account for the incremental volume run
                (TrafficHourly.update(bytes_in=TrafficHourly.bytes_in + down, bytes_out=TrafficHourly.bytes_out + up,
                                      updated_at=now_utc())
                 .where(TrafficHourly.id == row.id).execute())
            (RadiusSession.update(billed_input=session.input_octets, billed_output=session.output_octets)
             .where(RadiusSession.id == session.id).execute())
            moved += 1
    return moved

"""Traffic statistics for staff screens, the cabinet and the API (seed 002
«Статистика о трафике»): an account's traffic for a period grouped by day,
hour, category or remote address (drill down to port), with in/out/total
and cost; and the retention of old counters.

Days and hours are the operator's local ones.  The cost of hourly rows is
what volume charging makes of them (usage.price_rows: the prepaid volume
of each month used up first); the detail per address, which exists only
for accounts that keep it, is priced at its category's price per MB.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from lanbill.billing import rent, usage
from lanbill.billing.periods import month_end, month_start
from lanbill.clock import midnight_utc, to_local, today
from lanbill.db import CENT, transaction
from lanbill.errors import N_, ValidationError
from lanbill.models import Account, Setting, TrafficCategory, TrafficDetail, TrafficHourly

GROUPS = ("day", "hour", "category", "address", "port")
MAX_DAYS = 366
DEFAULT_HOURLY_DAYS = 3 * 365
DEFAULT_DETAIL_DAYS = 90


@dataclass
class TrafficRow:
    period: str  # "2026-01-05", "2026-01-05 14:00", or "" when grouped otherwise
    category: str | None
    category_id: int | None
    remote: str | None
    port: int | None
    bytes_in: int
    bytes_out: int
    cost: Decimal

    @property
    def total(self) -> int:
        return self.bytes_in + self.bytes_out


def check_range(first: dt.date | None, last: dt.date | None) -> tuple[dt.date, dt.date]:
    """Default: the current month so far; at most a year at once."""
    last = last or today()
    first = first or month_start(last)
    if last < first:
        raise ValidationError(N_("The period ends before it starts."), fields={"to": N_("Before the start.")})
    if (last - first).days >= MAX_DAYS:
        raise ValidationError(N_("Choose a period of at most a year."), fields={"from": N_("Too long.")})
    return first, last


def account_traffic(account: Account, first: dt.date | None, last: dt.date | None, group: str = "day",
                    remote: str | None = None) -> list[TrafficRow]:
    """The rows of one account's statistics (seed 002: by days, hours,
    categories, addresses; an address drills down to its ports)."""
    if group not in GROUPS:
        raise ValidationError(N_("Group by one of day, hour, category, address."), fields={"group": N_("Unknown.")})
    first, last = check_range(first, last)
    names = {c.id: c.name for c in TrafficCategory.select(TrafficCategory.id, TrafficCategory.name)}
    if group in ("address", "port"):
        return _detail_rows(account, first, last, group, remote, names)
    grouped: dict = {}
    for hour, category_id, bytes_in, bytes_out, cost in _priced_hours(account, first, last):
        local = to_local(hour)
        if group == "day":
            key = (local.date().isoformat(), None)
        elif group == "hour":
            key = (local.strftime("%Y-%m-%d %H:00"), None)
        else:
            key = ("", category_id)
        row = grouped.get(key)
        if row is None:
            row = grouped[key] = [0, 0, Decimal(0)]
        row[0] += bytes_in
        row[1] += bytes_out
        row[2] += cost
    out = []
    for (period, category_id), (bytes_in, bytes_out, cost) in sorted(grouped.items(), key=lambda kv: (kv[0][0],
                                                                                                        kv[0][1] or 0)):
        out.append(TrafficRow(period, names.get(category_id) if category_id else None, category_id, None, None,
                              bytes_in, bytes_out, cost.quantize(CENT, rounding=ROUND_HALF_UP)))
    return out


def _priced_hours(account: Account, first: dt.date, last: dt.date):
    """(hour, category_id, in, out, exact cost) for every hourly row in
    [first, last]; each month is priced from its start so that its
    prepaid volume is used up in the same order as when charging."""
    month = month_start(first)
    while month <= last:
        upto = min(month_end(month), last)
        rows = list(
            TrafficHourly.select(TrafficHourly.hour, TrafficHourly.category_id, TrafficHourly.bytes_in,
                                 TrafficHourly.bytes_out)
            .where((TrafficHourly.account_id == account.id) & (TrafficHourly.hour >= midnight_utc(month))
                   & (TrafficHourly.hour < midnight_utc(upto + dt.timedelta(days=1))))
            .order_by(TrafficHourly.hour, TrafficHourly.category_id)
            .tuples()
        )
        if rows:
            prepaid = rent.prepaid_volume_available(account.id, upto)
            costs, _, _ = usage.price_rows(rows, prepaid.tariff_id or account.tariff_id, prepaid.total_bytes)
            start = midnight_utc(first)
            for (hour, category_id, bytes_in, bytes_out), cost in zip(rows, costs, strict=True):
                if hour >= start:
                    yield hour, category_id, int(bytes_in), int(bytes_out), cost
        month = month_end(month) + dt.timedelta(days=1)


def _detail_rows(account, first, last, group, remote, names) -> list[TrafficRow]:
    query = TrafficDetail.select().where(
        (TrafficDetail.account_id == account.id) & (TrafficDetail.hour >= midnight_utc(first))
        & (TrafficDetail.hour < midnight_utc(last + dt.timedelta(days=1)))
    )
    if remote:
        query = query.where(TrafficDetail.remote == remote)
    prices = {c.id: (c.price_in_mb, c.price_out_mb) for c in TrafficCategory.select()}
    grouped: dict = {}
    for row in query:
        key = (row.remote, row.port if group == "port" else None, row.category_id)
        entry = grouped.setdefault(key, [0, 0, Decimal(0)])
        entry[0] += row.bytes_in
        entry[1] += row.bytes_out
        price_in, price_out = prices.get(row.category_id, (0, 0))
        entry[2] += (Decimal(row.bytes_in) * price_in + Decimal(row.bytes_out) * price_out) / usage.MB
    rows = [
        TrafficRow("", names.get(category_id) if category_id else None, category_id, address, port, i, o,
                   cost.quantize(CENT, rounding=ROUND_HALF_UP))
        for (address, port, category_id), (i, o, cost) in grouped.items()
    ]
    rows.sort(key=lambda r: (-(r.bytes_in + r.bytes_out), r.remote, r.port or 0))
    return rows


def totals(rows: list[TrafficRow]) -> TrafficRow:
    return TrafficRow("", None, None, None, None, sum(r.bytes_in for r in rows), sum(r.bytes_out for r in rows),
                      sum((r.cost for r in rows), Decimal("0.00")))


def daily_series(account: Account, first: dt.date, last: dt.date) -> list[tuple[dt.date, int, int]]:
    """(day, in, out) for every day of the period, zeros included (chart)."""
    by_day = {row.period: row for row in account_traffic(account, first, last, "day")}
    out = []
    day = first
    while day <= last:
        row = by_day.get(day.isoformat())
        out.append((day, row.bytes_in if row else 0, row.bytes_out if row else 0))
        day += dt.timedelta(days=1)
    return out


# --- retention -----------------------------------------------------------------------


def retention_days() -> tuple[int, int]:
    """(hourly, detail) days to keep: settings `traffic.hourly_days` and
    `traffic.detail_days`, default three years and 90 days (seed 002: keep
    the detail short — it grows fast)."""
    values = {s.key: s.value for s in Setting.select().where(Setting.key.in_(["traffic.hourly_days",
                                                                             "traffic.detail_days"]))}

    def read(key, default):
        try:
            return max(1, int(values.get(key, default)))
        except (TypeError, ValueError):
            return default

    return read("traffic.hourly_days", DEFAULT_HOURLY_DAYS), read("traffic.detail_days", DEFAULT_DETAIL_DAYS)


def purge_old_traffic(day: dt.date | None = None) -> tuple[int, int]:
    """Delete hourly and detail rows older than their retention."""
    day = day or today()
    hourly_days, detail_days = retention_days()
    with transaction():
        hourly = TrafficHourly.delete().where(
            TrafficHourly.hour < midnight_utc(day - dt.timedelta(days=hourly_days))).execute()
        detail = TrafficDetail.delete().where(
            TrafficDetail.hour < midnight_utc(day - dt.timedelta(days=detail_days))).execute()
    return hourly, detail

"""Volume charging (DESIGN §4–§6): traffic beyond the prepaid volume priced
per category, and the traffic-limit block.

Rules chosen here (DESIGN is silent on them):
* The period is the tariff segment of the local month (rent.py's
  `prepaid_volume_available` gives its days and its prepaid volume, which
  shrinks with blocked days: V·N1/M).
* The prepaid volume covers the in + out bytes of the categories marked
  "prepaid", used up in the order the traffic happened (hour by hour; in
  one hour by category id, incoming before outgoing).  Bytes beyond it,
  and all bytes of non-prepaid categories, cost price_in_mb/price_out_mb
  per MB (1 MB = 1,048,576 bytes).
* Rows without a category (RADIUS accounting volume, or NetFlow traffic
  of no category) are priced by the tariff's catch-all category (the one
  with no networks) if there is one, else they are free; they never draw
  from the prepaid volume (as rent.py counts it).
* The cost of the period is rounded half-up to the kopeck once, on the
  cumulative exact sum; each run posts the difference from what was
  already charged for the period (kind "volume"), under an idempotency
  key, so a re-run never charges twice (DESIGN §4).
* The traffic-limit block (DESIGN §5) is set once the in + out bytes of the
  month reach Tariff.traffic_limit_mb, and lifted when they are below it
  again (a new month, a bigger limit).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import peewee

from lanbill.actor import SYSTEM
from lanbill.billing import blocks, rent
from lanbill.billing.currency import convert
from lanbill.billing.ledger import idempotency_key, post_entry
from lanbill.billing.periods import month_end, month_start
from lanbill.clock import midnight_utc, now_utc, today
from lanbill.db import CENT, from_minor, to_minor, transaction
from lanbill.errors import N_
from lanbill.models import (
    Account,
    Agreement,
    Currency,
    LedgerEntry,
    Setting,
    Tariff,
    TrafficCategory,
    TrafficHourly,
)

MB = 1_048_576
ZERO = Decimal("0.00")


@dataclass
class VolumeCost:
    """The cost of an account's traffic in one period (a tariff segment)."""

    account_id: int
    period_start: dt.date
    period_end: dt.date
    tariff_id: int | None
    prepaid_bytes: int
    prepaid_used: int
    charged_bytes: int
    exact: Decimal  # unrounded
    amount: Decimal  # rounded half-up to the kopeck


def _bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return midnight_utc(first), midnight_utc(last + dt.timedelta(days=1))


def catch_all_category(tariff_id) -> TrafficCategory | None:
    """The tariff's category with no networks ("everything else")."""
    return (TrafficCategory.select()
            .where((TrafficCategory.tariff == tariff_id) & ((TrafficCategory.networks == "")
                                                           | TrafficCategory.networks.is_null()))
            .order_by(TrafficCategory.id).first())


def volume_cost(account, day: dt.date) -> VolumeCost:
    """The cumulative cost of `account`'s traffic from the start of the
    tariff segment containing `day` to the end of `day`."""
    account_id = account.id if hasattr(account, "id") else int(account)
    prepaid = rent.prepaid_volume_available(account_id, day)
    tariff_id = prepaid.tariff_id
    if tariff_id is None:
        tariff_id = Account.get_by_id(account_id).tariff_id
    first, period_end = prepaid.period_start, prepaid.period_end
    if first == period_end == day and not prepaid.total_bytes:
        first, period_end = month_start(day), month_end(day)  # no prepaid segment: the month
    start, end = _bounds(first, min(day, period_end))
    rows = list(
        TrafficHourly.select(TrafficHourly.hour, TrafficHourly.category_id, TrafficHourly.bytes_in,
                             TrafficHourly.bytes_out)
        .where((TrafficHourly.account_id == account_id) & (TrafficHourly.hour >= start)
               & (TrafficHourly.hour < end))
        .order_by(TrafficHourly.hour, TrafficHourly.category_id)
        .tuples()
    )
    costs, used, charged = price_rows(rows, tariff_id, prepaid.total_bytes)
    exact = sum(costs, Decimal(0))
    return VolumeCost(account_id, first, period_end, tariff_id, prepaid.total_bytes, used, charged, exact,
                      exact.quantize(CENT, rounding=ROUND_HALF_UP))


def price_rows(rows: list, tariff_id, free: int) -> tuple[list[Decimal], int, int]:
    """The exact cost of each hourly row (hour, category_id, in, out), in
    time order, with `free` prepaid bytes to use up first (module rules).
    Returns (costs, prepaid bytes used, bytes charged)."""
    category_ids = {c for _, c, _, _ in rows if c}
    categories = {c.id: c for c in TrafficCategory.select().where(TrafficCategory.id.in_(list(category_ids)))} \
        if category_ids else {}
    fallback = catch_all_category(tariff_id) if tariff_id else None
    used = charged = 0
    costs = []
    for _hour, category_id, bytes_in, bytes_out in rows:
        category = categories.get(category_id) if category_id else fallback
        cost = Decimal(0)
        if category is not None:
            draws = bool(category.prepaid) and category_id is not None
            for size, price in ((int(bytes_in), category.price_in_mb), (int(bytes_out), category.price_out_mb)):
                if draws:
                    used += size
                    taken = min(free, size)
                    free -= taken
                    size -= taken
                if size and price:
                    charged += size
                    cost += Decimal(size) * price / MB
        costs.append(cost)
    return costs, used, charged


def _already_charged(account_id: int, first: dt.date, last: dt.date) -> tuple[Decimal, int]:
    """What the period's volume entries charged, in the tariff's currency
    (an entry converted to the agreement's currency keeps the original)."""
    charged = peewee.fn.COALESCE(LedgerEntry.original_amount, LedgerEntry.amount)
    row = (LedgerEntry.select(peewee.fn.COALESCE(peewee.fn.SUM(charged), 0), peewee.fn.COUNT(LedgerEntry.id))
           .where((LedgerEntry.account_id == account_id) & (LedgerEntry.kind == "volume")
                  & (LedgerEntry.period_start == first) & (LedgerEntry.period_end == last))
           .tuples().first())
    total, count = row
    return -from_minor(total or 0), int(count or 0)


def charge_volume(account, day: dt.date | None = None, *, actor=SYSTEM) -> Decimal:
    """Post the volume charge of the period of `day` (and finish the
    previous segment of the month after a tariff change) so that the total
    charged equals the rounded cumulative cost.  Returns the amount posted
    now (0 when nothing was due)."""
    day = day or today()
    account = account if isinstance(account, Account) else Account.get_by_id(account)
    posted = ZERO
    cost = volume_cost(account, day)
    if cost.period_start > month_start(day):
        previous = volume_cost(account, cost.period_start - dt.timedelta(days=1))
        if previous.period_start >= month_start(day):
            posted += _post(account, previous, actor, day)
    posted += _post(account, cost, actor, day)
    return posted


def _post(account: Account, cost: VolumeCost, actor, day: dt.date) -> Decimal:
    """Post the difference between the period's cost and what its entries
    already charged; a tariff in another currency than the agreement's is
    converted at the day's rate, the original amount kept (DESIGN §4)."""
    with transaction():
        charged, count = _already_charged(account.id, cost.period_start, cost.period_end)
        due = cost.amount - charged
        if not due:
            return ZERO
        tariff = Tariff.get_by_id(cost.tariff_id or account.tariff_id)
        agreement = Agreement.get_by_id(account.agreement_id)
        amount, rate = convert(due, tariff.currency_id, agreement.currency_id, day)
        original = {}
        if rate is not None:
            original = {"original_amount": -due, "original_currency": Currency.get_by_id(tariff.currency_id).code,
                        "rate": rate}
        base = idempotency_key(account.agreement_id, account.id, "volume", None, cost.period_start, cost.period_end)
        minor = to_minor(cost.amount)
        _, created = post_entry(
            account.agreement_id, -amount, "volume", actor=actor, account=account.id, tariff=tariff.id,
            period_start=cost.period_start, period_end=cost.period_end,
            comment=f"traffic beyond prepaid: {cost.charged_bytes} bytes",
            idempotency_key=f"{base}:{count + 1}:{minor}", **original,
        )
    return due if created else ZERO


CHECKPOINT_KEY = "usage.checkpoint"
CHECKPOINT_MARGIN = dt.timedelta(minutes=2)  # a flush may commit a little after its rows' stamp


def charge_recent(*, actor=SYSTEM) -> UsageRun:
    """The incremental run: accounts whose traffic grew since the last one."""
    started = now_utc()
    row = Setting.get_or_none(Setting.key == CHECKPOINT_KEY)
    since = dt.datetime.fromisoformat(row.value) - CHECKPOINT_MARGIN if row and row.value else None
    result = charge_all(actor=actor, since=since)
    with transaction():
        Setting.insert(key=CHECKPOINT_KEY, value=started.isoformat()).on_conflict(
            conflict_target=[Setting.key], update={Setting.value: started.isoformat()}).execute()
    return result


def month_bytes(account_id: int, day: dt.date) -> int:
    """In + out bytes of every category in the local month of `day`."""
    start, end = _bounds(month_start(day), month_end(day))
    total = peewee.fn.SUM(TrafficHourly.bytes_in + TrafficHourly.bytes_out)
    value = (TrafficHourly.select(peewee.fn.COALESCE(total, 0))
             .where((TrafficHourly.account_id == account_id) & (TrafficHourly.hour >= start)
                    & (TrafficHourly.hour < end))
             .scalar())
    return int(value or 0)


def enforce_traffic_limit(account, day: dt.date | None = None, *, actor=SYSTEM) -> bool | None:
    """Set the traffic-limit block when the month's traffic reached the
    tariff's limit, lift it when it is below again.  Returns True (set),
    False (lifted) or None (no change)."""
    day = day or today()
    account = Account.get_by_id(account.id if isinstance(account, Account) else account)  # fresh flags
    if account.deleted:
        return None
    limit = Tariff.get_by_id(account.tariff_id).traffic_limit_mb * MB
    used = month_bytes(account.id, day)
    if limit and used >= limit:
        if blocks.set_flag(account, "traffic", True, actor=actor, reason=N_("Traffic limit used up")):
            return True
    elif account.blocked_traffic:
        if blocks.set_flag(account, "traffic", False, actor=actor, reason=N_("Traffic limit available again")):
            return False
    return None


@dataclass
class UsageRun:
    accounts: int = 0
    posted: Decimal = ZERO
    blocked: int = 0
    lifted: int = 0
    errors: int = 0


def charge_all(day: dt.date | None = None, *, actor=SYSTEM, since: dt.datetime | None = None) -> UsageRun:
    """The periodic job: charge the volume and check the traffic limit of
    every account with traffic this month (or a traffic block to lift).
    With `since`, only accounts whose counters grew since then (the
    frequent incremental run; a full run each night catches the rest:
    blocked days shrinking the prepaid volume, a new month)."""
    day = day or today()
    start, end = _bounds(month_start(day), day)
    with_traffic = (TrafficHourly.select(TrafficHourly.account_id).distinct()
                    .where((TrafficHourly.hour >= start) & (TrafficHourly.hour < end)))
    if since is not None:
        with_traffic = with_traffic.where(TrafficHourly.updated_at >= since)
    ids = {row.account_id for row in with_traffic}
    if since is None:
        ids |= {a.id for a in Account.select(Account.id).where(Account.blocked_traffic == True)}  # noqa: E712
    result = UsageRun()
    for account in Account.select().where(Account.id.in_(sorted(ids))) if ids else []:
        result.accounts += 1
        try:
            result.posted += charge_volume(account, day, actor=actor)
            changed = enforce_traffic_limit(account, day, actor=actor)
            result.blocked += changed is True
            result.lifted += changed is False
        except Exception:  # one broken account must not stop the others
            result.errors += 1
    return result

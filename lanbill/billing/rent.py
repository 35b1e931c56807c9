"""Rent and periodic services, charged day by day (DESIGN §6, seed 002
«Списание аренды»).  This is where the rent gets charged.

Rules, in the words of DESIGN §6:

* A day is counted in the state the account had at 00:00 local of that day
  (blocks.state_at answers it from the history).  The rate of a day is R
  (active), Ru (user block), Ra (staff block), Rb (balance or traffic-limit
  block) or 0 (off).
* The share of a monthly amount X that falls on day d of a month of M days
  is round(X·d/M) − round(X·(d−1)/M) (periods.day_share), so a full month
  adds up to X to the kopeck.
* monthly: at 00:00 of the 1st, or when the tariff is assigned, the rate of
  the state at that moment for the days left (s..M); nothing else within
  the month.
* daily: each day its rate's day share, charged at 00:00 of the day.
* dynamic: R for the days left in advance, whatever the balance; then each
  day counted at a rate r ≠ R is corrected by −(share(R) − share(r)) when
  the day is over (in the run at 00:00 of the next day), so the month is
  exactly the sum of the day shares of the day rates — the same money a
  daily tariff would take for the same history.  With prepaid volume V the
  active part stays at least round(R·used/V): corrections stop there
  (R·used/V, seed 002's R2); they are never taken back.
* A tariff segment is the run of days of one month during which the account
  had one tariff; the day of a change belongs to the new tariff.  When a
  segment ends before the month does (tariff change, disconnect date,
  deletion), the advance for its days left is refunded ("the old one is
  closed with the days before it"); a daily charge already taken for the
  change day under the old tariff is refunded.  From the disconnect date on
  nothing is charged.
* Periodic services (USBox) follow the scheme of their catalogue entry at
  the service's price × quantity while the account is active or
  user-blocked, and 0 while blocked by balance, staff or traffic limit or
  off; their segment is the attachment's start..end within the month.
* A unit priced in another currency is converted at the day's rate; the
  original amount and the rate are stored on the entry.

Every entry carries an idempotency key naming the account, the unit
(tariff or attached service), the operation and the period, so any day can
be billed again (after a crash, or to catch up) and posts only what is
missing.  Block changes caused by the run are recorded at the day's 00:00
(blocks.stamped_at), so a late or catch-up run leaves the same history, and
the same money, as a punctual one.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from decimal import Decimal

from lanbill import clock
from lanbill.actor import job
from lanbill.billing import blocks
from lanbill.billing.billed_days import first_billed_day
from lanbill.billing.currency import NoRate, RateBook
from lanbill.billing.ledger import idempotency_key, post_entries
from lanbill.billing.periods import day_share, days, month_end, month_start, range_share
from lanbill.clock import local_date_of
from lanbill.db import CENT, transaction
from lanbill.errors import N_
from lanbill.models import (
    Account,
    AccountService,
    AccountStateChange,
    Agreement,
    LedgerEntry,
    Service,
    Tariff,
    TariffChange,
    TrafficCategory,
    TrafficHourly,
)

ACTOR = job("bill")


@functools.lru_cache(maxsize=1024)
def _midnight(day: dt.date, zone) -> dt.datetime:
    return clock.midnight_utc(day)


def midnight_utc(day: dt.date) -> dt.datetime:
    """clock.midnight_utc, remembered per (day, zone): the run asks it for
    the same few days once per account."""
    return _midnight(day, clock.zone())
MB = 1_048_576  # DESIGN §6: 1 MB = 1,048,576 bytes
BATCH = 2000
ZERO = Decimal("0.00")


# --- the account as a billing pass sees it ---------------------------------


@dataclass
class BilledAccount:
    id: int
    agreement_id: int
    tariff_id: int
    connect_date: dt.date
    disconnect_date: dt.date | None
    deleted_on: dt.date | None
    blocked_balance: bool
    blocked_admin: bool
    blocked_traffic: bool
    blocked_user: bool
    is_off: bool
    changes: list = field(default_factory=list)  # tariff changes (date, at, id, tariff, previous)
    state_rows: list = field(default_factory=list)  # (at, id, flag, action) after the window start
    services: list = field(default_factory=list)  # (AccountService, Service)
    rows_from: dt.datetime = dt.datetime.min  # state_rows hold every row after this instant
    units: dict = field(default_factory=dict)  # day → units_on(day), for one pass

    def last_day(self) -> dt.date | None:
        """The last day of service: the day before the disconnect date or
        the deletion (nothing is charged from that day)."""
        ends = [end for end in (self.disconnect_date, self.deleted_on) if end is not None]
        return min(ends) - dt.timedelta(days=1) if ends else None


@dataclass
class ChargedUnit:
    """Something charged by a rent scheme for a segment of a month: the
    tariff's rent or an attached periodic service."""

    tag: str  # "t<tariff id>" or "s<account service id>"
    scheme: str
    price: Decimal
    rates: dict
    currency_id: int
    kind: str
    correction_kind: str
    start: dt.date
    end: dt.date
    start_instant: dt.datetime
    tariff_id: int | None = None
    service_id: int | None = None
    prepaid_bytes: int = 0

    def rate(self, state: str) -> Decimal:
        return self.rates[state]


def tariff_rates(tariff: Tariff) -> dict:
    """The rate of each state (DESIGN §5's "charged as" column)."""
    return {
        "active": tariff.rent,
        "user": tariff.effective_rent_user_blocked,
        "admin": tariff.effective_rent_admin_blocked,
        "balance": tariff.rent_blocked,
        "traffic": tariff.rent_blocked,
        "off": ZERO,
    }


def service_rates(price: Decimal) -> dict:
    return {"active": price, "user": price, "admin": ZERO, "balance": ZERO, "traffic": ZERO, "off": ZERO}


def rate_state(account, instant: dt.datetime, rows=None) -> str:
    """The state that sets the rate of a day: "off" whenever the off flag
    was set (rate 0), otherwise the shown state (DESIGN §5)."""
    flags = blocks.flags_at(account, instant, rows)
    return "off" if flags.get("off") else blocks.state_from_flags(flags)


# --- which tariff, which segment --------------------------------------------


def tariff_on(account: BilledAccount, day: dt.date):
    """(tariff id, the change that started it or None) on `day`, or None
    when no tariff is assigned or the account is out of service."""
    if day < account.connect_date:
        return None
    last = account.last_day()
    if last is not None and day > last:
        return None
    current = None
    for change in account.changes:
        if change[0] <= day:
            current = change
        else:
            break
    if current is not None:
        return current[3], current
    if account.changes:
        return (account.changes[0][4], None) if account.changes[0][4] else None
    return account.tariff_id, None


def tariff_unit(account: BilledAccount, day: dt.date, tariffs: dict) -> ChargedUnit | None:
    found = tariff_on(account, day)
    if found is None:
        return None
    tariff_id, change = found
    tariff = tariffs[tariff_id]
    first_of_month = month_start(day)
    start = max(first_of_month, account.connect_date)
    instant = midnight_utc(start)
    if change is not None and change[0] >= first_of_month and change[0] >= start:
        start = change[0]
        instant = max(change[1], midnight_utc(start))
    end = month_end(day)
    for other in account.changes:
        if other[0] > day:
            end = min(end, other[0] - dt.timedelta(days=1))
            break
    last = account.last_day()
    if last is not None:
        end = min(end, last)
    rates = getattr(tariff, "_billing_rates", None)
    if rates is None:
        rates = tariff._billing_rates = tariff_rates(tariff)
    return ChargedUnit(
        tag=f"t{tariff.id}", scheme=tariff.scheme, price=tariff.rent, rates=rates,
        currency_id=tariff.currency_id, kind="rent", correction_kind="rent_correction",
        start=start, end=end, start_instant=instant, tariff_id=tariff.id,
        prepaid_bytes=(tariff.prepaid_mb or 0) * MB,
    )


def service_units(account: BilledAccount, day: dt.date) -> list[ChargedUnit]:
    units = []
    last = account.last_day()
    if day < account.connect_date or (last is not None and day > last):
        return units
    for attached, service in account.services:
        if service.kind != "periodic" or attached.start_date > day:
            continue
        if attached.end_date is not None and attached.end_date < day:
            continue
        start = max(month_start(day), attached.start_date, account.connect_date)
        end = month_end(day)
        if attached.end_date is not None:
            end = min(end, attached.end_date)
        if last is not None:
            end = min(end, last)
        price = service.price * (attached.quantity or 1)
        units.append(ChargedUnit(
            tag=f"s{attached.id}", scheme=service.scheme, price=price, rates=service_rates(price),
            currency_id=service.currency_id, kind="service", correction_kind="service",
            start=start, end=end, start_instant=midnight_utc(start), service_id=service.id,
        ))
    return units


def units_on(account: BilledAccount, day: dt.date, tariffs: dict) -> list[ChargedUnit]:
    if day not in account.units:
        unit = tariff_unit(account, day, tariffs)
        account.units[day] = ([unit] if unit else []) + service_units(account, day)
    return account.units[day]


# --- the entries of a day -----------------------------------------------------


class BillingPass:
    """One billing pass over a batch: collects entries with their keys."""

    def __init__(self, agreements: dict, keys: dict, book: RateBook):
        self.agreements = agreements  # id → currency id
        self.keys = keys  # idempotency key → amount already posted
        self.book = book
        self.entries: list[dict] = []
        self.stamps: dict[int, dt.datetime] = {}

    def key(self, account: BilledAccount, operation: str, unit: ChargedUnit, first: dt.date, last: dt.date) -> str:
        return idempotency_key(account.agreement_id, account.id, f"{operation}:{unit.tag}", None, first, last)

    def add(self, account: BilledAccount, unit: ChargedUnit, key: str, charge: Decimal, kind: str,
            first: dt.date, last: dt.date, rate_day: dt.date, comment: str = "") -> None:
        """Add an entry charging `charge` (negative: a refund); the ledger
        amount is its opposite, since a charge lowers the balance."""
        if not charge or key in self.keys:
            return
        amount = -charge
        entry = {
            "agreement_id": account.agreement_id, "amount": amount, "kind": kind, "account_id": account.id,
            "tariff_id": unit.tariff_id, "service_id": unit.service_id, "period_start": first,
            "period_end": last, "idempotency_key": key, "comment": comment,
        }
        target = self.agreements[account.agreement_id]
        if unit.currency_id != target:
            rate = self.book.rate(unit.currency_id, target, rate_day)
            entry.update(
                original_amount=amount, original_currency=self.book.code(unit.currency_id), rate=rate,
                amount=(amount * rate).quantize(CENT, rounding="ROUND_HALF_UP"),
            )
        self.keys[key] = entry["amount"]
        self.entries.append(entry)


def close_day(billing_pass: BillingPass, account: BilledAccount, day: dt.date, tariffs: dict) -> None:
    """The day `day` is over: a dynamic unit's correction for it, by the
    state at 00:00 of that day (DESIGN §6)."""
    for unit in units_on(account, day, tariffs):
        if unit.scheme != "dynamic":
            continue
        state = rate_state(account, midnight_utc(day), account.state_rows)
        rate = unit.rate(state)
        if rate == unit.price:
            continue
        if unit.prepaid_bytes:
            amount = prepaid_capped_correction(account, unit, day)
        else:
            amount = -(day_share(unit.price, day) - day_share(rate, day))
        key = billing_pass.key(account, "corr", unit, day, day)
        billing_pass.add(account, unit, key, amount, unit.correction_kind, day, day, day, comment=state)


def open_day(billing_pass: BillingPass, account: BilledAccount, day: dt.date, tariffs: dict) -> None:
    """00:00 of `day`: close segments that ended yesterday, take the
    advance of a segment not yet advanced, and the daily charges."""
    if day.day != 1:
        yesterday = day - dt.timedelta(days=1)
        for unit in units_on(account, yesterday, tariffs):
            if unit.end != yesterday or unit.scheme == "daily":
                continue
            last = month_end(day)
            if billing_pass.key(account, "adv", unit, unit.start, last) not in billing_pass.keys:
                continue
            rate = advance_rate(account, unit)
            key = billing_pass.key(account, "close", unit, unit.start, last)
            billing_pass.add(account, unit, key, -range_share(rate, day, last), unit.correction_kind, day, last, day,
                             comment="closed")
    today_tariff = tariff_on(account, day)
    other_tariffs = ({account.tariff_id} | {change[3] for change in account.changes}
                     | {change[4] for change in account.changes if change[4]})
    last = month_end(day)
    for tariff_id in sorted(other_tariffs - {today_tariff[0] if today_tariff else None}):
        # Taken for `day` under a tariff the day no longer belongs to (a
        # change later that day): the daily charge of the day, and the
        # advance of a segment that was to start today.
        for operation, first, end in (("day", day, day), ("adv", day, last)):
            key = idempotency_key(account.agreement_id, account.id, f"{operation}:t{tariff_id}", None, first, end)
            undo = idempotency_key(account.agreement_id, account.id, f"undo-{operation}:t{tariff_id}", None, first,
                                   end)
            if billing_pass.keys.get(key) and undo not in billing_pass.keys:
                billing_pass.keys[undo] = -billing_pass.keys[key]
                billing_pass.entries.append({
                    "agreement_id": account.agreement_id, "amount": -billing_pass.keys[key],
                    "kind": "rent_correction",
                    "account_id": account.id, "tariff_id": tariff_id, "service_id": None, "period_start": first,
                    "period_end": end, "idempotency_key": undo, "comment": "tariff changed",
                })
    for unit in units_on(account, day, tariffs):
        last = month_end(day)
        if unit.scheme in ("monthly", "dynamic"):
            key = billing_pass.key(account, "adv", unit, unit.start, last)
            if key not in billing_pass.keys:
                rate = advance_rate(account, unit)
                billing_pass.add(account, unit, key, range_share(rate, unit.start, last), unit.kind, unit.start,
                                 last, unit.start, comment="advance")
                if unit.start_instant > midnight_utc(day):
                    stamps = billing_pass.stamps
                    stamps[account.agreement_id] = max(stamps.get(account.agreement_id, unit.start_instant),
                                                       unit.start_instant)
        elif unit.scheme == "daily":
            state = rate_state(account, midnight_utc(day), account.state_rows)
            key = billing_pass.key(account, "day", unit, day, day)
            billing_pass.add(account, unit, key, day_share(unit.rate(state), day), unit.kind, day, day, day,
                             comment=state)


def advance_rate(account: BilledAccount, unit: ChargedUnit) -> Decimal:
    """dynamic: R whatever the state; monthly: the rate of the state at the
    moment the segment starts (DESIGN §6)."""
    if unit.scheme == "dynamic":
        return unit.price
    rows = account.state_rows if unit.start_instant >= account.rows_from else _all_rows(account)
    return unit.rate(rate_state(account, unit.start_instant, rows))


def _all_rows(account: BilledAccount) -> list:
    return list(
        AccountStateChange.select(
            AccountStateChange.at, AccountStateChange.id, AccountStateChange.flag, AccountStateChange.action
        ).where(AccountStateChange.account == account.id).tuples()
    )


# --- prepaid volume -------------------------------------------------------------


def _prepaid_categories(tariff_id: int) -> list[int]:
    return [
        category.id for category in TrafficCategory.select(TrafficCategory.id).where(
            (TrafficCategory.tariff == tariff_id) & (TrafficCategory.prepaid == True)  # noqa: E712
        )
    ]


def used_bytes_by_day(account_id: int, tariff_id: int, first: dt.date, last: dt.date) -> dict:
    """Bytes (in + out) of the tariff's prepaid categories per local day."""
    categories = _prepaid_categories(tariff_id)
    if not categories:
        return {}
    rows = (
        TrafficHourly.select(TrafficHourly.hour, TrafficHourly.bytes_in + TrafficHourly.bytes_out)
        .where(
            (TrafficHourly.account_id == account_id)
            & (TrafficHourly.category_id.in_(categories))
            & (TrafficHourly.hour >= midnight_utc(first))
            & (TrafficHourly.hour < midnight_utc(last + dt.timedelta(days=1)))
        )
        .tuples()
    )
    out: dict = {}
    for hour, total in rows:
        day = local_date_of(hour)
        out[day] = out.get(day, 0) + int(total or 0)
    return out


def prepaid_capped_correction(account: BilledAccount, unit: ChargedUnit, day: dt.date) -> Decimal:
    """The correction of blocked day `day` for a dynamic tariff with prepaid
    volume V: the active part never drops below round(R·used/V), used being
    the prepaid traffic up to the end of the day (seed 002: «доля списанной
    абонентской платы не может быть меньше доли израсходованной
    предоплаченной услуги»).  Computed from the segment's start so a rerun
    gives the same amount."""
    rows = _all_rows(account)
    traffic = used_bytes_by_day(account.id, unit.tariff_id, unit.start, day)
    advance = range_share(unit.price, unit.start, unit.end)
    used = 0
    raw = reduced = previous = ZERO
    for each_day in days(unit.start, day):
        used += traffic.get(each_day, 0)
        rate = unit.rate(rate_state(account, midnight_utc(each_day), rows))
        previous = reduced
        if rate != unit.price:
            raw += day_share(unit.price, each_day)
            floor = (unit.price * min(used, unit.prepaid_bytes) / unit.prepaid_bytes).quantize(
                CENT, rounding="ROUND_HALF_UP")
            reduced = max(reduced, min(raw, advance - floor))
    rate = unit.rate(rate_state(account, midnight_utc(day), rows))
    return -((reduced - previous) - day_share(rate, day))


@dataclass
class PrepaidVolume:
    """The prepaid volume of an account's tariff for the month of a day."""

    total_bytes: int
    used_bytes: int
    period_start: dt.date
    period_end: dt.date
    tariff_id: int | None

    @property
    def available_bytes(self) -> int:
        return max(0, self.total_bytes - self.used_bytes)

    @property
    def beyond_bytes(self) -> int:
        return max(0, self.used_bytes - self.total_bytes)


def prepaid_volume_available(account, period) -> PrepaidVolume:
    """The prepaid volume of `account`'s tariff segment containing the day
    `period` (a date; a datetime is taken as its local date), for the usage
    engine (lanbill/billing/usage.py) to charge only the traffic beyond it.

    DESIGN §6: the volume shrinks to V·N1/M, N1 being the segment's days
    counted active (user-blocked included) — days up to `period` by their
    state at 00:00, later days of the segment counted active (they have not
    happened yet).  `used_bytes` is the in + out traffic of the tariff's
    prepaid categories from the segment's start to the end of `period`.
    A tariff without prepaid volume answers total 0.
    """
    day = local_date_of(period) if isinstance(period, dt.datetime) else period
    loaded = load_accounts([account.id if hasattr(account, "id") else int(account)], day)
    if not loaded:  # not connected yet, or deleted before the month
        return PrepaidVolume(0, 0, day, day, None)
    billed = loaded[0]
    tariffs = {tariff.id: tariff for tariff in Tariff.select()}
    unit = tariff_unit(billed, day, tariffs)
    if unit is None or not unit.prepaid_bytes:
        return PrepaidVolume(0, 0, day, day, unit.tariff_id if unit else None)
    rows = _all_rows(billed)
    days_in_month = (month_end(day) - month_start(day)).days + 1
    active = 0
    for each_day in days(unit.start, unit.end):
        if each_day <= day:
            state = rate_state(billed, midnight_utc(each_day), rows)
            if state in ("active", "user"):
                active += 1
        else:
            active += 1
    total = unit.prepaid_bytes * active // days_in_month
    used = sum(used_bytes_by_day(billed.id, unit.tariff_id, unit.start, min(day, unit.end)).values())
    return PrepaidVolume(total, used, unit.start, unit.end, unit.tariff_id)


# --- loading a batch -------------------------------------------------------------


def _base_filter(day: dt.date):
    window = midnight_utc(month_start(day - dt.timedelta(days=1)))
    return ((Account.deleted == False) | (Account.deleted_at >= window)) & (Account.connect_date <= day)  # noqa: E712


def account_ids_for(day: dt.date, subset=None) -> list[tuple[int, int]]:
    """(agreement id, account id) of every account that may be billed on
    `day` (and `day`−1), in agreement order — live ones and those deleted
    since the start of the previous day's month."""
    query = Account.select(Account.agreement, Account.id).where(_base_filter(day))
    if subset is not None:
        query = query.where(Account.id.in_(list(subset)))
    return list(query.order_by(Account.agreement, Account.id).tuples())


@dataclass
class Scope:
    """The accounts of one batch: whole agreements first..last (a range,
    so the queries stay small and use the indexes), or listed ids."""

    day: dt.date
    first: int
    last: int
    ids: list | None = None

    def accounts(self):
        # Only the agreement range (and ids): with more conditions SQLite's
        # planner may prefer the low-selectivity index on `deleted` and scan
        # every account for each batch.  load_accounts filters the rest.
        where = Account.agreement.between(self.first, self.last)
        if self.ids is not None:
            where &= Account.id.in_(self.ids)
        return where

    def account_ids(self):
        return Account.select(Account.id).where(self.accounts())


def load_accounts(scope, day: dt.date, include_rows_from: dt.datetime | None = None) -> list[BilledAccount]:
    """The accounts of `scope` (a Scope, or a list of account ids) with
    their tariff changes since the start of the previous day's month, their
    state rows after `include_rows_from` and their attached services —
    four queries for the batch."""
    if not isinstance(scope, Scope):
        scope = Scope(day, -1, 2**62, list(scope))
    window_day = month_start(day - dt.timedelta(days=1))
    rows_from = include_rows_from or midnight_utc(window_day)
    accounts = {}
    query = Account.select(
        Account.id, Account.agreement, Account.tariff, Account.connect_date, Account.disconnect_date,
        Account.deleted, Account.deleted_at, Account.blocked_balance, Account.blocked_admin,
        Account.blocked_traffic, Account.blocked_user, Account.is_off,
    ).where(scope.accounts()).order_by(Account.agreement, Account.id).tuples()
    window = midnight_utc(window_day)
    for (account_id, agreement, tariff, connect, disconnect, deleted, deleted_at,
         blocked_balance, blocked_admin, blocked_traffic, blocked_user, is_off) in query:
        if _as_date(connect) > day or (deleted and (deleted_at is None or deleted_at < window)):
            continue
        account = BilledAccount(
            account_id, agreement, tariff, _as_date(connect), _as_date(disconnect),
            local_date_of(deleted_at) if deleted and deleted_at else None,
            bool(blocked_balance), bool(blocked_admin), bool(blocked_traffic), bool(blocked_user), bool(is_off),
        )
        account.rows_from = rows_from
        accounts[account_id] = account
    changes = (
        TariffChange.select(
            TariffChange.account, TariffChange.at, TariffChange.id, TariffChange.tariff,
            TariffChange.previous_tariff,
        )
        .where(
            TariffChange.account.in_(scope.account_ids()) & (TariffChange.at >= midnight_utc(window_day))
            & TariffChange.applied_at.is_null(False) & TariffChange.cancelled_at.is_null(True)
        )
        .order_by(TariffChange.at, TariffChange.id)
        .tuples()
    )
    for account_id, at, change_id, tariff, previous in changes:
        if account_id in accounts:
            accounts[account_id].changes.append((local_date_of(at), at, change_id, tariff, previous))
    states = (
        AccountStateChange.select(
            AccountStateChange.account, AccountStateChange.at, AccountStateChange.id,
            AccountStateChange.flag, AccountStateChange.action,
        )
        .where((AccountStateChange.at > rows_from) & AccountStateChange.account.in_(scope.account_ids()))
        .tuples()
    )
    for account_id, at, row_id, flag, action in states:
        if account_id in accounts:
            accounts[account_id].state_rows.append((at, row_id, flag, action))
    services = (
        AccountService.select(AccountService, Service)
        .join(Service)
        .where(
            AccountService.account.in_(scope.account_ids()) & (AccountService.start_date <= day)
            & (AccountService.end_date.is_null(True) | (AccountService.end_date >= window_day))
        )
    )
    for attached in services:
        if attached.account_id in accounts:
            accounts[attached.account_id].services.append((attached, attached.service))
    return list(accounts.values())


def _as_date(value):
    if value is None or isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    return dt.date.fromisoformat(str(value))


def _posted_keys(scope: Scope, since: dt.date) -> dict:
    """Keys (→ ledger amount) of the batch's periodic entries that may
    matter for days from `since`: every entry whose period ends on or after
    it."""
    where = LedgerEntry.agreement.between(scope.first, scope.last) & (LedgerEntry.period_end >= since)
    if scope.ids is not None:
        where &= LedgerEntry.account_id.in_(scope.ids)
    query = LedgerEntry.select(LedgerEntry.idempotency_key, LedgerEntry.amount).where(where).tuples()
    return {key: amount for key, amount in query if key}


# --- the pass ------------------------------------------------------------------------


@dataclass
class DayResult:
    day: dt.date
    accounts: int = 0
    entries: int = 0
    errors: list = field(default_factory=list)


def bill_day(day: dt.date, subset=None, *, nightly: bool = True, batch: int = BATCH,
             since: dt.date | None = None) -> DayResult:
    """Bill one local day for every account (or the `subset`): close the
    day before (dynamic corrections), then open `day` (closings, advances,
    daily charges).  `nightly` also does the day's flag housekeeping: the
    off flag from the disconnect date, and the traffic-limit block lifted at
    the start of a month (DESIGN §5: "until the next period").

    Work is done in batches of whole agreements, each batch in one
    transaction, so a crash leaves every agreement either done or untouched
    for the day; the idempotency keys make a rerun post only the rest.
    `since` is the first day billing ever ran: no day before it is corrected.
    """
    result = DayResult(day)
    pairs = account_ids_for(day, subset)
    tariffs = {tariff.id: tariff for tariff in Tariff.select()}
    book = RateBook()
    yesterday = day - dt.timedelta(days=1)
    for chunk in _agreement_chunks(pairs, batch):
        listed = [account_id for _, account_id in chunk] if subset is not None else None
        scope = Scope(day, chunk[0][0], chunk[-1][0], listed)
        with transaction():
            if nightly:
                _housekeeping(scope, day)
            agreements = dict(
                Agreement.select(Agreement.id, Agreement.currency)
                .where(Agreement.id.between(scope.first, scope.last)).tuples()
            )
            keys = _posted_keys(scope, yesterday)
            # close yesterday
            accounts = load_accounts(scope, day, include_rows_from=midnight_utc(yesterday))
            closing = BillingPass(agreements, keys, book)
            if since is None or yesterday >= since:
                for account in accounts:
                    _guarded(result, account, closing,
                             lambda billing_pass, billed: close_day(billing_pass, billed, yesterday, tariffs))
            with blocks.stamped_at(midnight_utc(day)):
                posted = post_entries(closing.entries, actor=ACTOR, known=True)
            result.entries += len(posted)
            if posted:
                # open today with the flags yesterday's corrections may have changed
                accounts = load_accounts(scope, day, include_rows_from=midnight_utc(yesterday))
            opening = BillingPass(agreements, closing.keys, book)
            for account in accounts:
                _guarded(result, account, opening,
                         lambda billing_pass, billed: open_day(billing_pass, billed, day, tariffs))
            with blocks.stamped_at(midnight_utc(day)):
                posted = post_entries(opening.entries, actor=ACTOR, stamps=opening.stamps, known=True)
            result.entries += len(posted)
            result.accounts += len(accounts)
    return result


def _guarded(result: DayResult, account: BilledAccount, billing_pass: BillingPass, work) -> None:
    """Run one account's work; an account whose charge needs a missing
    exchange rate is skipped (its entries wait for the rate) and reported."""
    before = len(billing_pass.entries)
    try:
        work(billing_pass, account)
    except NoRate as exc:
        for entry in billing_pass.entries[before:]:
            billing_pass.keys.pop(entry["idempotency_key"], None)
        del billing_pass.entries[before:]
        result.errors.append((account.id, str(exc)))


def _agreement_chunks(pairs, size):
    chunk = []
    for index, (agreement_id, account_id) in enumerate(pairs):
        chunk.append((agreement_id, account_id))
        following = pairs[index + 1][0] if index + 1 < len(pairs) else None
        if len(chunk) >= size and following != agreement_id:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _housekeeping(scope: Scope, day: dt.date) -> None:
    """Flags the calendar sets at 00:00 of `day`, recorded at that instant."""
    with blocks.stamped_at(midnight_utc(day)):
        due_off = Account.select().where(
            scope.accounts() & (Account.is_off == False)  # noqa: E712
            & Account.disconnect_date.is_null(False) & (Account.disconnect_date <= day)
        )
        for account in due_off:
            blocks.set_flag(account, "off", True, actor=ACTOR, reason=N_("Disconnect date reached"))
        if day.day == 1:
            limited = Account.select().where(scope.accounts() & (Account.blocked_traffic == True))  # noqa: E712
            for account in limited:
                blocks.set_flag(account, "traffic", False, actor=ACTOR, reason=N_("New period: traffic limit reset"))


def bill_account(account, day: dt.date) -> DayResult:
    """Bill one account's agreement for `day` at once (after a tariff change
    or an assignment): the same pass as the nightly run, for its accounts."""
    account_id = account.id if hasattr(account, "id") else int(account)
    agreement_id = Account.select(Account.agreement).where(Account.id == account_id).scalar()
    ids = [account_id for (account_id,) in Account.select(Account.id).where(Account.agreement == agreement_id).tuples()]
    return bill_day(day, ids, nightly=False, since=first_billed_day() or day)


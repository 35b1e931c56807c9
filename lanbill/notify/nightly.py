"""The nightly notices (DESIGN §12): "your money runs out in N days" and
"your tariff changes tomorrow", over all agreements at once — a few
set-based queries and a loop in memory, never a query per agreement
(100,000 agreements in seconds).

Low balance, the rule: the forecast of customers.cabinet.balance_lasts_until
(the cabinet's "your balance lasts until"), computed here for every
agreement together: today taken as charged; from tomorrow each live
account costs its tariff's rent for the state it is in now (a balance block
counted as active, off as 0), daily tariffs day by day with cumulative
rounding, monthly and dynamic ones the whole month on the 1st; planned
tariff changes from their date; a disconnect date stops the rent.  An
agreement is warned when the first day its available funds no longer
cover falls within the next N days, N being the largest
GroupNotifyRule.low_balance_days of the subscriber's groups (else
NOTIFY_LOW_BALANCE_DAYS, default 3; 0: never warned).  Funds already
below zero are not warned (the block notice tells that).  The occurrence
is the forecast's last covered day, so the warning goes once, and again
only when a new forecast date runs low.

Speed: the database first picks the agreements that could run out at all
(`_candidates`: funds below a bound of what their tariffs could take in
the window); only those are loaded and forecast day by day.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from lanbill import clock
from lanbill.billing.currency import RateBook, convert
from lanbill.billing.periods import cumulative, days_in_month
from lanbill.billing.rent import tariff_rates
from lanbill.db import database
from lanbill.models import Account, Agreement, Currency, Subscriber, SubscriberGroup, Tariff, TariffChange
from lanbill.models.notify import GroupNotifyRule
from lanbill.money import format_money
from lanbill.notify import outbox
from lanbill.notify.contacts import recipients
from lanbill.notify.notices import key_of, local_date, messages_for
from lanbill.notify.settings import NotifySettings
from lanbill.notify.texts import all_overrides

ZERO = Decimal(0)


def warning_days(default: int) -> tuple[dict[int, int], int]:
    """({subscriber id: N} for subscribers in a group with a rule, default N)."""
    rules = {r.group_id: r.low_balance_days for r in GroupNotifyRule.select()}
    by_subscriber: dict[int, int] = {}
    if rules:
        for subscriber_id, group_id in (SubscriberGroup.select(SubscriberGroup.subscriber, SubscriberGroup.group)
                                        .where(SubscriberGroup.group.in_(list(rules))).tuples()):
            by_subscriber[subscriber_id] = max(by_subscriber.get(subscriber_id, 0), rules[group_id])
    return by_subscriber, default


def forecast_all(day: dt.date, horizon_days: dict[int, int], default_days: int) -> dict[int, dt.date]:
    """{agreement id: last covered day} for the agreements whose funds run
    out within their N days from `day` (the rule in the module docstring).
    `horizon_days` maps a subscriber to N."""
    longest = max([default_days, *horizon_days.values()]) if horizon_days else default_days
    if longest <= 0:
        return {}
    tariffs = {}
    for tariff in Tariff.select():
        tariffs[tariff.id] = (tariff.scheme, tariff_rates(tariff), tariff.currency_id)
    end = day + dt.timedelta(days=longest + 1)
    changes: dict[int, list] = {}
    for account_id, tariff_id, at in (TariffChange.select(TariffChange.account, TariffChange.tariff, TariffChange.at)
                                      .where(TariffChange.applied_at.is_null(True)
                                             & TariffChange.cancelled_at.is_null(True)
                                             & (TariffChange.at < clock.midnight_utc(end)))
                                      .order_by(TariffChange.at).tuples()):
        changes.setdefault(account_id, []).append((clock.local_date_of(at), tariff_id))
    candidates = sorted(_candidates(longest, end, bool(changes)))
    agreements = {}
    accounts = []
    for i in range(0, len(candidates), 500):
        chunk = candidates[i:i + 500]
        for agreement_id, subscriber_id, balance, credit, promised, currency_id in (
                Agreement.select(Agreement.id, Agreement.subscriber, Agreement.balance, Agreement.credit_limit,
                                 Agreement.promised_amount, Agreement.currency)
                .where(Agreement.id.in_(chunk)).tuples()):
            funds = (balance or ZERO) + (credit or ZERO) + (promised or ZERO)
            if funds >= 0:
                agreements[agreement_id] = (subscriber_id, funds, currency_id)
        accounts.extend(Account.select(Account.id, Account.agreement, Account.tariff, Account.state, Account.is_off,
                                       Account.disconnect_date)
                        .where(Account.agreement.in_(chunk) & (Account.deleted == False)).tuples())  # noqa: E712
    plans: dict[int, list] = {}
    book = RateBook()
    converted: dict = {}

    def rate_of(tariff_id, state, currency_id):
        scheme, rates, tariff_currency = tariffs[tariff_id]
        rate = rates[state] or ZERO
        if rate and tariff_currency != currency_id:
            key = (tariff_id, state, currency_id)
            if key not in converted:
                converted[key] = convert(rate, tariff_currency, currency_id, day, book)[0]
            rate = converted[key]
        return scheme, Decimal(rate)

    for account_id, agreement_id, tariff_id, state, is_off, disconnect in accounts:
        found = agreements.get(agreement_id)
        if found is None:
            continue
        state = "off" if is_off else ("active" if state == "balance" else state)
        currency_id = found[2]
        plan = [(dt.date.min, *rate_of(tariff_id, state, currency_id))]
        for from_day, new_tariff in changes.get(account_id, ()):
            plan.append((from_day, *rate_of(new_tariff, state, currency_id)))
        if disconnect:
            plan.append((disconnect, "daily", ZERO))
        plan.sort(key=lambda step: step[0])
        if any(rate for _, _, rate in plan):
            plans.setdefault(agreement_id, []).append(plan)
    out = {}
    share_cache: dict = {}
    for agreement_id, account_plans in plans.items():
        subscriber_id, funds, _ = agreements[agreement_id]
        days = horizon_days.get(subscriber_id, default_days)
        spent = ZERO
        for offset in range(1, days + 1):
            current = day + dt.timedelta(days=offset)
            for plan in account_plans:
                scheme, rate = next(step[1:] for step in reversed(plan) if step[0] <= current)
                if not rate:
                    continue
                if scheme == "daily":
                    key = (rate, current)
                    share = share_cache.get(key)
                    if share is None:
                        m = days_in_month(current)
                        share = share_cache[key] = (cumulative(rate, current.day, m)
                                                    - cumulative(rate, current.day - 1, m))
                    spent += share
                elif current.day == 1:
                    spent += rate
            if spent > funds:
                out[agreement_id] = current - dt.timedelta(days=1)
                break
    return out


def _candidates(longest: int, end: dt.date, any_pending: bool) -> set[int]:
    """The agreements that may run out within `longest` days, found by the
    database in one pass (the rest are never loaded): funds ≥ 0 and below
    k times the sum of all rates of their live accounts' tariffs (k = the
    months a window of `longest` days can touch, so a true case is never
    missed), or with a tariff in another currency, or with a planned tariff
    change before `end` (their rates are worked out in full)."""
    months = longest // 28 + 2
    false = database.param
    funds = '(a."balance" + a."credit_limit" + a."promised_amount")'
    found = {row[0] for row in database.execute_sql(
        f'SELECT a."id" FROM "agreement" a JOIN "account" ac ON ac."agreement_id" = a."id" '
        f'JOIN "tariff" t ON t."id" = ac."tariff_id" WHERE a."closed_at" IS NULL AND ac."deleted" = {false} '
        f'GROUP BY a."id", a."balance", a."credit_limit", a."promised_amount", a."currency_id" '
        f'HAVING {funds} >= 0 AND ({funds} < {months} * SUM(t."rent" + t."rent_blocked" '
        f'+ COALESCE(t."rent_admin_blocked", 0) + COALESCE(t."rent_user_blocked", 0)) '
        f'OR MAX(CASE WHEN t."currency_id" <> a."currency_id" THEN 1 ELSE 0 END) = 1)', (False,))}
    if any_pending:
        found |= {agreement_id for (agreement_id,) in (
            Account.select(Account.agreement).join(TariffChange, on=(TariffChange.account == Account.id))
            .where(TariffChange.applied_at.is_null(True) & TariffChange.cancelled_at.is_null(True)
                   & (TariffChange.at < clock.midnight_utc(end))).distinct().tuples())}
    return found


def low_balance(settings: NotifySettings, *, day: dt.date | None = None) -> dict:
    """Queue the low-balance warnings of every agreement (the rule in the
    module docstring).  Returns {"warned": agreements, "queued": messages}."""
    day = day or clock.today()
    by_subscriber, default = warning_days(settings.low_balance_days)
    running_out = forecast_all(day, by_subscriber, default)
    if not running_out:
        return {"warned": 0, "queued": 0}
    rows = {}
    ids = list(running_out)
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        for agreement_id, number, balance, currency_id, subscriber_id, name in (
                Agreement.select(Agreement.id, Agreement.number, Agreement.balance, Agreement.currency,
                                 Subscriber.id, Subscriber.name)
                .join(Subscriber).where(Agreement.id.in_(chunk)).tuples()):
            rows[agreement_id] = (number, balance, currency_id, subscriber_id, name)
    contacts = recipients([r[3] for r in rows.values()], "low_balance")
    overrides = all_overrides()
    symbols = {c.id: c.symbol or c.code for c in Currency.select()}
    done = outbox.existing_keys(
        key_of("low_balance", f"{agreement_id}:{until.isoformat()}", rows[agreement_id][3], channel)
        for agreement_id, until in running_out.items() for channel, _ in contacts.get(rows[agreement_id][3], ()))
    messages = []
    for agreement_id, until in running_out.items():
        number, balance, currency_id, subscriber_id, name = rows[agreement_id]
        found = contacts.get(subscriber_id)
        if not found:
            continue
        values = {"name": name, "agreement": number, "balance": format_money(balance, symbols.get(currency_id, "")),
                  "until": local_date(until), "days": (until - day).days}
        messages += messages_for("low_balance", subscriber_id, found, values, f"{agreement_id}:{until.isoformat()}",
                                 overrides=overrides, skip=done)
    return {"warned": len(running_out), "queued": outbox.queue_many(messages)}


def tariff_changes_tomorrow(*, day: dt.date | None = None) -> dict:
    """Queue "your tariff changes tomorrow" for every planned change (not
    applied, not cancelled) taking effect on the local day after `day`."""
    day = day or clock.today()
    tomorrow = day + dt.timedelta(days=1)
    start, end = clock.midnight_utc(tomorrow), clock.midnight_utc(tomorrow + dt.timedelta(days=1))
    Previous = Tariff.alias()
    New = Tariff.alias()
    query = (TariffChange.select(TariffChange.id, TariffChange.at, New.name, Account.login, Account.tariff,
                                 TariffChange.previous_tariff, Agreement.number, Subscriber.id,
                                 Subscriber.name)
             .join(New, on=(TariffChange.tariff == New.id))
             .switch(TariffChange).join(Account, on=(TariffChange.account == Account.id))
             .join(Agreement, on=(Account.agreement == Agreement.id))
             .join(Subscriber, on=(Agreement.subscriber == Subscriber.id))
             .where(TariffChange.applied_at.is_null(True) & TariffChange.cancelled_at.is_null(True)
                    & (TariffChange.at >= start) & (TariffChange.at < end) & (Account.deleted == False))  # noqa: E712
             .tuples())
    found = list(query)
    if not found:
        return {"changes": 0, "queued": 0}
    names = {t.id: t.name for t in Previous.select(Previous.id, Previous.name)}
    contacts = recipients([row[7] for row in found], "tariff_change")
    overrides = all_overrides()
    messages = []
    for change_id, at, new_name, login, tariff_id, previous_id, number, subscriber_id, name in found:
        if subscriber_id not in contacts:
            continue
        values = {"name": name, "agreement": number, "login": login, "date": local_date(at),
                  "old_tariff": names.get(previous_id or tariff_id, ""), "new_tariff": new_name}
        messages += messages_for("tariff_change", subscriber_id, contacts[subscriber_id], values, str(change_id),
                                 overrides=overrides)
    return {"changes": len(found), "queued": outbox.queue_many(messages)}


def run_nightly(settings: NotifySettings, *, day: dt.date | None = None) -> dict:
    """Both nightly evaluations (the worker's job at night)."""
    return {"low_balance": low_balance(settings, day=day), "tariff_change": tariff_changes_tomorrow(day=day)}

"""The subscriber's cabinet (seed 002 «Приложение 1. Личный кабинет
абонента», DESIGN §10): cabinet login and password, what a subscriber may
see and do with their own agreements and accounts, the home-page figures.

Everything a subscriber reaches is looked up through `own_agreement` and
`own_account`: another subscriber's id is "not found", never "forbidden",
so its existence is not revealed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import secrets
from dataclasses import dataclass, field
from decimal import Decimal

from lanbill.actor import Actor
from lanbill.billing import blocks, promises
from lanbill.billing.currency import RateBook, convert
from lanbill.billing.periods import cumulative, days_in_month, month_start
from lanbill.billing.rent import tariff_rates
from lanbill.clock import local_date_of, midnight_utc, today
from lanbill.customers import accounts as account_records
from lanbill.db import Prepared, slot, transaction
from lanbill.errors import N_, NotFound, ValidationError
from lanbill.models import (
    Account,
    AccountIp,
    AccountStateChange,
    Agreement,
    LedgerEntry,
    Payment,
    Subscriber,
    Tariff,
    TariffChange,
)
from lanbill.models.radius import RadiusSession
from lanbill.network import traffic_stats
from lanbill.staff import audit, login_limits
from lanbill.staff.managers import DUMMY_HASH, hash_password, password_problem, verify_password

# A failed cabinet login is remembered under this prefix, so that a staff
# login and a subscriber's login of the same spelling are slowed down apart.
LOGIN_KEY_PREFIX = "cabinet:"
# Generated passwords: no look-alikes (0/O, 1/l/I), so they can be read
# out over the phone.
_PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
GENERATED_LENGTH = 10
SERVICE_PASSWORD_MIN = 6
SERVICE_PASSWORD_MAX = 128
MAX_PERIOD_DAYS = 366
# How far ahead "your balance lasts until" looks before it says "longer".
FORECAST_MONTHS = 36
CHARGE_KINDS = ("rent", "rent_correction", "service", "volume", "time", "one_off", "correction")


class CabinetLoginRefused(Exception):
    """A refused cabinet login: `message` is a msgid (with %(seconds)s
    when the subscriber must wait), `wait_seconds` > 0 when slowed down."""

    def __init__(self, message: str, wait_seconds: int = 0):
        super().__init__(message)
        self.message = message
        self.wait_seconds = wait_seconds


def subscriber_actor(subscriber: Subscriber, ip: str = "") -> Actor:
    """The subscriber acting in the cabinet, as history and the audit log
    show it ("subscriber:42")."""
    return Actor(f"subscriber:{subscriber.id}", ip=ip)


# --- login ---------------------------------------------------------------------------


def find_by_login(login: str) -> Subscriber | None:
    """The subscriber a cabinet login names (DESIGN §10).

    The subscriber's own cabinet login wins; a subscriber without one logs
    in with an agreement number (the default).  A number that names
    agreements of several subscribers (numbers are unique per operator
    only) names nobody.  Templates never log in."""
    return _find_by_login(login, _full_by_login, _full_by_id)


def _find_by_login(login: str, by_login, by_id) -> Subscriber | None:
    login = (login or "").strip()
    if not login:
        return None
    found = by_login.first(login=login)
    if found is not None:
        return found
    owners = {subscriber_id for (subscriber_id,) in _agreement_owners(number=login)}
    if len(owners) != 1:
        return None
    found = by_id.first(id=owners.pop())
    if found is None or found.is_template or found.login:
        return None
    return found


def _subscriber_by_login(*fields):
    return Prepared(lambda: Subscriber.select(*fields).where(
        (Subscriber.login == slot("login")) & (Subscriber.is_template == False)).limit(1))  # noqa: E712


def _subscriber_by_id(*fields):
    return Prepared(lambda: Subscriber.select(*fields).where(Subscriber.id == slot("id")).limit(1))


# What a login needs of the subscriber: no personal data is read (nor
# decrypted) to check a password.
LOGIN_FIELDS = (Subscriber.id, Subscriber.kind, Subscriber.name, Subscriber.login, Subscriber.password_hash,
                Subscriber.cabinet_ip_only, Subscriber.is_template, Subscriber.version)
_full_by_login, _full_by_id = _subscriber_by_login(Subscriber), _subscriber_by_id(Subscriber)
_login_by_login, _login_by_id = _subscriber_by_login(*LOGIN_FIELDS), _subscriber_by_id(*LOGIN_FIELDS)
_agreement_owners = Prepared(lambda: Agreement.select(Agreement.subscriber).where(
    Agreement.number == slot("number")).tuples())


def authenticate(login: str, password: str, *, ip: str, free_failures: int = 5,
                 free_per_address: int = 20) -> Subscriber:
    """Check a cabinet login (DESIGN §9, §10).

    Refused, and remembered as a failure, when: the address or the login
    is slowed down (login_limits, the staff rules: per address over any
    logins, and per cabinet login from that address — the attempt counts
    before the password is checked); the login names nobody; the subscriber has no cabinet
    password (an empty password never logs in); the password is wrong; the
    subscriber set «only from the IPs of my accounts» and `ip` is not one
    of them.  The messages do not tell which of these it was, nor does the
    time the answer takes: a login naming nobody, or a subscriber without a
    password, is checked against a dummy hash of the same cost (one argon2
    check per attempt, whatever the case).

    The subscriber returned carries LOGIN_FIELDS only."""
    login = (login or "").strip()
    key = LOGIN_KEY_PREFIX + login
    wait, attempt = login_limits.begin_attempt(ip, key, free_per_login=free_failures,
                                               free_per_address=free_per_address)
    if wait:
        raise CabinetLoginRefused(N_("Too many failed logins; try again in %(seconds)s seconds."), wait)
    subscriber = _find_by_login(login, _login_by_login, _login_by_id)
    stored = subscriber.password_hash if subscriber is not None else ""
    matches = verify_password(stored or DUMMY_HASH, password or "")
    ok = matches and subscriber is not None and bool(stored) and bool(password)
    if ok and subscriber.cabinet_ip_only and not ip_allowed(subscriber, ip):
        _audit_login(subscriber, ip, "cabinet.login_refused_ip")
        raise CabinetLoginRefused(N_("The cabinet of this subscriber opens only from the addresses of "
                                     "its accounts."))
    if not ok:
        _audit_login(subscriber, ip, "cabinet.login_failed")
        raise CabinetLoginRefused(N_("Wrong login or password."))
    with transaction():  # one write for both
        login_limits.forget_failures(attempt, ip, key)
        _audit_login(subscriber, ip, "cabinet.login")
    return subscriber


def _audit_login(subscriber: Subscriber | None, ip: str, action: str) -> None:
    """The audit row of a cabinet login, a refused one or a log-out: who
    (when the login names a subscriber) and from where — never the
    password, nor the login typed (it may be a password typed in the
    wrong box)."""
    who = subscriber_actor(subscriber, ip) if subscriber is not None else Actor("cabinet:anonymous", ip=ip)
    with transaction():
        audit.record(who, action, "subscriber", subscriber.id if subscriber is not None else None)


def record_logout(subscriber: Subscriber, *, ip: str) -> None:
    """The subscriber logged out (audited like the login)."""
    _audit_login(subscriber, ip, "cabinet.logout")


def ip_allowed(subscriber: Subscriber, ip: str) -> bool:
    """Whether `ip` is one of the subscriber's accounts' addresses: an
    address or subnet of a live account, or the address of one of their
    open RADIUS sessions (pool addresses).  Checked at login and on every
    page when the subscriber set «only from the IPs of my accounts»."""
    try:
        address = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return False
    live = Account.select(Account.id).where((Account.subscriber == subscriber.id)
                                            & (Account.deleted == False))  # noqa: E712
    for row in AccountIp.select(AccountIp.network).where(AccountIp.account.in_(live)):
        try:
            if address in ipaddress.ip_network(row.network, strict=False):
                return True
        except ValueError:
            continue
    return (
        RadiusSession.select()
        .where((RadiusSession.account_id.in_(live)) & (RadiusSession.framed_ip == str(address))
               & RadiusSession.stopped_at.is_null())
        .exists()
    )


def session_token(subscriber: Subscriber) -> str:
    """A fingerprint of the current cabinet password kept in the session:
    a new password (set by the subscriber or by staff) ends every other
    session of that subscriber."""
    return hashlib.sha256(("cabinet:" + (subscriber.password_hash or "")).encode()).hexdigest()[:32]


# --- the cabinet password -------------------------------------------------------------


def generate_password() -> str:
    """A new cabinet password: 10 characters, letters and digits mixed,
    without look-alike characters."""
    while True:
        candidate = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(GENERATED_LENGTH))
        if password_problem(candidate) is None:
            return candidate


def set_password(subscriber: Subscriber, password: str, *, actor) -> None:
    """Set the cabinet password (hashed with argon2, as staff passwords).
    The rules are the staff ones (at least 8 characters, letters mixed
    with digits or symbols); an empty password is refused."""
    problem = password_problem(password or "")
    if problem:
        raise ValidationError(problem, fields={"password": problem})
    with transaction():
        Subscriber.update(password_hash=hash_password(password), version=Subscriber.version + 1).where(
            Subscriber.id == subscriber.id).execute()
        audit.record(actor, "subscriber.cabinet_password", "subscriber", subscriber.id)


def reset_password(subscriber: Subscriber, *, actor, password: str | None = None) -> str | None:
    """Staff set (`password`) or reset (None: a generated one) the cabinet
    password.  Returns the generated password — shown once, stored only as
    its hash — or None when one was given."""
    generated = None
    if password is None:
        generated = password = generate_password()
    set_password(subscriber, password, actor=actor)
    return generated


def change_own_password(subscriber: Subscriber, current: str, new: str, repeat: str, *, actor) -> None:
    """The subscriber changes their own cabinet password (seed 002, Рис. 10):
    the current one is asked, so a borrowed session cannot take the cabinet
    over; the new one is typed twice."""
    fresh = Subscriber.get_by_id(subscriber.id)
    if not verify_password(fresh.password_hash, current or ""):
        raise ValidationError(N_("The current password is wrong."),
                              fields={"current": N_("The current password is wrong.")})
    if (new or "") != (repeat or ""):
        raise ValidationError(N_("The passwords do not match."), fields={"repeat": N_("The passwords do not match.")})
    set_password(fresh, new, actor=actor)


# --- what belongs to the subscriber ---------------------------------------------------


_own_agreements = Prepared(lambda: Agreement.select().where(Agreement.subscriber == slot("subscriber"))
                           .order_by(Agreement.id))


def own_agreements(subscriber: Subscriber) -> list[Agreement]:
    return _own_agreements(subscriber=subscriber.id)


def own_agreement(subscriber: Subscriber, agreement_id) -> Agreement:
    """The subscriber's agreement by id; another's is "not found"."""
    try:
        agreement_id = int(agreement_id)
    except (TypeError, ValueError):
        raise NotFound(N_("Agreement not found.")) from None
    found = Agreement.get_or_none((Agreement.id == agreement_id) & (Agreement.subscriber == subscriber.id))
    if found is None:
        raise NotFound(N_("Agreement not found."))
    return found


# What the cabinet's lists show of an account: everything but the Internet
# password, which a list never shows and which would be decrypted for
# nothing on every page.
_LISTED_ACCOUNT_FIELDS = [f for f in Account._meta.sorted_fields if f.name != "password"]
_own_accounts = Prepared(lambda: Account.select(*_LISTED_ACCOUNT_FIELDS, Tariff).join(Tariff)
                         .where((Account.subscriber == slot("subscriber")) & (Account.deleted == False))  # noqa: E712
                         .order_by(Account.agreement, Account.id))


def own_accounts(subscriber: Subscriber) -> list[Account]:
    """Live accounts of the subscriber (deleted ones keep their history
    for staff but are not served in the cabinet), with their tariffs, for
    showing — without the Internet password (own_account has it)."""
    return _own_accounts(subscriber=subscriber.id)


def own_account(subscriber: Subscriber, account_id) -> Account:
    """The subscriber's live account by id; another's is "not found"."""
    try:
        account_id = int(account_id)
    except (TypeError, ValueError):
        raise NotFound(N_("Account not found.")) from None
    found = Account.get_or_none((Account.id == account_id) & (Account.subscriber == subscriber.id)
                                & (Account.deleted == False))  # noqa: E712
    if found is None:
        raise NotFound(N_("Account not found."))
    return found


# --- the home page ----------------------------------------------------------------------


@dataclass
class Forecast:
    """"At the current tariff your balance lasts until `until`".
    `exhausted`: the funds are already below zero; `unlimited`: nothing is
    charged, or the funds last beyond the horizon (FORECAST_MONTHS)."""

    until: dt.date | None = None
    exhausted: bool = False
    unlimited: bool = False


@dataclass
class AgreementView:
    agreement: Agreement
    available: Decimal
    forecast: Forecast
    accounts: list = field(default_factory=list)


@dataclass
class AccountView:
    account: Account
    next_change: TariffChange | None


def next_tariff_change(account: Account) -> TariffChange | None:
    """The next planned tariff change of the account, if any."""
    return (TariffChange.select(TariffChange, Tariff).join(Tariff)
            .where((TariffChange.account == account.id) & TariffChange.applied_at.is_null(True)
                   & TariffChange.cancelled_at.is_null(True))
            .order_by(TariffChange.at, TariffChange.id).first())


def home(subscriber: Subscriber, *, day: dt.date | None = None) -> list[AgreementView]:
    """The home page (seed 002, Рис. 2): each agreement with its balance,
    available funds and forecast, and its accounts with the current and
    next tariff and the state."""
    day = day or today()
    accounts = own_accounts(subscriber)
    pending: dict[int, list[TariffChange]] = {}
    for change in _subscriber_pending(subscriber=subscriber.id):
        pending.setdefault(change.account_id, []).append(change)
    by_agreement: dict[int, list] = {}
    for account in accounts:
        changes = pending.get(account.id, [])
        by_agreement.setdefault(account.agreement_id, []).append(
            AccountView(account, changes[0] if changes else None))
    out = []
    for agreement in own_agreements(subscriber):
        if agreement.closed_at is not None and agreement.id not in by_agreement:
            continue
        mine = [view.account for view in by_agreement.get(agreement.id, [])]
        out.append(AgreementView(agreement, blocks.available_funds(agreement),
                                 balance_lasts_until(agreement, day=day, accounts=mine, pending=pending),
                                 by_agreement.get(agreement.id, [])))
    return out


def _pending_query(accounts):
    return (TariffChange.select(TariffChange, Tariff).join(Tariff)
            .where(TariffChange.account.in_(accounts) & TariffChange.applied_at.is_null(True)
                   & TariffChange.cancelled_at.is_null(True))
            .order_by(TariffChange.at, TariffChange.id))


# Planned changes of all the subscriber's accounts: one prepared query.
_subscriber_pending = Prepared(lambda: _pending_query(
    Account.select(Account.id).where(Account.subscriber == slot("subscriber"))))


def _pending_changes(account_ids: list[int]) -> dict[int, list[TariffChange]]:
    """Planned, not applied, not cancelled changes of the accounts, by
    account, earliest first — one query for all of them."""
    out: dict[int, list[TariffChange]] = {}
    if not account_ids:
        return out
    for change in _pending_query(account_ids):
        out.setdefault(change.account_id, []).append(change)
    return out


def balance_lasts_until(agreement: Agreement, *, day: dt.date | None = None, accounts: list | None = None,
                        pending: dict | None = None) -> Forecast:
    """"At the current tariff your balance lasts until <date>" — the last
    day the available funds (balance + credit + open promised payment,
    DESIGN §5) pay for, if nothing changes.

    The rule: today is taken as already charged; from tomorrow on, each
    live account of the agreement is charged its tariff's rent for the
    state it is in now (DESIGN §5 "charged as": R active, Ru user-blocked,
    Ra staff-blocked, Rb by balance or traffic limit, 0 off — a balance
    block is counted as active, since paying lifts it), in the tariff's
    scheme (DESIGN §6): daily tariffs day by day with cumulative rounding,
    monthly and dynamic ones the whole month in advance at 00:00 of the
    1st.  Planned tariff changes are taken into account from their date.
    The answer is the day before the first day whose charge would bring
    the funds below zero.  Services, traffic beyond the prepaid volume and
    time charges are not foreseen.  A tariff in another currency is
    converted at today's rate.  (`accounts` — the agreement's live
    accounts with their tariffs — and `pending` — their planned changes by
    account — may be given when the caller has them already.)

    The days are summed a stretch at a time (a stretch: days of one month
    with the same rates), since the daily shares of a month add up to the
    cumulative amount (DESIGN §4); only the stretch where the money runs
    out is walked day by day."""
    day = day or today()
    funds = blocks.available_funds(agreement)
    if funds < 0:
        return Forecast(exhausted=True)
    if accounts is None:
        accounts = list(Account.select(Account, Tariff).join(Tariff)
                        .where((Account.agreement == agreement.id) & (Account.deleted == False)))  # noqa: E712
    if pending is None:
        pending = _pending_changes([a.id for a in accounts])
    book = None
    plans = []
    for account in accounts:
        state = "active" if account.state == "balance" else account.state
        if account.is_off:
            state = "off"
        changes = [(account.tariff, dt.date.min)]
        for change in pending.get(account.id, []):
            changes.append((change.tariff, local_date_of(change.at)))
        plan = []
        for tariff, from_day in changes:
            rate = tariff_rates(tariff)[state]
            if tariff.currency_id != agreement.currency_id and rate:
                book = book or RateBook()
                rate, _ = convert(rate, tariff.currency_id, agreement.currency_id, day, book)
            plan.append((from_day, tariff.scheme, Decimal(rate)))
        if account.disconnect_date:
            plan.append((account.disconnect_date, "daily", Decimal(0)))
        plans.append(sorted(plan, key=lambda step: step[0]))
    if not any(rate for plan in plans for _, _, rate in plan):
        return Forecast(unlimited=True)
    start = day + dt.timedelta(days=1)
    horizon = month_start(day).replace(year=day.year + FORECAST_MONTHS // 12)
    changes_on = sorted({from_day for plan in plans for from_day, _, _ in plan if start < from_day < horizon})
    spent = Decimal(0)
    current = start
    while current < horizon:
        # The stretch [current, stop): the rest of the month, up to the next change.
        month_days = days_in_month(current)
        stop = min(current.replace(day=1) + dt.timedelta(days=month_days), horizon,
                   *[c for c in changes_on if c > current][:1])
        steps = [[step for step in plan if step[0] <= current][-1][1:] for plan in plans]
        last = stop - dt.timedelta(days=1)
        whole = _stretch_charge(steps, current.day, last.day, month_days)
        if spent + whole <= funds and all(rate >= 0 for _, rate in steps):
            spent += whole
            current = stop
            continue
        while current < stop:
            spent += _stretch_charge(steps, current.day, current.day, month_days)
            if spent > funds:
                return Forecast(until=current - dt.timedelta(days=1))
            current += dt.timedelta(days=1)
    return Forecast(unlimited=True)


def _stretch_charge(steps: list, first: int, last: int, month_days: int) -> Decimal:
    """What the days `first`..`last` of one month cost at fixed (scheme,
    rate) steps: a daily rate its cumulative share of those days, a
    monthly one its whole rate on the 1st."""
    total = Decimal(0)
    for scheme, rate in steps:
        if not rate:
            continue
        if scheme == "daily":
            total += cumulative(rate, last, month_days) - cumulative(rate, first - 1, month_days)
        elif first == 1:
            total += rate
    return total


# --- histories ---------------------------------------------------------------------------


def parse_period(first, last, *, day: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The period a history page asks for ("2026-01-01" or a date);
    default the current month so far; at most a year."""
    day = day or today()
    try:
        first = _date(first) or month_start(day)
        last = _date(last) or day
    except ValueError:
        raise ValidationError(N_("Not a date."), fields={"from": N_("Not a date.")}) from None
    if last < first:
        raise ValidationError(N_("The period ends before it starts."), fields={"to": N_("Before the start.")})
    if (last - first).days >= MAX_PERIOD_DAYS:
        raise ValidationError(N_("Choose a period of at most a year."), fields={"from": N_("Too long.")})
    return first, last


def _date(value) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value).strip())


def _utc_bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return midnight_utc(first), midnight_utc(last + dt.timedelta(days=1))


_payment_history = Prepared(lambda: Payment.select().where(
    (Payment.agreement == slot("agreement")) & (Payment.paid_at >= slot("start", Payment.paid_at))
    & (Payment.paid_at < slot("end", Payment.paid_at))).order_by(Payment.paid_at.desc(), Payment.id.desc()))


def payment_history(agreement: Agreement, first: dt.date, last: dt.date) -> list[Payment]:
    """Payments of the period by pay date (seed 002, Рис. 3), newest first;
    cancelled ones are shown with their cancellation."""
    start, end = _utc_bounds(first, last)
    return _payment_history(agreement=agreement.id, start=start, end=end)


def charge_history(agreement: Agreement, first: dt.date, last: dt.date) -> list[LedgerEntry]:
    """Charges of the period (seed 002 «История списаний абонентской
    платы», Рис. 4): rent and its corrections, services, volume and time
    charges, one-off charges and corrections — every ledger entry that is
    not a payment — by posting time, newest first."""
    start, end = _utc_bounds(first, last)
    return _charge_history(agreement=agreement.id, start=start, end=end)


_charge_history = Prepared(lambda: LedgerEntry.select().where(
    (LedgerEntry.agreement == slot("agreement")) & LedgerEntry.kind.in_(CHARGE_KINDS)
    & (LedgerEntry.created_at >= slot("start", LedgerEntry.created_at))
    & (LedgerEntry.created_at < slot("end", LedgerEntry.created_at))
).order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc()))


def block_history(subscriber: Subscriber, first: dt.date, last: dt.date,
                  account: Account | None = None) -> list[AccountStateChange]:
    """State changes of the subscriber's accounts in the period (seed 002,
    Рис. 6), newest first."""
    start, end = _utc_bounds(first, last)
    if account is not None:
        return _account_blocks(account=account.id, subscriber=subscriber.id, start=start, end=end)
    return _subscriber_blocks(subscriber=subscriber.id, start=start, end=end)


def _blocks_query(condition):
    return (AccountStateChange.select(AccountStateChange, Account.id, Account.login, Account.agreement)
            .join(Account)
            .where(condition & (AccountStateChange.at >= slot("start", AccountStateChange.at))
                   & (AccountStateChange.at < slot("end", AccountStateChange.at)))
            .order_by(AccountStateChange.at.desc(), AccountStateChange.id.desc()))


_subscriber_blocks = Prepared(lambda: _blocks_query(Account.subscriber == slot("subscriber")))
_account_blocks = Prepared(lambda: _blocks_query((AccountStateChange.account == slot("account"))
                                                 & (Account.subscriber == slot("subscriber"))))


# --- what the subscriber may do -----------------------------------------------------------


def set_user_block(subscriber: Subscriber, account_id, on: bool, *, actor) -> bool:
    """The user block (seed 002, Рис. 7), switched on and off by the
    subscriber on their own account: it only stops access, the rent stays
    (Ru, DESIGN §6).  Returns False when nothing changed."""
    account = own_account(subscriber, account_id)
    return blocks.set_user_block(account, bool(on), actor=actor,
                                 reason=N_("Set by the subscriber") if on else N_("Lifted by the subscriber"))


def service_password_problem(password: str) -> str | None:
    """The Internet (service) password a subscriber may choose: 6 to 128
    printable Latin characters — no spaces, no national letters, which
    PAP, CHAP and MS-CHAPv2 clients type differently.  Empty is refused."""
    if not password:
        return N_("Enter a password.")
    if len(password) < SERVICE_PASSWORD_MIN:
        return N_("The password must be at least 6 characters long.")
    if len(password) > SERVICE_PASSWORD_MAX:
        return N_("At most 128 characters.")
    if not all(33 <= ord(ch) < 127 for ch in password):
        return N_("Latin letters, digits and symbols only, without spaces.")
    return None


def change_service_password(subscriber: Subscriber, account_id, password: str, repeat: str, *, actor) -> Account:
    """The subscriber changes an account's Internet password (seed 002,
    Рис. 5) through the same path staff use (customers.accounts)."""
    account = own_account(subscriber, account_id)
    problem = service_password_problem(password or "")
    if problem:
        raise ValidationError(problem, fields={"password": problem})
    if password != (repeat or ""):
        raise ValidationError(N_("The passwords do not match."), fields={"repeat": N_("The passwords do not match.")})
    return account_records.update_account(account, {"password": password}, actor=actor)


def request_promise(subscriber: Subscriber, agreement_id, amount, *, actor):
    """A promised payment on request (DESIGN §10), by the group rules of
    billing.promises; its refusals are shown as they are."""
    agreement = own_agreement(subscriber, agreement_id)
    return promises.request_promise(agreement, amount, actor=actor)


def promise_offer(agreement: Agreement) -> Decimal:
    """The largest promised payment the agreement could get now (0: none)."""
    return promises.amount_allowed(agreement)


def traffic(subscriber: Subscriber, account_id, first, last, group: str = "day", remote: str | None = None):
    """Traffic statistics of an own account (seed 002, Рис. 8–9): rows and
    their totals, as staff see them (network.traffic_stats)."""
    account = own_account(subscriber, account_id)
    first, last = parse_period(first, last)
    rows = traffic_stats.account_traffic(account, first, last, group, remote=remote or None)
    return account, first, last, rows, traffic_stats.totals(rows)

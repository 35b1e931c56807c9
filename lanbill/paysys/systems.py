"""Payment systems configured by staff (DESIGN §11): create, edit, check
a request's source address and credentials, find the agreement a payment
names, and the amount limits — what every protocol module shares.

Rules:
- `code` is the URL part (`/pay/<code>`): 2–24 of a–z, 0–9, `_`, `-`.
- Secrets (the HTTP basic password, ЮKassa's secret key) are encrypted at
  rest (EncryptedField) and write-only: never returned, logged or put into
  the audit log; an edit that leaves the password empty keeps the old one.
- Allowed source addresses: a list of CIDR networks.  An empty list lets
  no one in, except for ЮKassa, whose notifications are trusted only after
  reading the payment back from ЮKassa (DOMAIN-RULES §3.5), so its list is
  optional.
- Credentials: with a login set, every request must carry HTTP basic
  login and password (compared in constant time); without one, the
  address list alone guards the system.
- Account identifier: the agreement number, or the number followed by its
  check digit (lanbill.paysys.check_digit, DOMAIN-RULES §3.1).
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import logging
import re
import threading
import time
from dataclasses import dataclass
from decimal import Decimal

import peewee

from lanbill import events
from lanbill.actor import Actor
from lanbill.billing import blocks
from lanbill.billing.payments import Booked, PaymentItem, booked_before, post_payment, post_payments
from lanbill.billing.rent import tariff_rates
from lanbill.db import database, transaction
from lanbill.errors import N_, BillingError, Conflict, ValidationError
from lanbill.group_commit import GroupCommit
from lanbill.models import Account, Agreement, Currency, Operator, Tariff
from lanbill.models.paysys import ACCOUNT_IDENTIFIERS, PAYMENT_SYSTEM_KINDS, PaymentSystem
from lanbill.money import MoneyError, parse_money
from lanbill.paysys.check_digit import strip_check_digit, with_check_digit
from lanbill.records import check_version, clean_text, get_record, raise_if_any
from lanbill.staff import audit

CODE = re.compile(r"^[a-z0-9_-]{2,24}$")
AGREEMENT_NUMBER = re.compile(r"^[0-9A-Za-z_./-]{1,64}$")
YOOKASSA_API_URL = "https://api.yookassa.ru/v3"
ONLINE_METHODS = ("bank_card", "sbp")
log = logging.getLogger(__name__)
FIELDS = ("code", "name", "kind", "operator_id", "allowed_networks", "login", "account_identifier",
          "min_amount", "max_amount", "options", "needs_receipt", "enabled")


# --- options per kind --------------------------------------------------------------


def _clean_yookassa_options(options: dict, errors: dict) -> dict:
    """ЮKassa: `shop_id` (digits, required), `api_url` (default ЮKassa's
    own; tests point it at a local fake), `methods` offered in the cabinet
    (bank_card, sbp), `autopay` (the subscriber may save a card and switch
    autopayment on) and `autopay_days_before` (1–20, default 3)."""
    out = {}
    shop_id = str(options.get("shop_id") or "").strip()
    if not re.fullmatch(r"\d{1,20}", shop_id):
        errors["options.shop_id"] = N_("The shop id is digits, as ЮKassa's personal account shows it.")
    out["shop_id"] = shop_id
    api_url = str(options.get("api_url") or YOOKASSA_API_URL).strip().rstrip("/")
    if not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", api_url):
        errors["options.api_url"] = N_("An address that starts with https://.")
    out["api_url"] = api_url
    methods = options.get("methods", list(ONLINE_METHODS))
    if isinstance(methods, str):
        methods = [m.strip() for m in methods.split(",") if m.strip()]
    if not isinstance(methods, list) or not methods or any(m not in ONLINE_METHODS for m in methods):
        errors["options.methods"] = N_("Bank card, СБП or both.")
        methods = list(ONLINE_METHODS)
    out["methods"] = [m for m in ONLINE_METHODS if m in methods]
    out["autopay"] = bool(options.get("autopay", True))
    days = options.get("autopay_days_before", 3)
    try:
        days = int(days)
        if isinstance(options.get("autopay_days_before"), bool) or not 1 <= days <= 20:
            raise ValueError
    except (TypeError, ValueError):
        errors["options.autopay_days_before"] = N_("From 1 to 20.")
        days = 3
    out["autopay_days_before"] = days
    return out


# Kinds whose options this module checks; the others (registry layouts,
# payment cards) are checked by their own modules and kept as given.
OPTION_CLEANERS = {
    "osmp": lambda options, errors: {},
    "sberbank_online": lambda options, errors: {},
    "yookassa": _clean_yookassa_options,
}


# --- cleaning ----------------------------------------------------------------------


def parse_networks(value) -> list[str]:
    """CIDR networks from a list or from text (one per line, or separated
    by commas or spaces); a bare address is a /32 (or /128)."""
    if isinstance(value, str):
        value = re.split(r"[\s,;]+", value)
    return [str(ipaddress.ip_network(str(item).strip(), strict=False)) for item in (value or []) if str(item).strip()]


def _clean_networks(value, errors: dict) -> str:
    try:
        return "\n".join(parse_networks(value))
    except ValueError:
        errors["allowed_networks"] = N_("One network per line, for example 185.71.76.0/27.")
        return ""


def _clean_money(data: dict, key: str, errors: dict) -> Decimal | None:
    value = data.get(key)
    if value in (None, ""):
        return None
    try:
        return parse_money(value, allow_negative=False, allow_zero=False)
    except MoneyError as exc:
        errors[key] = exc.message
        return None


def clean_system(data: dict, current: PaymentSystem | None = None) -> dict:
    """A payment system's settings checked (see the module's rules); an
    edit may leave out any field, which keeps its current value."""
    errors: dict = {}
    merged = {}
    if current is not None:
        merged = {f: getattr(current, f) for f in FIELDS if f != "operator_id"}
        merged["operator_id"] = current.operator_id
    merged.update({k: v for k, v in data.items() if k in FIELDS})
    out = {}
    out["code"] = clean_text(merged, "code", errors, required=True, limit=24).lower()
    if out["code"] and not CODE.match(out["code"]):
        errors["code"] = N_("2 to 24 characters: Latin letters a–z, digits, _ and -.")
    elif out["code"]:
        taken = PaymentSystem.select().where(PaymentSystem.code == out["code"])
        if current is not None:
            taken = taken.where(PaymentSystem.id != current.id)
        if taken.exists():
            errors["code"] = N_("This code is already used by another payment system.")
    out["name"] = clean_text(merged, "name", errors, required=True, limit=128)
    out["kind"] = str(merged.get("kind") or "")
    if out["kind"] not in PAYMENT_SYSTEM_KINDS:
        errors["kind"] = N_("Choose the protocol of the payment system.")
    elif current is not None and current.kind != out["kind"]:
        errors["kind"] = N_("The protocol of a payment system cannot be changed; create a new one.")
    operator_id = merged.get("operator_id")
    if operator_id in (None, "", 0):
        out["operator"] = None
    else:
        try:
            out["operator"] = Operator.get_by_id(int(operator_id)).id
        except (TypeError, ValueError, Operator.DoesNotExist):
            errors["operator_id"] = N_("No such operator.")
            out["operator"] = None
    networks = merged.get("allowed_networks")
    out["allowed_networks"] = _clean_networks(networks, errors)
    out["login"] = clean_text(merged, "login", errors, limit=128)
    out["account_identifier"] = str(merged.get("account_identifier") or "agreement")
    if out["account_identifier"] not in ACCOUNT_IDENTIFIERS:
        errors["account_identifier"] = N_("The agreement number, with or without a check digit.")
    out["min_amount"] = _clean_money(merged, "min_amount", errors)
    out["max_amount"] = _clean_money(merged, "max_amount", errors)
    if out["min_amount"] and out["max_amount"] and out["min_amount"] > out["max_amount"]:
        errors["max_amount"] = N_("The largest amount is below the smallest.")
    options = merged.get("options")
    options = {} if options is None else options
    if not isinstance(options, dict):
        errors["options"] = N_("Must be an object.")
        options = {}
    cleaner = OPTION_CLEANERS.get(out["kind"])
    out["options"] = cleaner(options, errors) if cleaner else dict(options)
    # Who issues the 54-FZ receipt (DOMAIN-RULES §4): by default ЮKassa
    # without its own receipts needs ours; terminals and agents issue theirs.
    out["needs_receipt"] = bool(merged.get("needs_receipt", out["kind"] == "yookassa"))
    out["enabled"] = bool(merged.get("enabled", True))
    password = data.get("password")
    if password not in (None, ""):
        if not isinstance(password, str) or len(password) > 256:
            errors["password"] = N_("Too long.")
        else:
            out["password"] = password
    if out["kind"] == "yookassa" and not out.get("password") and not (current is not None and current.password):
        errors["password"] = N_("ЮKassa's secret key is required.")
    if out["login"] and not out.get("password") and not (current is not None and current.password):
        errors["password"] = N_("A login needs a password.")
    raise_if_any(errors)
    return out


def _audit_view(fields: dict) -> dict:
    """What the audit log may keep: everything but the secret, which is
    only said to have changed."""
    view = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in fields.items() if k != "password"}
    if "password" in fields:
        view["password"] = "changed"
    return view


def create_system(data: dict, *, actor) -> PaymentSystem:
    """Configure a new payment system (DESIGN §11)."""
    fields = clean_system(data)
    with transaction():
        system = PaymentSystem.create(**fields)
        audit.record(actor, "payment_system.create", "payment_system", system.id, after=_audit_view(fields))
    forget_cached()
    return system


def update_system(system_id, data: dict, *, actor, version=None) -> PaymentSystem:
    """Change a payment system; an empty password keeps the current one."""
    current = get_record(PaymentSystem, system_id)
    fields = clean_system(data, current)
    with transaction():
        current = get_record(PaymentSystem, system_id)
        check_version(current, version)
        before = {k: getattr(current, k if k != "operator" else "operator_id") for k in fields if k != "password"}
        old, new = audit.diff(_audit_view(before), _audit_view(fields))
        PaymentSystem.update(version=PaymentSystem.version + 1, **fields).where(
            PaymentSystem.id == current.id).execute()
        audit.record(actor, "payment_system.update", "payment_system", current.id, before=old, after=new)
    forget_cached()
    return PaymentSystem.get_by_id(current.id)


def masked_secret(system: PaymentSystem) -> str:
    """How a screen shows a stored secret: never in full — dots, or
    nothing when none is set."""
    return "••••••••" if system.password else ""


def networks_of(system: PaymentSystem) -> list[str]:
    return [line for line in (system.allowed_networks or "").splitlines() if line.strip()]


# --- finding a system (cached) -------------------------------------------------------

# code → (system or None, time looked up): a provider's request finds its
# system without a query for a few seconds (and still knows its protocol
# when the database has just failed); an edit in this process forgets it
# at once, in another process within the TTL.
_cache: dict[str, tuple[PaymentSystem | None, float]] = {}
_cache_lock = threading.Lock()


def forget_cached() -> None:
    with _cache_lock:
        _cache.clear()
        _currency_codes.clear()


def find_system(code: str, *, ttl: float = 5.0) -> PaymentSystem | None:
    """The payment system with this URL code (enabled or not), or None."""
    if not CODE.match(code or ""):
        return None
    key = code
    now = time.monotonic()
    cached = _cache.get(key)
    if ttl and cached is not None and now - cached[1] < ttl:
        return cached[0]
    system = PaymentSystem.get_or_none(PaymentSystem.code == code)
    with _cache_lock:
        if len(_cache) > 1000:
            _cache.clear()
        _cache[key] = (system, now)
    return system


def enabled_systems(kind: str) -> list[PaymentSystem]:
    return list(PaymentSystem.select().where((PaymentSystem.kind == kind) & (PaymentSystem.enabled == True))  # noqa: E712
                .order_by(PaymentSystem.id))


# --- guarding a request ------------------------------------------------------------


def address_allowed(system: PaymentSystem, address: str) -> bool:
    """Whether a request from `address` may reach the system (see the
    module's rule on an empty list)."""
    networks = _parsed_networks(system.allowed_networks or "")
    if not networks:
        return system.kind == "yookassa"
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return False
    return any(ip in network for network in networks)


@functools.lru_cache(maxsize=256)
def _parsed_networks(text: str) -> tuple:
    """The stored network list, parsed once per distinct text (every
    request of a terminal asks)."""
    return tuple(ipaddress.ip_network(line.strip(), strict=False) for line in text.splitlines() if line.strip())


def credentials_ok(system: PaymentSystem, login: str | None, password: str | None) -> bool:
    """HTTP basic credentials, when the system has a login (constant time)."""
    if not system.login:
        return True
    login_ok = hmac.compare_digest((login or "").encode(), system.login.encode())
    password_ok = hmac.compare_digest((password or "").encode(), (system.password or "").encode())
    return login_ok and password_ok


# --- the agreement a payment names ---------------------------------------------------


@dataclass
class Found:
    """The agreement an account identifier names, or why none: `format`
    (not an identifier, or a wrong check digit), `not_found`, `ambiguous`
    (the number exists at several operators and the system has none),
    `closed` (the agreement is closed: no payments)."""

    agreement: Agreement | None = None
    problem: str | None = None


_AGREEMENT_FIELDS = Agreement._meta.sorted_fields
_AGREEMENT_COLUMNS = ", ".join(f'"{f.column_name}"' for f in _AGREEMENT_FIELDS)


def _agreements_numbered(number: str, operator_id: int | None) -> list[Agreement]:
    """Up to two agreements with this number (at this operator): the query
    every check and pay makes, of fixed text, its rows made into
    Agreements by the fields' own conversions (no query building, no
    cursor wrapper per request)."""
    sql = f'SELECT {_AGREEMENT_COLUMNS} FROM "agreement" WHERE "number" = {database.param}'
    params: tuple = (number,)
    if operator_id:
        sql += f' AND "operator_id" = {database.param}'
        params = (number, operator_id)
    found = []
    for row in database.execute_sql(sql + " LIMIT 2", params).fetchall():
        agreement = Agreement(__no_default__=1, **{f.name: f.python_value(value)
                                                   for f, value in zip(_AGREEMENT_FIELDS, row, strict=True)})
        agreement._dirty.clear()
        found.append(agreement)
    return found


def find_agreement(system: PaymentSystem, identifier: str) -> Found:
    """The agreement a payment system's account identifier names: its number
    (or the number with its check digit), among the system's operator's
    agreements when the system has an operator."""
    identifier = (identifier or "").strip()
    if system.account_identifier == "agreement_check_digit":
        number = strip_check_digit(identifier)
        if number is None:
            return Found(problem="format")
    else:
        number = identifier
    if not AGREEMENT_NUMBER.match(number):
        return Found(problem="format")
    found = _agreements_numbered(number, system.operator_id)
    if not found:
        return Found(problem="not_found")
    if len(found) > 1:
        return Found(problem="ambiguous")
    if found[0].closed_at is not None:
        return Found(agreement=found[0], problem="closed")
    return Found(agreement=found[0])


_currency_codes: dict[int, str] = {}


def in_roubles(agreement: Agreement) -> bool:
    """Whether the agreement is kept in roubles — the only currency the
    Russian payment systems pay in.  A currency's code never changes, so
    it is looked up once per process."""
    code = _currency_codes.get(agreement.currency_id)
    if code is None:
        code = _currency_codes[agreement.currency_id] = Currency.get_by_id(agreement.currency_id).code
    return code == "RUB"


def identifier_of(system: PaymentSystem, agreement: Agreement) -> str:
    """What the subscriber gives the payment system: the agreement number,
    with its check digit when the system asks for one."""
    if system.account_identifier == "agreement_check_digit" and agreement.number.isdigit():
        return with_check_digit(agreement.number)
    return agreement.number


def amount_problem(system: PaymentSystem, amount: Decimal) -> str | None:
    """`too_small` (zero or below the system's smallest), `too_large`, or None."""
    if amount <= 0 or (system.min_amount is not None and amount < system.min_amount):
        return "too_small"
    if system.max_amount is not None and amount > system.max_amount:
        return "too_large"
    return None


def next_period_need(agreement: Agreement) -> Decimal:
    """What the agreement's next month costs: the monthly rent of its live
    accounts (not switched off) at their tariffs' full rate, in the
    agreement's currency (a tariff in another one is left out).  Services
    and traffic are not foreseen."""
    need = Decimal("0.00")
    for account in (Account.select(Account, Tariff).join(Tariff)
                    .where((Account.agreement == agreement.id) & (Account.deleted == False))):  # noqa: E712
        if account.tariff.currency_id == agreement.currency_id and not account.is_off:
            need += tariff_rates(account.tariff)["active"]
    return need


def next_period_shortfall(agreement: Agreement) -> Decimal:
    """What the next month needs beyond the available funds (balance +
    credit + promised payment, DESIGN §5): the recommended sum of a
    payment, never below zero."""
    return max(Decimal("0.00"), next_period_need(agreement) - blocks.available_funds(agreement))


def require_enabled(system: PaymentSystem | None) -> PaymentSystem:
    if system is None or not system.enabled:
        raise ValidationError(N_("This payment system is switched off."))
    return system


# --- booking -----------------------------------------------------------------------


def system_actor(system: PaymentSystem, address: str = "") -> Actor:
    """Who books a payment that arrives from a payment system."""
    return Actor(f"paysys:{system.code}", ip=address or "")


def book(system: PaymentSystem, agreement: Agreement, amount: Decimal, external_id: str, *,
         paid_at=None, address: str = "", method: str = "gateway", comment: str = ""):
    """Book an incoming payment through the one payment door
    (billing.payments.post_payment: blocks lift, CoA goes out, the event is
    sent), under the system's name and its own transaction id, unique per
    system (DOMAIN-RULES §3.8): returns (payment, created); a repeat
    returns the first payment; the same id with another amount or
    agreement raises Conflict, which is logged and sent as
    events.external_payment_refused (the alert), with no personal data."""
    try:
        return post_payment(
            agreement, amount, external_id[:64], actor=system_actor(system, address), paid_at=paid_at,
            method=method, comment=comment or f"{system.name}: {external_id}", external_id=external_id,
            payment_system=system,
        )
    except Conflict:
        _refused(system, external_id)
        raise


def _refused(system: PaymentSystem, external_id: str) -> None:
    """A transaction id repeated with other details: logged and alerted."""
    log.warning("payment system %s: transaction %s repeated with other details; refused", system.code, external_id)
    events.external_payment_refused.send(system=system, external_id=external_id, reason="conflict")


def book_together(system: PaymentSystem, agreement: Agreement, amount: Decimal, external_id: str, *,
                  paid_at=None, address: str = "", method: str = "gateway"):
    """`book`, for the check/pay protocols whose terminals send hundreds of
    payments a second: the payments that concurrent requests of this
    process book at the same moment are written in one transaction
    (lanbill.group_commit, through post_payments, the batch form of the
    same payment door), each with exactly book's rules and answer.  A
    repeat of a booked transaction id is answered before any writing; a
    racing duplicate that fails a batch (PostgreSQL, two processes) makes
    that batch book one by one through post_payment.  Inside a transaction
    it is plain `book`."""
    if database.in_transaction():
        return book(system, agreement, amount, external_id, paid_at=paid_at, address=address, method=method)
    try:
        earlier = booked_before(system, external_id, agreement, amount)
    except Conflict:
        _refused(system, external_id)
        raise
    if earlier is not None:
        return earlier, False
    item = PaymentItem(agreement=agreement, amount=amount, document_number=external_id[:64],
                       external_id=external_id, paid_at=paid_at, comment=f"{system.name}: {external_id}")
    booked = _together.submit((system.id, method, address), (system, item))
    if booked.error is not None:
        if isinstance(booked.error, Conflict):
            _refused(system, external_id)
        raise booked.error
    return booked.payment, booked.created


def _book_batch(key, entries: list) -> list:
    """One batch of book_together: the Booked of each (system, item)."""
    _system_id, method, address = key
    system = entries[0][0]
    items = [item for _, item in entries]
    try:
        return post_payments(items, actor=system_actor(system, address), payment_system=system, method=method)
    except peewee.IntegrityError:  # another process booked one of these ids meanwhile
        out = []
        for item in items:
            try:
                payment, created = post_payment(
                    item.agreement, item.amount, item.document_number, actor=system_actor(system, address),
                    paid_at=item.paid_at, method=method, comment=item.comment, external_id=item.external_id,
                    payment_system=system)
                out.append(Booked(payment=payment, created=created))
            except BillingError as exc:
                out.append(Booked(error=exc))
        return out


_together = GroupCommit(_book_batch, around=transaction)

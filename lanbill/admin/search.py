"""Subscriber and account search (seed 002): by name, agreement, login,
phone, e-mail and IP, "contains", case-insensitive; the advanced search
with rule sets (saved per manager in SavedSearch).

Case-insensitive "contains" over Cyrillic: SQLite's LIKE folds only ASCII,
so on SQLite the name is compared through `lb_lower()`, Python's
str.lower registered as a deterministic SQL function; PostgreSQL uses
lower()/ILIKE.  Logins, phones, e-mails, agreement numbers and IPs are
ASCII, where LIKE alone is case-insensitive on both databases.
"""

from __future__ import annotations

from lanbill.db import database, is_sqlite


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def register_sql_functions() -> None:
    """Make lb_lower() available on every SQLite connection."""
    if is_sqlite():
        database.obj.register_function(_lower, "lb_lower", 1, deterministic=True)


# --- quick search --------------------------------------------------------------

from flask_babel import lazy_gettext as _l  # noqa: E402
from peewee import fn  # noqa: E402

from lanbill.models import Account, AccountIp, Agreement, Subscriber, SubscriberGroup  # noqa: E402

SUBSCRIBER_CRITERIA = [
    ("any", _l("Everywhere")),
    ("name", _l("Name")),
    ("agreement", _l("Agreement")),
    ("login", _l("Login")),
    ("phone", _l("Phone")),
    ("email", _l("E-mail")),
    ("ip", _l("IP address")),
]
ACCOUNT_CRITERIA = [
    ("any", _l("Everywhere")),
    ("name", _l("Name")),
    ("agreement", _l("Agreement")),
    ("login", _l("Login")),
    ("ip", _l("IP address")),
    ("phone", _l("Phone")),
]
PAYMENT_CRITERIA = [c for c in SUBSCRIBER_CRITERIA if c[0] in ("name", "agreement", "login", "phone", "email")]


def unicode_lower(expression):
    """lower() that folds Cyrillic on both databases (see the module doc)."""
    return fn.lb_lower(expression) if is_sqlite() else fn.lower(expression)


def _clean(text) -> str:
    return (text or "").strip()[:100] if isinstance(text, str) else ""


def name_contains(text: str):
    return unicode_lower(Subscriber.name).contains(text.lower())


def subscriber_condition(criterion: str, text: str):
    """A WHERE expression on Subscriber for the seed's quick search, or None
    for an empty text.  Matching subscribers of agreements, account logins
    and IPs come from non-correlated subqueries (each evaluated once)."""
    text = _clean(text)
    if not text:
        return None
    by_agreement = Subscriber.id.in_(Agreement.select(Agreement.subscriber).where(Agreement.number.contains(text)))
    by_account_login = Subscriber.id.in_(Account.select(Account.subscriber).where(Account.login.contains(text)))
    by_ip = Subscriber.id.in_(
        Account.select(Account.subscriber).join(AccountIp).where(AccountIp.network.contains(text))
    )
    conditions = {
        "name": name_contains(text),
        "agreement": by_agreement,
        "login": Subscriber.login.contains(text) | by_account_login,
        "phone": Subscriber.phone.contains(text),
        "email": Subscriber.email.contains(text),
        "ip": by_ip,
    }
    if criterion in conditions:
        return conditions[criterion]
    # Cheap comparisons first: SQLite stops at the first true term, so the
    # Python-level lower() of the name runs only for rows nothing else matched.
    return (
        Subscriber.phone.contains(text)
        | Subscriber.email.contains(text)
        | Subscriber.login.contains(text)
        | by_agreement
        | by_account_login
        | (by_ip if _looks_like_ip(text) else Subscriber.id < 0)
        | name_contains(text)
    )


def _looks_like_ip(text: str) -> bool:
    return all(ch.isdigit() or ch in ".:/abcdefABCDEF" for ch in text) and any(ch in ".:" for ch in text)


def account_condition(criterion: str, text: str):
    """A WHERE expression for the accounts list (query joined to Subscriber
    and Agreement): name, agreement, login, IP, phone — "contains"."""
    text = _clean(text)
    if not text:
        return None
    by_ip = Account.id.in_(AccountIp.select(AccountIp.account).where(AccountIp.network.contains(text)))
    conditions = {
        "name": name_contains(text),
        "agreement": Agreement.number.contains(text),
        "login": Account.login.contains(text),
        "ip": by_ip,
        "phone": Account.phone_numbers.contains(text) | Subscriber.phone.contains(text),
    }
    if criterion in conditions:
        return conditions[criterion]
    return (
        Account.login.contains(text)
        | Agreement.number.contains(text)
        | Account.phone_numbers.contains(text)
        | Subscriber.phone.contains(text)
        | (by_ip if _looks_like_ip(text) else Account.id < 0)
        | name_contains(text)
    )


# --- advanced search: rule sets ---------------------------------------------------

RULE_FIELDS = [
    ("name", _l("Name")),
    ("email", _l("E-mail")),
    ("phone", _l("Phone")),
    ("login", _l("Login")),
    ("agreement", _l("Agreement")),
    ("ip", _l("IP address")),
    ("description", _l("Description")),
    ("group", _l("Group")),
    ("kind", _l("Class")),
    ("category", _l("Category")),
    ("state", _l("Account state")),
    ("balance", _l("Balance")),
    ("created", _l("Created on")),
]
RULE_OPS = [
    ("contains", _l("contains")),
    ("not_contains", _l("does not contain")),
    ("eq", _l("equals")),
    ("ne", _l("not equal")),
    ("lt", _l("less than")),
    ("gt", _l("greater than")),
]
TEXT_FIELDS = {"name", "email", "phone", "login", "agreement", "ip", "description"}


def clean_rules(rules) -> list[dict]:
    """Keep well-formed rules only: {field, op, value} with known names."""
    fields = {f for f, _ in RULE_FIELDS}
    ops = {o for o, _ in RULE_OPS}
    out = []
    for rule in rules or []:
        if not isinstance(rule, dict):
            continue
        field, op, value = rule.get("field"), rule.get("op"), _clean(str(rule.get("value", "")))
        if field in fields and op in ops and value:
            out.append({"field": field, "op": op, "value": value})
    return out[:20]


def rule_condition(rule: dict):
    """One rule as a WHERE expression on Subscriber, or None if the value
    does not fit the field (e.g. a balance that is not a number)."""
    import datetime as dt

    from lanbill.money import MoneyError, parse_money

    field, op, value = rule["field"], rule["op"], rule["value"]
    if field in TEXT_FIELDS:
        base = subscriber_condition(field, value) if field != "description" else (
            unicode_lower(Subscriber.description).contains(value.lower()))
        if field in ("name", "email", "phone", "description") and op in ("eq", "ne"):
            column = getattr(Subscriber, field)
            target = unicode_lower(column) == value.lower() if field in ("name", "description") else (
                column == value)
            return target if op == "eq" else ~target
        return ~base if op in ("not_contains", "ne") else base
    if field == "group":
        try:
            group_id = int(value)
        except ValueError:
            return None
        members = Subscriber.id.in_(SubscriberGroup.select(SubscriberGroup.subscriber)
                                    .where(SubscriberGroup.group == group_id))
        return ~members if op in ("ne", "not_contains") else members
    if field in ("kind", "category"):
        column = getattr(Subscriber, field)
        return column != value if op in ("ne", "not_contains") else column == value
    if field == "state":
        having = Subscriber.id.in_(Account.select(Account.subscriber).where(
            (Account.state == value) & (Account.deleted == False)))  # noqa: E712
        return ~having if op in ("ne", "not_contains") else having
    if field == "balance":
        try:
            amount = parse_money(value)
        except MoneyError:
            return None
        column = Agreement.balance
        compare = {"lt": column < amount, "gt": column > amount, "eq": column == amount,
                   "ne": column != amount}.get(op, column == amount)
        return Subscriber.id.in_(Agreement.select(Agreement.subscriber).where(compare))
    if field == "created":
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            return None
        start = dt.datetime.combine(day, dt.time())
        end = start + dt.timedelta(days=1)
        if op == "lt":
            return Subscriber.created_at < start
        if op == "gt":
            return Subscriber.created_at >= end
        within = (Subscriber.created_at >= start) & (Subscriber.created_at < end)
        return ~within if op == "ne" else within
    return None


def rules_condition(rules: list[dict], match: str = "all"):
    """All rules AND-ed (match="all") or OR-ed (match="any")."""
    expressions = [e for e in (rule_condition(r) for r in clean_rules(rules)) if e is not None]
    if not expressions:
        return None
    result = expressions[0]
    for expression in expressions[1:]:
        result = (result | expression) if match == "any" else (result & expression)
    return result

"""Subscriber and account search (seed 002): by name, agreement, login,
phone, e-mail and IP, "contains", case-insensitive; the advanced search
with rule sets (saved per manager in SavedSearch).

The quick search reads the subscriber search index (SubscriberSearch,
kept by customers.search_index): one narrow row per subscriber with every
searchable value lower-cased in Python, so "contains" is a plain LIKE in C
over a small table — case-insensitive for Cyrillic on SQLite too (its LIKE
folds only ASCII), no query per row, ~100k rows scanned in milliseconds.
The few rules of the advanced search that the index does not hold use
`lb_lower()` (Python's str.lower registered on SQLite connections;
lower() on PostgreSQL).
"""

from __future__ import annotations

import datetime as dt

from peewee import fn

from lanbill.customers import search_index
from lanbill.db import database, is_sqlite
from lanbill.models import Account, AccountIp, Agreement, Subscriber, SubscriberGroup
from lanbill.models.search import SubscriberSearch
from lanbill.money import MoneyError, parse_money


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def register_sql_functions() -> None:
    """Make lb_lower() available on every SQLite connection."""
    if is_sqlite():
        database.obj.register_function(_lower, "lb_lower", 1, deterministic=True)


# --- quick search --------------------------------------------------------------

def unicode_lower(expression):
    """lower() that folds Cyrillic on both databases (see the module doc)."""
    return fn.lb_lower(expression) if is_sqlite() else fn.lower(expression)


def _clean(text) -> str:
    return (text or "").strip()[:100] if isinstance(text, str) else ""


def _indexed(condition):
    return SubscriberSearch.select(SubscriberSearch.subscriber_id).where(condition)


def ensure_index() -> None:
    """Refresh the search index before a search (cheap when nothing changed)."""
    search_index.refresh()


def _index_condition(criterion: str, text: str):
    """The condition on the search index row for one criterion, or for all."""
    S = SubscriberSearch
    lowered = text.lower()
    digits = "".join(ch for ch in text if ch.isdigit())
    phone = S.phone.contains(lowered)
    if len(digits) >= 3 and digits != lowered:
        phone = phone | S.phone.contains(digits)
    conditions = {
        "name": S.name.contains(lowered),
        "agreement": S.agreements.contains(lowered),
        "login": S.logins.contains(lowered),
        "phone": phone,
        "email": S.email.contains(lowered),
        "ip": S.ips.contains(lowered),
    }
    if criterion in conditions:
        return conditions[criterion]
    everywhere = S.everything.contains(lowered)
    if len(digits) >= 3 and digits != lowered:
        everywhere = everywhere | S.phone.contains(digits)
    return everywhere


# Up to this many matches the list filters by the ids (and sorts them);
# beyond it the list walks its sort index and checks each row against the
# search index, stopping after one page.
ID_LIST_LIMIT = 5000


def narrow_subscribers(query, criterion: str, text: str):
    """Apply the quick search to a Subscriber query, choosing the plan by
    how many subscribers match: a rare fragment → the matching ids (one scan
    of the narrow index table); a common one → a join the database walks in
    sort order, stopping after the page."""
    text = _clean(text)
    if not text:
        return query
    condition = _index_condition(criterion, text)
    ids = [row[0] for row in _indexed(condition).limit(ID_LIST_LIMIT + 1).tuples()]
    if len(ids) <= ID_LIST_LIMIT:
        return query.where(Subscriber.id.in_(ids or [0]))
    return query.join(SubscriberSearch, on=(SubscriberSearch.subscriber_id == Subscriber.id)).where(condition)


def subscriber_condition(criterion: str, text: str):
    """A WHERE expression on Subscriber for the seed's quick search, or None
    for an empty text: the ids whose search-index row contains the text
    (lower-cased on both sides, so Cyrillic folds too)."""
    text = _clean(text)
    if not text:
        return None
    return Subscriber.id.in_(_indexed(_index_condition(criterion, text)))


def account_condition(criterion: str, text: str):
    """A WHERE expression for the accounts list (query joined to Subscriber
    and Agreement): name, agreement, login, IP, phone — "contains".  The
    subscriber's index row narrows the accounts; the account's own column
    then decides (a subscriber may have other accounts)."""
    text = _clean(text)
    if not text:
        return None
    owners = Account.subscriber.in_(_indexed(_index_condition(criterion, text)))
    lowered = text.lower()
    exact = {
        "name": None,
        "agreement": Agreement.number.contains(text),
        "login": Account.login.contains(lowered),
        "ip": Account.id.in_(AccountIp.select(AccountIp.account).where(AccountIp.network.contains(lowered))),
        "phone": None,
    }
    if criterion in exact:
        return owners if exact[criterion] is None else (owners & exact[criterion])
    return owners


# --- advanced search: rule sets ---------------------------------------------------

RULE_FIELD_NAMES = ("name", "email", "phone", "login", "agreement", "ip", "description", "group", "kind",
                    "category", "state", "balance", "created")
RULE_OP_NAMES = ("contains", "not_contains", "eq", "ne", "lt", "gt")
TEXT_FIELDS = {"name", "email", "phone", "login", "agreement", "ip", "description"}


def clean_rules(rules) -> list[dict]:
    """Keep well-formed rules only: {field, op, value} with known names."""
    fields = set(RULE_FIELD_NAMES)
    ops = set(RULE_OP_NAMES)
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

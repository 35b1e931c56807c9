"""Bulk creation of subscribers, agreements and accounts (a whole billing
moving in at once): the rows `create_subscriber`, `create_agreement` and
`create_account` write, in a few statements per thousand rows instead of
some twenty per row.

The caller checks every row first (the same pure checks the single forms
run: subscribers._clean, accounts.login_error/_clean_fields/parse_networks,
agreements._clean_number) and the uniqueness rules against the database
with the set-based look-ups here (`taken_numbers`, `taken_logins`,
`taken_networks`), all inside the transaction that then writes.

Rules kept from the single forms:
- every subscriber is in the system group;
- agreement numbers are unique per operator; numbers not given come from
  the operator's counter and pattern, skipping numbers already taken (in
  the database or by the rows being written);
- an account's password is stored encrypted (EncryptedField.db_value),
  its connect date is today, its first tariff is recorded as a
  TariffChange applied now;
- opening balances go through the ledger's bulk form (post_entries: one
  entry per agreement with its idempotency key, the balance moved with it,
  the balance block set on accounts whose funds are below zero).
Audit: the caller writes one summary row for the whole batch, not one per
row (a 100,000-row import would otherwise bury the audit log).

Ids are reserved before the rows are written, so rows can point at each
other without reading anything back: on PostgreSQL from the table's own
sequence (safe beside concurrent writers), on SQLite as MAX(id)+1… inside
the write transaction (which holds SQLite's only write lock).
"""

from __future__ import annotations

import datetime as dt

import peewee

from lanbill.actor import actor_of
from lanbill.billing.ledger import post_entries
from lanbill.clock import now_utc, today
from lanbill.customers.accounts import _clean_fields
from lanbill.customers.agreements import _clean_number, number_pattern, render_number
from lanbill.customers.subscribers import _clean, name_skeleton, system_group
from lanbill.db import EncryptedField, database, is_sqlite
from lanbill.db import insert_rows as db_insert_rows
from lanbill.models import Account, AccountIp, Agreement, Counter, Subscriber, SubscriberGroup, TariffChange

LOOKUP_CHUNK = 900  # bound parameters per IN (…) look-up
PAGE = 1000  # rows per INSERT page on PostgreSQL


def _chunks(values: list, size: int = LOOKUP_CHUNK):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _in(values: list) -> str:
    return ", ".join([database.param] * len(values))


# --- the single forms' own checks, for a caller checking rows before a bulk write ---------------


def subscriber_fields(data: dict, kind: str) -> dict:
    """create_subscriber's field checks and cleaning (ValidationError)."""
    return _clean(data, kind)


def agreement_number(number) -> str:
    """create_agreement's check of a number given by hand (ValidationError)."""
    return _clean_number(number)


def account_fields(data: dict) -> dict:
    """create_account's checks of the plain fields (ValidationError)."""
    return _clean_fields(data)


# --- set-based look-ups ----------------------------------------------------------------------


def taken_numbers(operator_id: int, numbers) -> set[str]:
    """Which of `numbers` the operator's agreements already carry."""
    found = set()
    for chunk in _chunks(sorted(set(numbers))):
        cursor = database.execute_sql(
            f"SELECT number FROM agreement WHERE operator_id = {database.param} AND number IN ({_in(chunk)})",
            [operator_id, *chunk])
        found.update(n for (n,) in cursor.fetchall())
    return found


def taken_logins(pairs) -> set[tuple[int, str]]:
    """Which (agent id, login) pairs live (not deleted) accounts hold."""
    by_agent: dict[int, set[str]] = {}
    for agent_id, login in pairs:
        by_agent.setdefault(agent_id, set()).add(login)
    found = set()
    for agent_id, logins in by_agent.items():
        for chunk in _chunks(sorted(logins)):
            query = Account.select(Account.login).where(
                (Account.agent == agent_id) & Account.login.in_(chunk) & (Account.deleted == False)  # noqa: E712
            ).tuples()
            found.update((agent_id, login) for (login,) in query)
    return found


def taken_networks(networks) -> set[str]:
    """Which of the normalised `networks` belong to live accounts."""
    found = set()
    for chunk in _chunks(sorted(set(networks))):
        query = (AccountIp.select(AccountIp.network).join(Account)
                 .where(AccountIp.network.in_(chunk) & (Account.deleted == False)).tuples())  # noqa: E712
        found.update(n for (n,) in query)
    return found


# --- writing ---------------------------------------------------------------------------------


def reserve_ids(model, count: int) -> list[int]:
    """`count` new primary keys for `model`, ascending.  Call inside the
    write transaction."""
    if count <= 0:
        return []
    table = model._meta.table_name
    if is_sqlite():
        start = (database.execute_sql(f'SELECT MAX(id) FROM "{table}"').fetchone()[0] or 0) + 1
        return list(range(start, start + count))
    cursor = database.execute_sql(
        f"SELECT nextval(pg_get_serial_sequence('\"{table}\"', 'id')) FROM generate_series(1, %s)", [count])
    return sorted(r[0] for r in cursor.fetchall())


# Fields whose db_value leaves a value of the right Python type as it is:
# the rows built here carry such values, so they are passed straight on.
_PLAIN = (peewee.AutoField, peewee.CharField, peewee.TextField, peewee.IntegerField, peewee.ForeignKeyField)
_PLAIN_EXCEPT = (EncryptedField,)


def _converter(field):
    """The function turning a Python value into what the driver gets."""
    if isinstance(field, _PLAIN) and not isinstance(field, _PLAIN_EXCEPT) \
            and type(field).db_value in _PLAIN_DB_VALUES:
        return None
    convert = field.db_value
    if is_sqlite() and isinstance(field, (peewee.DateTimeField, peewee.DateField)):
        # Peewee hands these to sqlite3, whose adapter writes isoformat(" "): the same text, once
        def convert(value, db_value=field.db_value):
            value = db_value(value)
            return value.isoformat(" ") if isinstance(value, dt.datetime) else (
                value.isoformat() if isinstance(value, dt.date) else value)
    return convert


_PLAIN_DB_VALUES = {peewee.Field.db_value, peewee.ForeignKeyField.db_value, peewee.CharField.db_value,
                    peewee.TextField.db_value, peewee.IntegerField.db_value, peewee.AutoField.db_value}


def insert_rows(model, rows: list[dict]) -> int:
    """INSERT `rows` (dicts of field name → Python value; every row the
    same keys) with one prepared statement: each value goes through its
    field's db_value as Peewee would do (plain text and integers as they
    are), the fields not given get their defaults (computed once for the
    batch)."""
    if not rows:
        return 0
    meta = model._meta
    given = [meta.fields[name] for name in rows[0]]
    rest = [f for f in meta.sorted_fields if f.name not in rows[0] and not isinstance(f, peewee.AutoField)]
    defaults = []
    for f in rest:
        if f.default is None:
            if not f.null:
                raise ValueError(f"{model.__name__}.{f.name} needs a value")
            defaults.append(None)
        else:
            value = f.default() if callable(f.default) else f.default
            convert = _converter(f)
            defaults.append(convert(value) if convert else value)
    tail = tuple(defaults)
    names = [f.name for f in given]
    converters = [(index, convert) for index, convert in enumerate(_converter(f) for f in given) if convert]
    data = []
    for row in rows:
        values = [row[name] for name in names]
        for index, convert in converters:
            values[index] = convert(values[index])
        data.append(tuple(values) + tail)
    return db_insert_rows(meta.table_name, [f.column_name for f in given + rest], data, page_size=PAGE)


def next_numbers(operator_id: int, days: list[dt.date], also_taken=()) -> list[str]:
    """`next_number` for many agreements at once: the counter advanced
    once per number handed out, numbers already taken (in the database or
    in `also_taken`) skipped, as the single form does."""
    if not days:
        return []
    name = f"agreement:{operator_id}"
    Counter.insert(name=name, value=0).on_conflict_ignore().execute()
    seq = Counter.get_by_id(name).value
    pattern = number_pattern()
    avoid = set(also_taken)
    numbers: list[str | None] = [None] * len(days)
    pending = list(range(len(days)))
    while pending:
        candidates = {}
        for index in pending:
            seq += 1
            candidates[index] = render_number(pattern, seq, operator_id, days[index])
        taken = taken_numbers(operator_id, list(candidates.values())) | avoid
        seen_now = set()
        still = []
        for index, number in candidates.items():
            if number in taken or number in seen_now:
                still.append(index)
            else:
                numbers[index] = number
                seen_now.add(number)
        avoid |= seen_now
        pending = still
    Counter.update(value=seq).where(Counter.name == name).execute()
    return numbers  # type: ignore[return-value]


def create_many(items: list[dict], *, actor, operator, currency, progress=None, chunk: int = 2000) -> dict:
    """Write subscribers with their agreements, accounts, addresses and
    opening balances.  Call inside one write transaction (all or nothing).

    `items`, in order, each one of:
    - {"subscriber": {kind, name, …cleaned fields}, "agreement": {"key", "number" (None: from the
      pattern), "date"}, "opening": Decimal | None, "comment": str}
      — a new subscriber with its agreement (and its opening balance);
    - {"account": {"agreement": key, "agent", "tariff", "login", "password", "mac", "networks"}}
      — an account of an agreement created by an earlier item.
    `progress(done, total)` is called after every `chunk` items.
    Returns the counts {subscribers, agreements, accounts, balances}."""
    who = actor_of(actor)
    heads = [item for item in items if "subscriber" in item]
    accounts = [item["account"] for item in items if "account" in item]
    typed = [h["agreement"]["number"] for h in heads if h["agreement"]["number"]]
    auto = [h for h in heads if not h["agreement"]["number"]]
    for head, number in zip(auto, next_numbers(operator.id, [h["agreement"]["date"] or today() for h in auto],
                                               also_taken=typed), strict=True):
        head["agreement"]["number"] = number
    subscriber_ids = iter(reserve_ids(Subscriber, len(heads)))
    agreement_ids = iter(reserve_ids(Agreement, len(heads)))
    account_ids = iter(reserve_ids(Account, len(accounts)))
    group = system_group().id
    agreement_of: dict = {}  # key → (agreement id, subscriber id)
    counts = {"subscribers": 0, "agreements": 0, "accounts": 0, "balances": 0}
    day = today()
    total = len(items)
    for start in range(0, total, chunk):
        part = items[start:start + chunk]
        now = now_utc()
        subscribers, memberships, agreements, entries = [], [], [], []
        account_rows, ips, changes = [], [], []
        for item in part:
            if "subscriber" in item:
                sid, aid = next(subscriber_ids), next(agreement_ids)
                fields = dict(item["subscriber"])
                fields.setdefault("category", "subscriber")
                subscribers.append({"id": sid, "name_skeleton": name_skeleton(fields["name"]), **fields})
                memberships.append({"subscriber": sid, "group": group})
                head = item["agreement"]
                agreements.append({"id": aid, "number": head["number"], "date": head["date"] or day,
                                   "operator": operator.id, "subscriber": sid, "currency": currency.id})
                agreement_of[head["key"]] = (aid, sid)
                if item.get("opening"):
                    entries.append({"agreement_id": aid, "amount": item["opening"], "kind": "opening_balance",
                                    "idempotency_key": f"opening:{aid}", "comment": item.get("comment", "")})
            else:
                data = item["account"]
                aid, sid = agreement_of[data["agreement"]]
                account_id = next(account_ids)
                account_rows.append({"id": account_id, "agent": data["agent"], "subscriber": sid, "agreement": aid,
                                     "tariff": data["tariff"], "login": data["login"],
                                     "password": data["password"], "mac": data["mac"], "connect_date": day})
                ips.extend({"account": account_id, "network": n} for n in data["networks"])
                changes.append({"account": account_id, "tariff": data["tariff"], "at": now, "applied_at": now,
                                "actor": who.label})
        # the rows point at each other: parents first
        insert_rows(Subscriber, _same_keys(subscribers))
        insert_rows(SubscriberGroup, memberships)
        insert_rows(Agreement, agreements)
        insert_rows(Account, account_rows)
        insert_rows(AccountIp, ips)
        insert_rows(TariffChange, changes)
        counts["subscribers"] += len(subscribers)
        counts["agreements"] += len(agreements)
        counts["accounts"] += len(account_rows)
        # opening balances after the accounts: the ledger's block rule then sees them
        # (the single forms post first and block when the account is created: same rows)
        counts["balances"] += len(post_entries(entries, actor=who))
        if progress:
            progress(min(start + chunk, total), total)
    return counts


def _same_keys(rows: list[dict]) -> list[dict]:
    """Subscribers differ in which optional fields they carry: give every
    row every key (the model's default where absent) so one statement fits."""
    keys = []
    for row in rows:
        for key in row:
            if key not in keys:
                keys.append(key)
    if all(len(row) == len(keys) for row in rows):
        return rows
    defaults = {}
    for key in keys:
        field = Subscriber._meta.fields[key]
        defaults[key] = field.default() if callable(field.default) else field.default
    return [{key: row.get(key, defaults[key]) for key in keys} for row in rows]

"""The subscriber search index (lanbill.models.search.SubscriberSearch):
refreshed from the data itself, so every writer — screens, API, cabinet,
agents, bulk imports — is covered without hooks.

What changed since the last refresh is found cheaply: new subscribers,
agreements and accounts by id above the last seen maximum; changed
subscribers and accounts by `updated_at` (both indexed; every change bumps
it) at or after the start of the previous refresh minus a few seconds, for
transactions that stamped a row before that refresh and committed after
it.  Agreement numbers do not change after creation.  Rows of
deleted subscribers stay and are never shown (the lists join Subscriber).
"""

from __future__ import annotations

import datetime as dt
import json

from peewee import fn

from lanbill.clock import now_utc
from lanbill.db import transaction
from lanbill.models import Account, AccountIp, Agreement, Setting, Subscriber
from lanbill.models.search import SubscriberSearch

STATE_KEY = "subscriber_search_index"
OVERLAP = dt.timedelta(seconds=10)
CHUNK = 500


def _state() -> dict:
    row = Setting.get_or_none(Setting.key == STATE_KEY)
    try:
        return json.loads(row.value) if row and row.value else {}
    except ValueError:
        return {}


def _max_id(model) -> int:
    return model.select(fn.MAX(model.id)).scalar() or 0


def refresh() -> int:
    """Bring the index up to date; returns the number of subscribers
    re-indexed.  Cheap when nothing changed (a few index look-ups)."""
    started = now_utc()
    state = _state()
    marks = {"subscriber": _max_id(Subscriber), "agreement": _max_id(Agreement), "account": _max_id(Account)}
    if not state:
        ids = None  # first run: everything
    else:
        since = dt.datetime.fromisoformat(state["at"]) - OVERLAP if state.get("at") else dt.datetime.min
        ids = set()
        if marks["subscriber"] > state.get("subscriber", 0):
            ids.update(r.id for r in Subscriber.select(Subscriber.id).where(Subscriber.id > state.get("subscriber", 0)))
        if marks["agreement"] > state.get("agreement", 0):
            ids.update(r.subscriber_id for r in Agreement.select(Agreement.subscriber)
                       .where(Agreement.id > state.get("agreement", 0)))
        if marks["account"] > state.get("account", 0):
            ids.update(r.subscriber_id for r in Account.select(Account.subscriber)
                       .where(Account.id > state.get("account", 0)))
        ids.update(r.id for r in Subscriber.select(Subscriber.id).where(Subscriber.updated_at >= since))
        ids.update(r.subscriber_id for r in Account.select(Account.subscriber).where(Account.updated_at >= since))
        if not ids and marks == {k: state.get(k) for k in marks}:
            return 0
    count = reindex(ids)
    marks["at"] = started.isoformat()
    with transaction():
        Setting.insert(key=STATE_KEY, value=json.dumps(marks)).on_conflict(
            conflict_target=[Setting.key], update={Setting.value: json.dumps(marks)}).execute()
    return count


def _lines(values) -> str:
    return "\n".join(v.lower() for v in values if v)


def reindex(subscriber_ids=None) -> int:
    """Rebuild the rows of these subscribers (None: all — one pass over
    each table rather than look-ups by id), in chunks."""
    if subscriber_ids is None:
        return _build(None)
    ids = sorted(subscriber_ids)
    for start in range(0, len(ids), CHUNK):
        _build(ids[start:start + CHUNK])
    return len(ids)


def _where(query, column, ids):
    return query if ids is None else query.where(column.in_(ids))


def _build(ids: list[int] | None) -> int:
    subscribers = list(_where(Subscriber.select(Subscriber.id, Subscriber.name, Subscriber.email, Subscriber.phone,
                                                Subscriber.login), Subscriber.id, ids).tuples().iterator())
    numbers: dict[int, list[str]] = {}
    for owner, number in _where(Agreement.select(Agreement.subscriber, Agreement.number), Agreement.subscriber,
                                ids).tuples().iterator():
        numbers.setdefault(owner, []).append(number)
    logins: dict[int, list[str]] = {}
    account_owner = {}
    accounts = Account.select(Account.id, Account.subscriber, Account.login).where(Account.deleted == False)  # noqa: E712
    for account_id, owner, login in _where(accounts, Account.subscriber, ids).tuples().iterator():
        logins.setdefault(owner, []).append(login)
        account_owner[account_id] = owner
    networks: dict[int, list[str]] = {}
    ip_query = AccountIp.select(AccountIp.account, AccountIp.network)
    if ids is not None:
        ip_query = ip_query.where(AccountIp.account.in_(list(account_owner) or [0]))
    for account_id, network in ip_query.tuples().iterator():
        if account_id in account_owner:
            networks.setdefault(account_owner[account_id], []).append(network)
    rows = []
    for sid, name, email, phone, login in subscribers:
        row = {
            "subscriber_id": sid,
            "name": (name or "").lower(),
            "email": (email or "").lower(),
            "phone": _lines([phone, "".join(ch for ch in phone or "" if ch.isdigit())]),
            "logins": _lines([login] + logins.get(sid, [])),
            "agreements": _lines(numbers.get(sid, [])),
            "ips": _lines(networks.get(sid, [])),
        }
        row["everything"] = "\n".join(v for v in row.values() if isinstance(v, str) and v)
        rows.append(row)
    found = {r["subscriber_id"] for r in rows}
    gone = [i for i in ids if i not in found] if ids is not None else []
    for start in range(0, max(len(rows), 1), CHUNK * 2):
        _write(rows[start:start + CHUNK * 2], gone if start == 0 else [])
    return len(rows)


def _write(rows: list[dict], gone: list[int]) -> None:
    with transaction():
        if gone:
            SubscriberSearch.delete().where(SubscriberSearch.subscriber_id.in_(gone)).execute()
        if rows:
            S = SubscriberSearch
            S.insert_many(rows).on_conflict(
                conflict_target=[S.subscriber_id],
                preserve=[S.name, S.email, S.phone, S.logins, S.agreements, S.ips, S.everything],
            ).execute()

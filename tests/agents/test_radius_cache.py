"""The RADIUS cache's refresh (agents/radius/cache.py): changes arrive
within a poll, and a poll reads whole account rows only for versions it
has not loaded yet."""

from __future__ import annotations

from agents.radius.cache import Cache
from lanbill.customers import accounts as account_service
from lanbill.db import database, is_sqlite
from lanbill.models import Account
from tests.factories import ACTOR, make_account, make_agent


def _statements(action) -> list[str]:
    """The SQL `action` runs (SQLite's trace callback: the real statements)."""
    seen = []
    connection = database.connection()
    connection.set_trace_callback(seen.append)
    try:
        action()
    finally:
        connection.set_trace_callback(None)
    return seen


def test_refresh_rereads_no_whole_row_it_already_has(app):
    agent = make_agent(type="radius")
    first = make_account(agent=agent, login="alpha")
    make_account(agent=agent, login="beta")
    cache = Cache([agent.id])
    cache.load()
    assert set(login for _, login in cache.accounts) == {"alpha", "beta"}
    if is_sqlite():
        quiet = _statements(cache.refresh)
        # the overlap window is still read, but only as (id, updated_at)
        assert not [s for s in quiet if "password" in s and "FROM \"account\"" in s], quiet
    account_service.update_account(Account.get_by_id(first.id), {"password": "new-pass-9"}, actor=ACTOR)
    cache.refresh()
    assert cache.accounts[(agent.id, "alpha")].password_bytes == b"new-pass-9"
    assert cache.accounts[(agent.id, "beta")].password_bytes == b"pw-123456"

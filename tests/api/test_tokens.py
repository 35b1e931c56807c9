"""API tokens: expiry (401 with its own message), scope (a read-only token
gets 403 on every route that is not a GET and writes nothing), the time
of last use kept to the minute without a write per request, and the
`token list` / `token revoke` commands."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine

from lanbill.clock import now_utc
from lanbill.db import database
from lanbill.models import ApiToken, AuditLog
from lanbill.staff import tokens
from lanbill.staff.tokens import token_hash
from tests.conftest import ApiClient
from tests.factories import ACTOR, make_agreement, table_counts

NOON = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def test_an_expired_token_is_refused_with_a_clear_message(app, client, admin):
    app.config["API_TOKEN_CACHE_SECONDS"] = 5
    with time_machine.travel(NOON, tick=False) as traveller:
        token = tokens.create_token(admin, actor=ACTOR, expires_at=now_utc() + dt.timedelta(hours=1))
        api = ApiClient(client, token)
        assert api.get("/tariffs").status_code == 200
        traveller.shift(3599)
        assert api.get("/tariffs").status_code == 200
        traveller.shift(1)  # within the token cache time: the expiry is checked anyway
        response = api.get("/tariffs")
        assert response.status_code == 401
        assert response.json["error"] == "The token has expired; ask for a new one."
        russian = api.get("/tariffs", language="ru")
        assert russian.status_code == 401 and "истёк" in russian.json["error"]


def test_a_token_cannot_be_created_already_expired(app, admin):
    from lanbill.errors import ValidationError

    with pytest.raises(ValidationError) as info:
        tokens.create_token(admin, actor=ACTOR, expires_at=now_utc() - dt.timedelta(seconds=1))
    assert "expires_at" in info.value.fields
    assert ApiToken.select().count() == 0


def _api_rules(app):
    return [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1")]


def _url(rule) -> str:
    return re.sub(r"<(?:[^:>]+:)?[^>]+>", "1", rule.rule)


def test_a_read_only_token_gets_403_on_every_route_that_is_not_a_get(app, client, admin):
    make_agreement()
    api = ApiClient(client, tokens.create_token(admin, actor=ACTOR, scope="read"))
    assert api.get("/tariffs").status_code == 200
    assert api.get("/agreements").status_code == 200
    checked = 0
    before = table_counts()
    for rule in _api_rules(app):
        for method in sorted(rule.methods - {"GET", "HEAD", "OPTIONS"}):
            response = client.open(_url(rule), method=method, json={}, headers=api._headers())
            assert response.status_code == 403, (method, rule.rule, response.status_code)
            assert response.json["error"] == "This token is read-only: it may only read data."
            checked += 1
    assert checked >= 15
    after = table_counts()
    # Reading stamps the token's last use; nothing else is written.
    assert after == before


def test_a_full_token_may_write_as_its_role_allows(api):
    agreement = make_agreement()
    response = api.post("/payments", json={"agreement_id": agreement.id, "amount": "10", "document_number": "A"})
    assert response.status_code == 201


def test_last_use_is_kept_to_the_minute_without_a_write_per_request(app, client, admin, monkeypatch):
    app.config["API_TOKEN_CACHE_SECONDS"] = 0
    token = tokens.create_token(admin, actor=ACTOR)
    api = ApiClient(client, token)
    row = lambda: ApiToken.get(ApiToken.token_hash == token_hash(token))  # noqa: E731
    assert row().last_used_at is None
    updates = []

    def count_updates(sql, params=None, commit=None):
        if sql.lstrip().upper().startswith("UPDATE") and '"api_token"' in sql:
            updates.append(sql)
        return original(sql, params) if commit is None else original(sql, params, commit)

    original = database.obj.execute_sql
    monkeypatch.setattr(database.obj, "execute_sql", count_updates)
    with time_machine.travel(NOON, tick=False) as traveller:
        for _ in range(5):
            assert api.get("/tariffs").status_code == 200
        assert len(updates) == 1
        first = row().last_used_at
        assert first == dt.datetime(2026, 5, 1, 12, 0)
        traveller.shift(59)
        assert api.get("/tariffs").status_code == 200
        assert len(updates) == 1 and row().last_used_at == first
        traveller.shift(1)
        assert api.get("/tariffs").status_code == 200
        assert len(updates) == 2 and row().last_used_at == dt.datetime(2026, 5, 1, 12, 1)


def test_cli_lists_and_revokes_tokens(app, runner, client, admin):
    token = tokens.create_token(admin, name="1C", actor=ACTOR, scope="read")
    row = ApiToken.get(ApiToken.token_hash == token_hash(token))
    listed = runner.invoke(args=["token", "list"])
    assert listed.exit_code == 0, listed.output
    line = next(line for line in listed.output.splitlines() if line.startswith(f"{row.id}\t"))
    assert "admin" in line and "1C" in line and "read" in line and "live" in line
    assert token not in listed.output and row.token_hash not in listed.output

    app.config["API_TOKEN_CACHE_SECONDS"] = 0
    api = ApiClient(client, token)
    assert api.get("/tariffs").status_code == 200
    revoked = runner.invoke(args=["token", "revoke", str(row.id)])
    assert revoked.exit_code == 0, revoked.output
    assert api.get("/tariffs").status_code == 401
    assert ApiToken.get_by_id(row.id).revoked_at is not None
    assert AuditLog.select().where(AuditLog.action == "token.revoke").count() == 1
    assert "revoked" in runner.invoke(args=["token", "list"]).output


def test_cli_revoke_of_an_unknown_token_says_so(runner):
    result = runner.invoke(args=["token", "revoke", "999"])
    assert result.exit_code != 0 and "999" in result.output


def test_cli_creates_a_read_only_token_with_an_expiry(app, runner, client, admin):
    result = runner.invoke(args=["token", "create", "--manager", "admin", "--scope", "read", "--days", "30"])
    assert result.exit_code == 0, result.output
    row = ApiToken.get(ApiToken.token_hash == token_hash(result.output.strip()))
    assert row.scope == "read"
    assert dt.timedelta(days=29) < row.expires_at - now_utc() <= dt.timedelta(days=30)

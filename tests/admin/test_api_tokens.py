"""The API tokens screen (/admin/tokens): a manager lists, creates and
revokes their own tokens; staff with settings.edit see and revoke
everyone's; a new token is shown once and works with its scope and
expiry; revoking is a POST."""

from __future__ import annotations

import datetime as dt
import re

from lanbill.clock import midnight_utc, today
from lanbill.models import ApiToken, AuditLog
from lanbill.staff import tokens
from lanbill.staff.tokens import token_hash
from tests.admin_helpers import PASSWORD, make_manager
from tests.factories import ACTOR

TOKEN_ON_PAGE = re.compile(r'id="new-token-value" value="(lb_[^"]+)"')


def test_a_clerk_creates_a_read_only_token_shown_once(app, client, login_as):
    make_manager("clerk", permissions=["subscribers.view"])
    login_as("clerk", PASSWORD)
    page = client.get("/admin/tokens").get_data(as_text=True)
    assert 'action="/admin/tokens"' in page and 'name="scope"' in page and 'name="valid_until"' in page
    assert 'href="/admin/tokens"' in page  # in the menu
    until = today() + dt.timedelta(days=30)
    response = client.post("/admin/tokens", data={"name": "1C", "scope": "read", "valid_until": until.isoformat()})
    assert response.status_code == 201
    token = TOKEN_ON_PAGE.search(response.get_data(as_text=True)).group(1)
    row = ApiToken.get(ApiToken.token_hash == token_hash(token))
    assert row.name == "1C" and row.scope == "read" and row.manager.login == "clerk"
    assert row.expires_at == midnight_utc(until + dt.timedelta(days=1))
    again = client.get("/admin/tokens").get_data(as_text=True)
    assert token not in again and "1C" in again

    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    assert client.get("/api/v1/subscribers", headers=headers).status_code == 200
    assert client.post("/api/v1/subscribers", json={"name": "X"}, headers=headers).status_code == 403


def test_an_expiry_in_the_past_is_refused_on_the_form(app, client, login_as, admin):
    login_as()
    yesterday = today() - dt.timedelta(days=1)
    response = client.post("/admin/tokens", data={"name": "old", "scope": "full",
                                                  "valid_until": yesterday.isoformat()})
    assert response.status_code == 422
    assert "Срок действия должен быть в будущем" in response.get_data(as_text=True)
    assert ApiToken.select().count() == 0


def test_a_manager_sees_and_revokes_only_their_own_tokens(app, client, login_as):
    clerk = make_manager("clerk", permissions=["subscribers.view"])
    other = make_manager("other", permissions=["subscribers.view"])
    tokens.create_token(clerk, name="mine", actor=ACTOR)
    tokens.create_token(other, name="theirs", actor=ACTOR)
    mine = ApiToken.get(ApiToken.name == "mine")
    theirs = ApiToken.get(ApiToken.name == "theirs")
    login_as("clerk", PASSWORD)
    page = client.get("/admin/tokens").get_data(as_text=True)
    assert "mine" in page and "theirs" not in page
    assert client.get(f"/admin/tokens/{mine.id}/revoke").status_code == 405  # never by GET
    assert client.post(f"/admin/tokens/{theirs.id}/revoke").status_code == 404
    assert ApiToken.get_by_id(theirs.id).revoked_at is None
    response = client.post(f"/admin/tokens/{mine.id}/revoke")
    assert response.status_code == 302
    assert ApiToken.get_by_id(mine.id).revoked_at is not None
    assert AuditLog.select().where(AuditLog.action == "token.revoke").count() == 1


def test_settings_staff_see_and_revoke_every_token(app, client, login_as, admin):
    clerk = make_manager("clerk", permissions=["subscribers.view"])
    tokens.create_token(clerk, name="clerk-token", actor=ACTOR)
    row = ApiToken.get(ApiToken.name == "clerk-token")
    login_as()
    page = client.get("/admin/tokens").get_data(as_text=True)
    assert "clerk-token" in page and "clerk" in page
    assert client.post(f"/admin/tokens/{row.id}/revoke").status_code == 302
    assert ApiToken.get_by_id(row.id).revoked_at is not None


def test_revoking_needs_the_csrf_token(app_config):
    """With CSRF on (no app context kept pushed, so each request has its
    own `g`, where Flask-WTF caches the token)."""
    from lanbill import create_app
    from lanbill.db import database
    from lanbill.models import Manager
    from lanbill.staff.managers import hash_password

    application = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    with application.app_context():
        database.connect(reuse_if_open=True)
        admin = Manager.get(Manager.login == "admin")
        admin.password_hash = hash_password(PASSWORD)
        admin.save()
        tokens.create_token(admin, name="kept", actor=ACTOR)
        token_id = ApiToken.get(ApiToken.name == "kept").id
        database.close()
    client = application.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    assert client.post("/login", data={"login": "admin", "password": PASSWORD, "csrf_token": csrf}).status_code == 302
    assert client.post(f"/admin/tokens/{token_id}/revoke").status_code == 400
    page = client.get("/admin/tokens").get_data(as_text=True)
    assert "kept" in page
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": csrf}).status_code == 302
    with application.app_context():
        database.connect(reuse_if_open=True)
        assert ApiToken.get_by_id(token_id).revoked_at is not None
        assert AuditLog.select().where(AuditLog.action == "token.revoke").count() == 1
        database.close()

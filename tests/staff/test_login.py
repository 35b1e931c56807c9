"""Staff login (DESIGN §8–§9): first login of `admin` with its one-time
password, argon2 hashes, 20 minutes of inactivity, CSRF, slowed-down
failures, Russian by default."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine

from lanbill.models import AuditLog, Manager
from lanbill.staff.managers import give_one_time_password
from tests.factories import ACTOR

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def one_time(app):
    """admin's one-time password, as `flask init` gives it."""
    return give_one_time_password(Manager.get(Manager.login == "admin").id, actor=ACTOR)


def logout(client):
    return client.post("/logout")


def test_login_page_is_russian_by_default(client):
    page = client.get("/login").get_data(as_text=True)
    assert "Войти" in page and "Логин" in page and "Пароль" in page


def test_wrong_password_is_refused_in_russian(client, admin):
    response = client.post("/login", data={"login": "admin", "password": "nope-nope1"})
    assert response.status_code == 401
    assert "Неверный логин или пароль." in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_unknown_login_is_refused_like_a_wrong_password(client):
    response = client.post("/login", data={"login": "nobody", "password": "x"})
    assert response.status_code == 401
    assert "Неверный логин или пароль." in response.get_data(as_text=True)


def test_pages_need_a_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_first_login_with_the_one_time_password_leads_to_set_password_and_nothing_else(client, one_time):
    response = client.post("/login", data={"login": "admin", "password": one_time})
    assert response.status_code == 302
    assert response.headers["Location"] == "/password"
    for url in ("/admin/", "/admin/subscribers", "/admin/no-such-page", "/", "/password?x=1"):
        response = client.get(url)
        if url.startswith("/password"):
            assert response.status_code == 200
            assert "Вы вошли по одноразовому паролю" in response.get_data(as_text=True)
        else:
            assert response.status_code == 302, url
            assert response.headers["Location"] == "/password", url
    assert client.post("/admin/", data={}).headers["Location"] == "/password"


def test_first_login_sets_an_argon2_password_then_everything_opens(client, one_time):
    client.post("/login", data={"login": "admin", "password": one_time})
    response = client.post("/password", data={"password": "Kolobok-77", "confirm": "Kolobok-77"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    manager = Manager.get(Manager.login == "admin")
    assert manager.password_hash.startswith("$argon2id$")
    assert "Kolobok-77" not in manager.password_hash
    home = client.get("/admin/", follow_redirects=True)
    assert home.status_code == 200
    assert home.request.path.startswith("/admin/")
    assert "Пароль задан." in home.get_data(as_text=True)
    # From now on neither the one-time nor an empty password works.
    logout(client)
    assert client.post("/login", data={"login": "admin", "password": one_time}).status_code == 401
    assert client.post("/login", data={"login": "admin", "password": ""}).status_code == 401
    assert client.post("/login", data={"login": "admin", "password": "Kolobok-77"}).status_code == 302


def test_weak_or_mismatched_new_password_is_refused(client, one_time):
    client.post("/login", data={"login": "admin", "password": one_time})
    weak = client.post("/password", data={"password": "short", "confirm": "short"})
    assert weak.status_code == 422
    assert "не короче 8 символов" in weak.get_data(as_text=True)
    other = client.post("/password", data={"password": "Kolobok-77", "confirm": "Kolobok-78"})
    assert "Пароли не совпадают." in other.get_data(as_text=True)
    same = client.post("/password", data={"password": one_time, "confirm": one_time})
    assert "Выберите пароль, отличный от текущего." in same.get_data(as_text=True)
    assert Manager.get(Manager.login == "admin").needs_password
    assert client.get("/admin/").headers["Location"] == "/password"


def test_changing_a_set_password_needs_the_current_one(client, admin, login_as):
    login_as()
    wrong = client.post("/password", data={"current": "guess-it-1", "password": "Kolobok-77",
                                           "confirm": "Kolobok-77"})
    assert wrong.status_code == 422
    assert "Текущий пароль неверен." in wrong.get_data(as_text=True)
    ok = client.post("/password", data={"current": "Secret-pass1", "password": "Kolobok-77",
                                        "confirm": "Kolobok-77"})
    assert ok.status_code == 302
    from lanbill.staff.managers import verify_password

    assert verify_password(Manager.get_by_id(admin.id).password_hash, "Kolobok-77")


def test_session_expires_after_20_minutes_of_inactivity(client, admin):
    with time_machine.travel(T0, tick=False) as traveller:
        assert client.post("/login", data={"login": "admin", "password": "Secret-pass1"}).status_code == 302
        traveller.shift(dt.timedelta(minutes=19))
        assert client.get("/admin/").status_code == 200  # and the session is refreshed
        traveller.shift(dt.timedelta(minutes=19))  # 38 min after login, 19 after the last request
        assert client.get("/admin/").status_code == 200
        cookie = client.get_cookie("session").value
        traveller.shift(dt.timedelta(minutes=21))
        response = client.get("/admin/")
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")
        # The server itself refuses the stale cookie, whatever the browser keeps.
        client.set_cookie("session", cookie)
        response = client.get("/admin/")
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")


def test_repeated_failures_slow_the_login_down(app, client, admin):
    free = app.config["LOGIN_MAX_FAILURES"]
    with time_machine.travel(T0, tick=False) as traveller:
        for _ in range(free):
            assert client.post("/login", data={"login": "admin", "password": "bad-pass-1"}).status_code == 401
        # Now even the right password must wait.
        response = client.post("/login", data={"login": "admin", "password": "Secret-pass1"})
        assert response.status_code == 429
        assert "Слишком много неудачных попыток входа" in response.get_data(as_text=True)
        assert int(response.headers["Retry-After"]) >= 2
        traveller.shift(dt.timedelta(seconds=3))
        # One more failure doubles the wait.
        assert client.post("/login", data={"login": "admin", "password": "bad-pass-1"}).status_code == 401
        traveller.shift(dt.timedelta(seconds=3))
        assert client.post("/login", data={"login": "admin", "password": "Secret-pass1"}).status_code == 429
        traveller.shift(dt.timedelta(seconds=2))
        assert client.post("/login", data={"login": "admin", "password": "Secret-pass1"}).status_code == 302
    assert Manager.get_by_id(admin.id).failed_logins == 0
    assert AuditLog.select().where(AuditLog.action == "login.failed").count() == free + 1


def test_next_parameter_never_leaves_the_site(client, admin):
    for target in ("//evil.example/", "/\\evil.example/", "https://evil.example/", "/%09/evil.example",
                   "/%0A/evil.example", "/%0D%0A/evil.example", "%09//evil.example", "/%5Cevil.example",
                   "///evil.example", "http:/evil.example", "javascript:alert(1)", "/%00/x"):
        response = client.post("/login?next=" + target, data={"login": "admin", "password": "Secret-pass1"})
        assert response.status_code == 302, target
        assert response.headers["Location"] == "/admin/", target
        logout(client)
    response = client.post("/login?next=/admin/?page=2", data={"login": "admin", "password": "Secret-pass1"})
    assert response.headers["Location"] == "/admin/?page=2"


def test_logout_ends_the_session(client, admin, login_as):
    login_as()
    assert client.get("/admin/").status_code == 200
    logout(client)
    assert client.get("/admin/").status_code == 302


@pytest.fixture
def csrf_client(app_config):
    """A client of an app with CSRF on; no app context is kept pushed, so
    each request has its own `g` (where Flask-WTF caches the token)."""
    from lanbill import create_app
    from lanbill.db import database

    application = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    yield application.test_client()
    database.close()


def _token(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_forms_refuse_a_post_without_csrf_token(csrf_client, one_time):
    assert csrf_client.post("/login", data={"login": "admin", "password": one_time}).status_code == 400
    token = _token(csrf_client.get("/login").get_data(as_text=True))
    response = csrf_client.post("/login", data={"login": "admin", "password": one_time, "csrf_token": token})
    assert response.status_code == 302
    # The password form too: no token → refused, nothing set.
    refused = csrf_client.post("/password", data={"password": "Kolobok-77", "confirm": "Kolobok-77"})
    assert refused.status_code == 400
    assert Manager.get(Manager.login == "admin").needs_password
    token = _token(csrf_client.get("/password").get_data(as_text=True))
    done = csrf_client.post("/password", data={"password": "Kolobok-77", "confirm": "Kolobok-77",
                                               "csrf_token": token})
    assert done.status_code == 302
    assert not Manager.get(Manager.login == "admin").needs_password


def test_api_is_not_caught_by_the_password_redirect(client, one_time):
    client.post("/login", data={"login": "admin", "password": one_time})
    response = client.get("/api/v1/agreements/1")
    assert response.status_code == 401  # token auth, JSON error — not a redirect to /password
    assert response.is_json


def test_many_failures_from_one_address_slow_that_address_down(app, client, admin):
    """Guessing over many logins (even ones that do not exist) is slowed
    down per client address; another address is not affected."""
    from lanbill.models.logins import LoginFailure

    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 6
    attacker = {"REMOTE_ADDR": "203.0.113.7"}
    with time_machine.travel(T0, tick=False) as traveller:
        for n in range(6):
            response = client.post("/login", data={"login": f"guess{n}", "password": "x"}, environ_base=attacker)
            assert response.status_code == 401
        refused = client.post("/login", data={"login": "admin", "password": "Secret-pass1"}, environ_base=attacker)
        assert refused.status_code == 429
        assert "Слишком много неудачных попыток входа" in refused.get_data(as_text=True)
        assert int(refused.headers["Retry-After"]) >= 2
        other = client.post("/login", data={"login": "admin", "password": "Secret-pass1"},
                            environ_base={"REMOTE_ADDR": "198.51.100.2"})
        assert other.status_code == 302
        logout(client)
        traveller.shift(dt.timedelta(minutes=16))  # the failures have left the window
        ok = client.post("/login", data={"login": "admin", "password": "Secret-pass1"}, environ_base=attacker)
        assert ok.status_code == 302
    # the six guesses; the refused attempt was never tried, the good one was taken back
    assert LoginFailure.select().where(LoginFailure.ip == "203.0.113.7").count() == 6
    assert Manager.get_by_id(admin.id).failed_logins == 0  # unknown logins never touched admin's counter


def test_behind_a_trusted_proxy_the_client_address_is_the_forwarded_one(app_config):
    from lanbill import create_app
    from lanbill.db import database
    from lanbill.models.logins import LoginFailure

    application = create_app({**app_config, "TRUSTED_PROXIES": 1})
    client = application.test_client()
    client.post("/login", data={"login": "nobody", "password": "x"}, environ_base={"REMOTE_ADDR": "127.0.0.1"},
                headers={"X-Forwarded-For": "192.0.2.44"})
    assert [f.ip for f in LoginFailure.select()] == ["192.0.2.44"]
    database.close()


def test_password_change_leaves_an_audit_row_with_the_client_address(client, admin, login_as):
    login_as()
    response = client.post("/password", environ_base={"REMOTE_ADDR": "192.0.2.44"}, data={
        "current": "Secret-pass1", "password": "Kolobok-77", "confirm": "Kolobok-77"})
    assert response.status_code == 302
    row = AuditLog.get(AuditLog.action == "manager.password")
    assert (row.actor, row.ip) == ("manager:admin", "192.0.2.44")

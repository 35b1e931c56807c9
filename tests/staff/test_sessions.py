"""Sessions (DESIGN §9): logout only by POST with CSRF; a logout or a
password change ends the manager's other sessions (session version)."""

from __future__ import annotations

import re

import pytest

PASSWORD = "Secret-pass1"


def logged_in(app):
    client = app.test_client()
    assert client.post("/login", data={"login": "admin", "password": PASSWORD}).status_code == 302
    assert client.get("/admin/").status_code == 200
    return client


def test_a_get_of_logout_does_not_log_out_it_shows_the_button(app, admin):
    client = logged_in(app)
    page = client.get("/logout")
    assert page.status_code == 200
    assert re.search(r'<form method="post"[^>]*action="/logout"', page.get_data(as_text=True))
    assert client.get("/admin/").status_code == 200


def test_the_menu_logs_out_with_a_post_form(app, admin):
    page = logged_in(app).get("/admin/").get_data(as_text=True)
    assert 'href="/logout"' not in page
    assert re.search(r'<form method="post" action="/logout" class="inline-form logout">\s*'
                     r'<input type="hidden" name="csrf_token"', page)


def test_logout_ends_the_managers_other_sessions(app, admin):
    office, phone = logged_in(app), logged_in(app)
    assert office.post("/logout").headers["Location"] == "/login"
    assert office.get("/admin/").headers["Location"].startswith("/login")
    assert phone.get("/admin/").headers["Location"].startswith("/login")


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(app, admin):
    office, phone = logged_in(app), logged_in(app)
    response = office.post("/password", data={"current": PASSWORD, "password": "Kolobok-77", "confirm": "Kolobok-77"})
    assert response.status_code == 302
    assert office.get("/admin/").status_code == 200
    assert phone.get("/admin/").headers["Location"].startswith("/login")


def test_a_session_cookie_from_before_a_logout_is_refused(app, admin):
    client = logged_in(app)
    cookie = client.get_cookie("session").value
    client.post("/logout")
    client.set_cookie("session", cookie)  # the stolen or kept cookie
    assert client.get("/admin/").headers["Location"].startswith("/login")


@pytest.fixture
def csrf_app(app_config):
    from lanbill import create_app
    from lanbill.db import database

    yield create_app({**app_config, "WTF_CSRF_ENABLED": True})
    database.close()


def test_logout_needs_the_csrf_token(csrf_app, admin):
    client = csrf_app.test_client()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"login": "admin", "password": PASSWORD, "csrf_token": token})
    assert client.post("/logout").status_code == 400  # a forged cross-site POST
    assert client.get("/admin/").status_code == 200
    page = client.get("/admin/").get_data(as_text=True)
    token = re.search(r'action="/logout" class="inline-form logout">\s*<input type="hidden" name="csrf_token" '
                      r'value="([^"]+)"', page).group(1)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/admin/").headers["Location"].startswith("/login")

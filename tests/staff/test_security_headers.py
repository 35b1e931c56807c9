"""What every answer carries (DESIGN §9): the session cookie Secure over
HTTPS (also behind nginx), SameSite=Lax and HttpOnly; no framing, no
sniffing, a Content-Security-Policy the pages satisfy, a Referrer-Policy;
a request larger than MAX_CONTENT_LENGTH refused with a clear answer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lanbill import CONTENT_SECURITY_POLICY

ROOT = Path(__file__).resolve().parents[2]


def session_cookie(response) -> str:
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))


@pytest.mark.parametrize("url", ["/login", "/admin/", "/api/v1/subscribers", "/static/lanbill.css", "/nowhere"])
def test_every_answer_carries_the_security_headers(client, url):
    response = client.get(url)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    csp = response.headers["Content-Security-Policy"]
    assert csp == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp


def test_session_cookie_is_secure_only_over_https(client, admin):
    plain = client.post("/login", data={"login": "admin", "password": "Secret-pass1"})
    cookie = session_cookie(plain)
    assert "; Secure" not in cookie and "; HttpOnly" in cookie and "; SameSite=Lax" in cookie
    secure = client.post("/login", data={"login": "admin", "password": "Secret-pass1"},
                         base_url="https://billing.example")
    assert "; Secure" in session_cookie(secure)


def test_behind_nginx_x_forwarded_proto_makes_the_cookie_secure(app_config, admin):
    from lanbill import create_app
    from lanbill.db import database

    trusting = create_app({**app_config, "TRUSTED_PROXIES": 1}).test_client()
    response = trusting.post("/login", data={"login": "admin", "password": "Secret-pass1"},
                             headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.9"})
    assert "; Secure" in session_cookie(response)
    # Without TRUSTED_PROXIES the header is anybody's and is not believed.
    untrusting = create_app(app_config).test_client()
    response = untrusting.post("/login", data={"login": "admin", "password": "Secret-pass1"},
                               headers={"X-Forwarded-Proto": "https"})
    assert "; Secure" not in session_cookie(response)
    database.close()


def test_a_too_large_request_gets_a_russian_page_and_changes_nothing(app, client, admin, login_as):
    from lanbill.models import Subscriber

    login_as()
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    response = client.post("/admin/subscribers/new", data={"name": "x" * (1024 * 1024 + 10)})
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "Запрос слишком большой." in page
    assert "больше 1 МБ" in page and "ничего не сохранено" in page
    assert Subscriber.select().count() == 0


def test_a_too_large_api_request_gets_json(app, api):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = api.post("/subscribers", data="{" + " " * 2048 + "}", language="ru",
                        headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.is_json and response.json["error"]


def test_templates_hold_no_inline_script_style_or_handler():
    """The policy allows only this site's files: scripts and styles live in
    static/, never in a page."""
    found = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        if "documents" in path.parts:  # rendered to PDF, never served as a page
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in (r"<script(?![^>]*\bsrc=)[^>]*>", r"<style\b", r"\sstyle=", r"\son[a-z]+=",
                        r"javascript:"):
            found += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in re.finditer(pattern, text)]
    for path in sorted((ROOT / "lanbill").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        found += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in re.finditer(r"""['"]?\bstyle=["']""", text)]
    assert found == []
